import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { consoleReporter } from '../../lab/core/reporter.ts';
import { testRequirements } from '../../lab/host/requirements.ts';
import { ensureHost } from '../../lab/host/setup.ts';
import { lab } from '../helpers/cli.ts';

/**
 * report.html in a real headless browser (Debian's chromium, installed here
 * from the lab's test package list when missing): written by `lab report` from
 * real runs of 6.1, 6.6 and 6.12 (three scenarios, three repetitions each),
 * opened from file://. The screenshot stays in results/report-browser-test/.
 */
const out = join(repoRoot, 'results', 'report-browser-test');
const runs = ['6.1.192', '6.6.87', '6.12.117'].map((k) => join(repoRoot, 'tests', 'fixtures', 'runs', `repeat3-${k}.json`));

describe('report.html in headless chromium', () => {
  beforeAll(async () => {
    await ensureHost(consoleReporter({ quiet: true }), { requirements: testRequirements });
  });

  it('renders offline with no console error and no request, every chart drawn with data', async () => {
    mkdirSync(out, { recursive: true });
    const r = await lab(['report', ...runs, '--out', out]);
    expect(r.exitCode, r.stderr).toBe(0);
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (q) => requests.push(q.url()));
      const url = pathToFileURL(join(out, 'report.html')).href;
      await page.goto(url, { waitUntil: 'load' });

      const charts = await page.evaluate(() => {
        const w = window as unknown as { labCharts: { data: (number | null)[][]; root: HTMLElement }[] };
        return w.labCharts.map((u) => {
          const canvas = u.root.querySelector('canvas')!;
          const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
          let drawn = 0;
          for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) drawn++;
          return { points: u.data[0]!.length, values: u.data.slice(1).flat().filter((v) => v !== null).length, drawn };
        });
      });
      const screenshot = join(out, 'report.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      process.stdout.write(`report-browser: screenshot ${screenshot}\n`);

      expect(errors).toEqual([]);
      expect(requests).toEqual([url]);
      // one per-order chart per scenario, and one per flagged metric
      expect(charts.length).toBeGreaterThanOrEqual(6);
      for (const c of charts) {
        expect(c.points).toBeGreaterThan(0);
        expect(c.values).toBeGreaterThan(0);
        expect(c.drawn).toBeGreaterThan(100);
      }
      expect(await page.locator('h2', { hasText: 'Verdicts' }).count()).toBe(1);
      expect(Number(/^(\d+)/.exec(await page.locator('#flagged-count').innerText())![1])).toBeGreaterThan(0);
    } finally {
      await browser.close();
    }
  });
});
