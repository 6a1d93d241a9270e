/**
 * The HTML minutes and log of the seed replay (and of a hostile meeting) in Debian's headless
 * Chromium, driven by playwright-core: they render, the screenshot is a real PNG, there is no
 * console error, no script runs, and nothing is fetched but the file itself.
 * CI installs Chromium with scripts/setup-chromium.sh; without /usr/bin/chromium this is skipped
 * and says why.
 */
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replay } from '../../src/meeting/replay.js';
import { harness, minutesBase } from './helpers.js';
import { HOSTILE_LINES } from './hostile.fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`SKIPPED browser tests: ${CHROMIUM} is missing (run scripts/setup-chromium.sh)`);
}
const SEED = new URL('../fixtures/meeting/kimchi-scrum-2014-04-16.txt', import.meta.url).pathname;

describe.skipIf(!haveChromium)('minutes in headless Chromium', () => {
  let browser: BrowserContext;
  let userDataDir: string;
  let shots: string;

  beforeAll(async () => {
    userDataDir = mkdtempSync(join(tmpdir(), 'virtbot-chromium-profile-'));
    shots = mkdtempSync(join(tmpdir(), 'virtbot-shots-'));
    // A new, empty profile (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      viewport: { width: 1100, height: 900 },
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  /** A new page that records console errors, page errors, dialogs and every request. */
  async function watchedPage() {
    const page = await browser.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    return { page, problems, requests };
  }

  async function load(file: string, shot: string, fullPage = false) {
    const { page, problems, requests } = await watchedPage();
    const url = pathToFileURL(file).href;
    const response = await page.goto(url, { waitUntil: 'load' });
    expect(response?.ok() ?? true).toBe(true);
    const path = join(shots, shot);
    await page.screenshot({ path, fullPage });
    const png = readFileSync(path);
    expect(statSync(path).size).toBeGreaterThan(1000);
    expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(
      true,
    );
    // Evaluated in the page (a string: this file is type-checked without the DOM library).
    const info = (await page.evaluate(`({
      title: document.title,
      h1: document.querySelector('h1')?.textContent ?? '',
      scripts: document.querySelectorAll('script').length,
      people: [...document.querySelectorAll('ol.people > li')].map((li) => li.textContent),
      links: [...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href') ?? ''),
      hostile: window.__pwned === true,
    })`)) as {
      title: string;
      h1: string;
      scripts: number;
      people: string[];
      links: string[];
      hostile: boolean;
    };
    await page.close();
    return { problems, requests, url, info };
  }

  it('renders the seed minutes: screenshot, no console errors, no requests but the file', async () => {
    const out = mkdtempSync(join(tmpdir(), 'virtbot-seed-browser-'));
    const r = await replay({ logFile: SEED, channel: '#kimchi', outDir: out });
    const minutes = r.files.find((f) => f.endsWith('.html') && !f.endsWith('.log.html'))!;
    const { problems, requests, url, info } = await load(minutes, 'seed-minutes.png', true);
    expect(problems).toEqual([]);
    expect(requests).toEqual([url]);
    expect(info.title).toBe('#kimchi: scrum');
    expect(info.scripts).toBe(0);
    expect(info.people).toEqual([
      'alinefm (97)',
      'adamkingit (43)',
      'shaohef (32)',
      'royce (30)',
      'YuXin (30)',
      'rotru (2)',
      'danielhb (1)',
    ]);
    expect(info.links).toContain('https://github.com/kimchi-project/kimchi/wiki/Todo-1.2.1');
    expect(info.links).toContain('scrum.2014-04-16-13.01.log.html#l-42');
  });

  it('renders the seed log the same way', async () => {
    const out = mkdtempSync(join(tmpdir(), 'virtbot-seed-browser-'));
    const r = await replay({ logFile: SEED, channel: '#kimchi', outDir: out });
    const log = r.files.find((f) => f.endsWith('.log.html'))!;
    const { problems, requests, url, info } = await load(log, 'seed-log.png');
    expect(problems).toEqual([]);
    expect(requests).toEqual([url]);
    expect(info.scripts).toBe(0);
  });

  it('renders hostile minutes without running anything', async () => {
    const h = harness();
    await h.say('alice', '#startmeeting <script>window.__pwned=true</script>');
    for (const line of HOSTILE_LINES) await h.say('mallory', line);
    await h.say('alice', '#endmeeting');
    for (const ext of ['.html', '.log.html']) {
      const { problems, requests, url, info } = await load(minutesBase(h) + ext, `hostile${ext}.png`);
      expect(problems, ext).toEqual([]);
      expect(requests, ext).toEqual([url]);
      expect(info.scripts, ext).toBe(0);
      expect(info.hostile, ext).toBe(false);
      expect(info.h1, ext).toContain('<script>window.__pwned=true</script>');
      for (const href of info.links) expect(href, ext).not.toMatch(/^\s*(javascript|data|vbscript|file):/i);
    }
  });
  it('lists every meeting in the index pages, and the search box filters them', async () => {
    const h = harness();
    await h.say('alice', '#startmeeting Release planning');
    await h.say('bob', '#info the release is on Friday');
    await h.say('alice', '#endmeeting');
    await h.say('alice', '#startmeeting <script>window.__pwned=true</script> retro');
    await h.say('carol', '#action carol to buy cake');
    await h.say('alice', '#endmeeting');
    for (const index of [join(h.minutesDir, 'index.html'), join(h.minutesDir, 'virt', 'index.html')]) {
      const { page, problems, requests } = await watchedPage();
      const url = pathToFileURL(index).href;
      await page.goto(url, { waitUntil: 'load' });
      const rows = `[...document.querySelectorAll('tbody tr')].filter((r) => !r.hidden).map((r) => r.querySelector('td:nth-child(2)').textContent)`;
      expect(await page.evaluate(rows)).toEqual([
        '#virt: <script>window.__pwned=true</script> retro',
        '#virt: Release planning',
      ]);
      await page.fill('#q', 'friday');
      expect(await page.evaluate(rows)).toEqual(['#virt: Release planning']);
      expect(await page.textContent('#n')).toBe('1 of 2 meetings');
      await page.fill('#q', 'cake carol');
      expect(await page.evaluate(rows)).toEqual(['#virt: <script>window.__pwned=true</script> retro']);
      await page.fill('#q', 'nothing matches this');
      expect(await page.evaluate(rows)).toEqual([]);
      // The links lead to the minutes that exist.
      const hrefs = (await page.evaluate(
        `[...document.querySelectorAll('a[href]')].map((a) => a.href)`,
      )) as string[];
      for (const href of hrefs) expect(existsSync(new URL(href).pathname), href).toBe(true);
      expect(await page.evaluate('window.__pwned === true')).toBe(false);
      await page.fill('#q', '');
      await page.screenshot({ path: join(shots, 'index.png') });
      await page.close();
      expect(problems).toEqual([]);
      expect(requests).toEqual([url]);
    }
  });
});
