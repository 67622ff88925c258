import fs from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/**
 * Headless Chromium for the console tests: the binary the `@sparticuz/chromium` package ships (extracted to
 * /tmp on first use), driven by `playwright-core`. Nothing is downloaded at test time.
 */
export async function launchBrowser(): Promise<Browser> {
  const { default: packaged } = await import('@sparticuz/chromium');
  const executablePath = await packaged.executablePath();
  // `--single-process` (meant for serverless hosts) takes the whole browser down with the first closed
  // context; the tests open one context per person.
  const args = packaged.args.filter((arg) => arg !== '--single-process');
  return chromium.launch({ executablePath, args: [...args, '--headless'], headless: true });
}

const docsImages = path.resolve(import.meta.dirname, '../../docs/img');

/**
 * Screenshots for docs/console.md, written only when asked (`CONSOLE_SCREENSHOTS=1`): an ordinary test run
 * leaves the working tree as it was.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.CONSOLE_SCREENSHOTS !== '1') return;
  fs.mkdirSync(docsImages, { recursive: true });
  await page.screenshot({ path: path.join(docsImages, `console-${name}.png`), fullPage: true });
}

/**
 * The page's inputs, selects and buttons that have no label, no aria-label(ledby) and (buttons) no text, as
 * the start of their markup: none may be on a console page.
 */
export function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button'))
      .filter((el) => {
        const e = el as HTMLInputElement;
        const label =
          e.labels?.length ||
          e.getAttribute('aria-label') ||
          e.getAttribute('aria-labelledby') ||
          (el.tagName === 'BUTTON' && el.textContent?.trim());
        return !label;
      })
      .map((el) => el.outerHTML.slice(0, 160)),
  );
}
