import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import { type Browser, chromium, type Page } from 'playwright-core';

export const DESKTOP_DIR = fileURLToPath(new URL('../../../', import.meta.url));
export const RENDERER_DIR = `${DESKTOP_DIR}out/renderer`;
export const RESULTS_DIR = `${DESKTOP_DIR}test-results`;
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Builds the renderer when `npm run build` has not been run (CI builds before testing). */
export function ensureRendererBuilt(): void {
  if (existsSync(`${RENDERER_DIR}/index.html`) && !process.env.SOTTO_E2E_REBUILD) {
    return;
  }
  const result = spawnSync('npx', ['electron-vite', 'build'], { cwd: DESKTOP_DIR, stdio: 'inherit', timeout: 120_000 });
  if (result.status !== 0) {
    throw new Error('electron-vite build failed');
  }
}

/** Debian's Chromium, headless, with the flags this machine needs (no sandbox as root, no network chatter). */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      ...extraArgs,
    ],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  await page.screenshot({ path: `${RESULTS_DIR}/${name}.png` });
}

/** Serious and critical axe violations on the current screen (ids and the first offending nodes). */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id}: ${v.help} — ${v.nodes
          .slice(0, 3)
          .map((n) => n.target.join(' '))
          .join(' | ')}`,
    );
}
