/**
 * `npm run bench:ui`: a 100,000-message conversation in the built renderer, headless Chromium.
 * Measures (performance marks in the page) the time from clicking the conversation to its last
 * page painted, and frame times while scrolling to the very top (older pages prepended through the
 * history cursor). The last output line is a JSON object with the figures.
 */

import { cpus, loadavg } from 'node:os';
import { eventChannelNames, invokeChannelNames, invokeChannels } from '../src/ipc/contract.js';
import { createDispatcher } from '../src/main/dispatch.js';
import { ensureRendererBuilt, launchChromium, RENDERER_DIR } from '../test/e2e/harness/browser.js';
import { serveStatic } from '../test/e2e/harness/static-server.js';
import { fakeConversation, fakeHandlers, fakeSottoScript } from './ui-fake-core.js';

const COUNT = Number(process.env.BENCH_MESSAGES ?? 100_000);
const SCROLL_STEP_PX = Number(process.env.BENCH_SCROLL_STEP ?? 2500);
const SCROLL_BUDGET_MS = Number(process.env.BENCH_SCROLL_BUDGET_MS ?? 60_000);
const LATENCY_MS: [number, number] = [1, 3];

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const round = (n: number) => Math.round(n * 100) / 100;

const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

/** The fake answers go through main's dispatcher and the contract's output schema once, in Node. */
async function checkFakeAgainstContract(): Promise<void> {
  const dispatch = createDispatcher(fakeHandlers(COUNT));
  const conversationId = fakeConversation(1).conversation.id;
  const newest = await dispatch('messages:history', { conversationId, limit: 100 });
  const older = await dispatch('messages:history', { conversationId, before: String(COUNT - 100), limit: 500 });
  for (const result of [newest, older]) {
    if (!result.ok) {
      throw new Error(`fake history rejected: ${result.error.message}`);
    }
    invokeChannels['messages:history'].output.parse(result.value);
  }
}

async function main(): Promise<void> {
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadAtStart: load() };
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, load average ${machine.loadAtStart}`);
  await checkFakeAgainstContract();
  ensureRendererBuilt();
  const server = await serveStatic(RENDERER_DIR);
  // Unlocked frame rate: rAF intervals are then the real cost of each frame, not the 60 Hz vsync.
  const browser = await launchChromium(
    process.env.BENCH_VSYNC ? [] : ['--disable-frame-rate-limit', '--disable-gpu-vsync'],
  );
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    page.on('crash', () => console.error('page crashed'));
    page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
    // tsx (esbuild keepNames) wraps named functions in `__name(...)`; page functions need the helper too.
    await page.addInitScript({ content: 'globalThis.__name = (fn) => fn;' });
    // The fake core lives in the page (answers from memory after 1–3 ms, structured-cloned like
    // Electron IPC), so the figures are the renderer's own and not a Playwright round trip.
    await page.addInitScript({
      content: fakeSottoScript({
        count: COUNT,
        invoke: [...invokeChannelNames],
        events: [...eventChannelNames],
        latencyMs: LATENCY_MS,
      }),
    });
    await page.goto(server.url);
    const row = page.locator('button.conversation');
    await row.waitFor({ timeout: 30_000 });

    const lastId = `m-${COUNT - 1}`;
    const opened = page.evaluate(
      (id) =>
        new Promise<number>((resolve) => {
          document.addEventListener(
            'click',
            () => {
              performance.mark('open-conversation');
              const check = () => {
                const row = document.querySelector(`[data-message-id="${id}"]`);
                const scroller = document.querySelector('[data-virtuoso-scroller="true"]');
                const shown = row?.getBoundingClientRect();
                const viewport = scroller?.getBoundingClientRect();
                if (
                  shown &&
                  viewport &&
                  shown.height > 0 &&
                  shown.top < viewport.bottom &&
                  shown.bottom > viewport.top
                ) {
                  // The newest row is committed and on screen in this frame; the next
                  // animation frame starts after this one was painted.
                  requestAnimationFrame(() => {
                    performance.mark('last-page-painted');
                    resolve(performance.measure('open', 'open-conversation', 'last-page-painted').duration);
                  });
                } else {
                  requestAnimationFrame(check);
                }
              };
              requestAnimationFrame(check);
            },
            { capture: true, once: true },
          );
        }),
      lastId,
    );
    opened.catch((err: unknown) => console.error(`open measurement failed: ${String(err)}`));
    await row.click({ timeout: 30_000 });
    const openMs = await Promise.race([
      opened,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('the conversation never showed its newest message')), 20_000),
      ),
    ]);
    console.error(`opened in ${openMs.toFixed(1)} ms; scrolling to the top…`);
    // Let the open settle (mark-read timer, first prefetch) before timing frames.
    await page.waitForTimeout(500);

    const scroll = await page.evaluate(
      ({ step, budget }) =>
        new Promise<{ frames: number[]; reachedTop: boolean; elapsed: number; loaded: number }>((resolve) => {
          const scroller = document.querySelector<HTMLElement>('[data-virtuoso-scroller="true"]');
          const frames: number[] = [];
          const startedAt = performance.now();
          performance.mark('scroll-start');
          let previous = startedAt;
          const tick = (now: number) => {
            frames.push(now - previous);
            previous = now;
            const reachedTop =
              Boolean(document.querySelector('[data-message-id="m-0"]')) && (scroller?.scrollTop ?? 0) <= 0;
            if (!scroller || reachedTop || now - startedAt > budget) {
              performance.mark('scroll-end');
              resolve({
                frames: frames.slice(1),
                reachedTop,
                elapsed: now - startedAt,
                loaded: document.querySelectorAll('[data-message-id]').length,
              });
              return;
            }
            scroller.scrollTop = Math.max(0, scroller.scrollTop - step);
            requestAnimationFrame(tick);
          };
          requestAnimationFrame(tick);
        }),
      { step: SCROLL_STEP_PX, budget: SCROLL_BUDGET_MS },
    );

    const history = await page.evaluate(
      () => (window as unknown as { __benchStats: { historyCalls: number; historyMessages: number } }).__benchStats,
    );
    const figures = {
      cpu: machine.cpu,
      cores: machine.cores,
      loadAverageAtStart: machine.loadAtStart,
      loadAverageAtEnd: load(),
      messages: COUNT,
      fakeCoreLatencyMs: LATENCY_MS,
      openToLastPagePaintedMs: round(openMs),
      openGoalMs: 200,
      scrollFrames: scroll.frames.length,
      scrollFrameP50Ms: round(percentile(scroll.frames, 50)),
      scrollFrameP95Ms: round(percentile(scroll.frames, 95)),
      scrollFrameP99Ms: round(percentile(scroll.frames, 99)),
      scrollFrameMaxMs: round(Math.max(...scroll.frames)),
      scrollFrameGoalP95Ms: 16.7,
      scrollReachedTop: scroll.reachedTop,
      scrollElapsedMs: round(scroll.elapsed),
      scrollStepPx: SCROLL_STEP_PX,
      historyCalls: history.historyCalls,
      historyMessagesLoaded: history.historyMessages,
    };
    console.log(`machine: load average at end ${figures.loadAverageAtEnd}`);
    console.log(`open → last page painted: ${figures.openToLastPagePaintedMs} ms (goal < 200 ms)`);
    console.log(
      `scroll to top: ${figures.scrollFrames} frames, p50 ${figures.scrollFrameP50Ms} ms, p95 ${figures.scrollFrameP95Ms} ms (goal < 16.7 ms), max ${figures.scrollFrameMaxMs} ms, reached top: ${figures.scrollReachedTop}`,
    );
    console.log(JSON.stringify(figures));
  } finally {
    await browser.close();
    await server.close();
  }
}

await main();
