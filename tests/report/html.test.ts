import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { compareRuns } from '../../lab/report/compare.ts';
import { barChart, renderHtml } from '../../lab/report/html.ts';
import type { RunResult } from '../../lab/report/result.ts';
import { registry } from '../helpers/registry.ts';

const run = (k: string) => JSON.parse(readFileSync(join(repoRoot, 'tests', 'fixtures', 'runs', `suite-${k}.json`), 'utf8')) as RunResult;

describe('the HTML comparison of real 6.1 and 6.12 suite runs', () => {
  const c = compareRuns(run('6.1.192'), run('6.12.117'), registry);
  const html = renderHtml(c);

  it('is one self-contained page: no script, nothing fetched', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|src=/i);
    expect(html).toContain('<h1>6.1.192 &rarr; 6.12.117</h1>');
  });

  it('has the verdict table and a chart per scenario with the metrics that moved', () => {
    expect(html).toMatch(/<tr class="same"><td>hugetlb<\/td><td>PASS<\/td><td>PASS<\/td><td><\/td><\/tr>/);
    expect((html.match(/<svg /g) ?? []).length).toBeGreaterThanOrEqual(1);
    expect(html).toMatch(/<title>6\.12\.117: \d+<\/title>/);
    const hugetlb = html.slice(html.indexOf('<h3>hugetlb</h3>'));
    expect(hugetlb).toContain('>bpf.set[0]</text>');
    expect(hugetlb.slice(0, hugetlb.indexOf('</svg>'))).not.toContain('>bpf.set[9]</text>');
  });

  it('bars are on a log scale, and an absent value has no bar', () => {
    const svg = barChart([{ scenario: 's', metric: 'm', a: 9, b: undefined, moved: true }], ['a', 'b']);
    expect(svg).toMatch(/<rect class="k0" x="260" y="24" width="420\.0"/);
    expect(svg).toMatch(/<rect class="k1" x="260" y="34" width="0\.0"/);
    expect(svg).toContain('<title>b: absent</title>');
  });
});
