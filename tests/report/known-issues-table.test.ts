import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { toJUnit } from '../../lab/report/junit.ts';
import { renderReportHtml } from '../../lab/report/report-html.ts';
import { renderReportMarkdown } from '../../lab/report/report-markdown.ts';
import { buildReport, type ReportInput } from '../../lab/report/report.ts';
import type { RunResult } from '../../lab/report/result.ts';
import { registry } from '../helpers/registry.ts';

/**
 * Real result.json files, unedited: memcg-dump on 6.12.95, 6.12.107 and 6.12.117 (its oops),
 * gigantic on 6.12.117 (its oops), both on 7.2.13 and 7.3.4, and memcg-dump on 6.12.117 from a
 * copy of the scenario whose record claims 6.12.117 is not affected (a regression, as the lab
 * reports one). The runs carried the records of their day (before 6.12.95 and 7.2.13 were added).
 */
const dir = join(repoRoot, 'tests', 'fixtures', 'runs', 'known-issues');
const load = (name: string): ReportInput => ({ source: join(dir, name), result: JSON.parse(readFileSync(join(dir, name), 'utf8')) as RunResult });
const all = readdirSync(dir).filter((f) => !f.includes('claimed'));

describe('lab report: the known-issue table across kernels', () => {
  const report = buildReport(all.map(load), registry, { now: new Date('2026-12-02T10:00:00Z') });
  const row = (scenario: string) => report.knownIssues.find((k) => k.scenario === scenario)!;

  it('has a row per scenario and known issue, a cell per kernel in version order', () => {
    expect(report.columns.map((c) => c.label)).toEqual(['6.12.95', '6.12.107', '6.12.117', '7.2.13', '7.3.4']);
    expect(report.knownIssues.map((k) => k.scenario)).toEqual(['gigantic', 'memcg-dump']);
    expect(row('memcg-dump').cells).toEqual(['clean', 'clean', 'hit', 'clean', 'clean']);
    // gigantic did not run on 6.12.95 or 6.12.107
    expect(row('gigantic').cells).toEqual([undefined, undefined, 'hit', 'clean', 'clean']);
    expect(report.knownIssues.every((k) => k.regressions.length === 0)).toBe(true);
  });

  it('carries the record of the newest result: affected, fixed and not affected versions', () => {
    expect(row('memcg-dump').title).toMatch(/print_page_owner_memcg/);
    expect(row('memcg-dump').record).toMatchObject({ affected: ['6.12.117'], unaffected: ['6.12.107', '7.3.4'] });
    // the gigantic run on 6.12.117 came last, after 7.2.13 had been added to the record
    expect(row('gigantic').record).toMatchObject({ affected: ['6.12.117'], fixed: ['7.2.13', '7.3.4'] });
  });

  it('report.md and report.html show the table', () => {
    const md = renderReportMarkdown(report);
    expect(md).toContain('## Known kernel issues');
    expect(md).toMatch(/\| memcg-dump \| print_page_owner_memcg reads a user page's mem_cgroup as an obj_cgroup \| clean \| clean \| hit \| clean \| clean \| affected 6\.12\.117; not affected 6\.12\.107, 7\.3\.4 \|/);
    expect(md).not.toMatch(/regression\(s\)\*\*:/);
    expect(renderReportHtml(report, { js: '', css: '' })).toContain('<h2>Known kernel issues</h2>');
  });

  it('a failure on a version the record lists as clean is a REGRESSION in its cell and named above the table', () => {
    const r = buildReport([...all, '6.12.117-memcg-dump-claimed-unaffected.json'].map(load), registry);
    const claimed = r.knownIssues.find((k) => k.scenario === 'memcg-dump-claimed')!;
    expect(claimed.cells).toEqual([undefined, undefined, 'REGRESSION (hit)', undefined, undefined]);
    expect(claimed.regressions).toEqual(['6.12.117']);
    expect(renderReportMarkdown(r)).toMatch(/\*\*1 regression\(s\)\*\*: 6\.12\.117 memcg-dump-claimed\./);
  });

  it('the run itself says so: its result and JUnit name the regression next to the kernel report', () => {
    const run = load('6.12.117-memcg-dump-claimed-unaffected.json').result;
    expect(run.scenarios[0]!.regression).toBe('the known issue came back: "print_page_owner_memcg reads a user page\'s mem_cgroup as an obj_cgroup" is listed as not affected in 6.12.117');
    expect(toJUnit(run)).toMatch(/<error type="GUEST_LOST"[^>]*>REGRESSION: the known issue came back: [^\n]*\nknown issue: print_page_owner_memcg/);
    // the same oops on the version the record lists as affected is the known bug, no regression
    expect(load('6.12.117-memcg-dump.json').result.scenarios[0]!.regression).toBeUndefined();
  });
});
