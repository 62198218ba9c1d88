/**
 * `npm run bench:ui`: a 100,000-message conversation in the built renderer, headless Chromium.
 * Measures (performance marks in the page) the time from clicking the conversation to its last
 * page painted, and frame times while scrolling to the very top (older pages prepended through the
 * history cursor). The last output line is a JSON object with the figures.
 */

import { chromium } from 'playwright-core';
import { createDispatcher } from '../src/main/dispatch.js';
import { attachBridge } from '../test/e2e/harness/bridge.js';
import { CHROMIUM, ensureRendererBuilt, RENDERER_DIR } from '../test/e2e/harness/browser.js';
import { serveStatic } from '../test/e2e/harness/static-server.js';
import { fakeHandlers } from './ui-fake-core.js';

const COUNT = Number(process.env.BENCH_MESSAGES ?? 100_000);
const SCROLL_STEP_PX = Number(process.env.BENCH_SCROLL_STEP ?? 2500);
const SCROLL_BUDGET_MS = Number(process.env.BENCH_SCROLL_BUDGET_MS ?? 40_000);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const round = (n: number) => Math.round(n * 100) / 100;

async function main(): Promise<void> {
  ensureRendererBuilt();
  const server = await serveStatic(RENDERER_DIR);
  // Unlocked frame rate: rAF intervals are then the real cost of each frame, not the 60 Hz vsync.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      ...(process.env.BENCH_VSYNC ? [] : ['--disable-frame-rate-limit', '--disable-gpu-vsync']),
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    page.on('crash', () => console.error('page crashed'));
    page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
    // tsx (esbuild keepNames) wraps named functions in `__name(...)`; page functions need the helper too.
    await page.addInitScript({ content: 'globalThis.__name = (fn) => fn;' });
    await attachBridge(page, createDispatcher(fakeHandlers(COUNT)));
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
                if (document.querySelector(`[data-message-id="${id}"]`)) {
                  // The frame after the row exists is the one that shows it.
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
    const openMs = await opened;
    console.error(`opened in ${openMs.toFixed(1)} ms; scrolling to the top…`);

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

    const figures = {
      messages: COUNT,
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
    };
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
