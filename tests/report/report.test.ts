import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { renderReportHtml, reportCharts } from '../../lab/report/report-html.ts';
import { headline, renderReportMarkdown } from '../../lab/report/report-markdown.ts';
import { loadNoiseProfile } from '../../lab/report/profile.ts';
import { buildReport, parseConfig, type ReportInput } from '../../lab/report/report.ts';
import type { RunResult } from '../../lab/report/result.ts';
import { fixture } from '../helpers/fixtures.ts';
import { registry } from '../helpers/registry.ts';
import { scaled } from '../helpers/runs.ts';

/**
 * Real result.json files, unedited: the default suite once per kernel
 * (suite-*), `--scenario module-filter --repeat 30` on 6.12 (module-filter-x30-*),
 * and `--scenario page-owner-dump --scenario hugetlb --scenario idle-baseline
 * --repeat 3` per kernel (repeat3-*, with the dump's call sites).
 */
const runFile = (name: string) => join(repoRoot, 'tests', 'fixtures', 'runs', name);
const load = (name: string, config?: string): ReportInput => ({
  source: runFile(name),
  result: JSON.parse(readFileSync(runFile(name), 'utf8')) as RunResult,
  ...(config ? { config: parseConfig(fixture(config, 'kernel.config')) } : {}),
});
const suites = ['6.1.192', '6.6.87', '6.12.117'].map((k) => load(`suite-${k}.json`, k));
const repeats = ['6.1.192', '6.6.87', '6.12.117'].map((k) => load(`repeat3-${k}.json`, k));
const profile = await loadNoiseProfile(join(repoRoot, 'kernels', 'noise.yaml'));

/** The 30 repetitions of one 6.12 run as `parts` runs of equal size: runs of the same kernel, as separate columns. */
function split(parts: number): ReportInput[] {
  const whole = load('module-filter-x30-6.12.117.json');
  const size = whole.result.scenarios.length / parts;
  return Array.from({ length: parts }, (_, i) => ({
    source: `${whole.source}#${i + 1}`,
    result: { ...whole.result, runId: `${whole.result.runId}.${i + 1}`, scenarios: whole.result.scenarios.slice(i * size, (i + 1) * size) },
  }));
}

describe('lab report: the noise model on real runs', () => {
  it.each([2, 3, 5])('runs of the same kernel (30 repetitions of 6.12 in %i runs) flag 0 metrics', (parts) => {
    const r = buildReport(split(parts), registry, { groupBy: 'run' });
    expect(r.columns).toHaveLength(parts);
    expect(r.metrics.length).toBeGreaterThan(20);
    expect(r.flagged).toBe(0);
  });

  it('a plain 10 % threshold would have flagged some of them: the spreads are what tells noise', () => {
    const r = buildReport(split(5), registry, { groupBy: 'run' });
    expect(r.metrics.flatMap((m) => m.pairs).filter((p) => p.movement === 'noise').length).toBeGreaterThan(0);
  });

  it('a real move between those same samples is flagged (module.seen[1] of one part doubled)', () => {
    const runs = split(3);
    for (const s of runs[2]!.result.scenarios) for (const row of s.observations.module?.rows ?? []) if (row.order === 1) row.seen *= 2;
    const r = buildReport(runs, registry, { groupBy: 'run' });
    const row = r.metrics.find((m) => m.metric === 'module.seen[1]')!;
    expect(row.pairs.map((p) => p.movement)).toEqual(['same', 'changed']);
    expect(r.flagged).toBe(1);
  });

  it('one run per kernel: no noise estimate, nothing flagged, the moves listed as such', () => {
    const r = buildReport(suites, registry);
    expect(r.columns.map((c) => c.label)).toEqual(['6.1.192', '6.6.87', '6.12.117']);
    expect(r.flagged).toBe(0);
    expect(r.singleSamples).toBe(true);
    const set1 = r.metrics.find((m) => m.scenario === 'hugetlb' && m.metric === 'bpf.set[1]')!;
    expect(set1.pairs.map((p) => p.movement)).toEqual(['unsure', 'unsure']);
    expect(renderReportMarkdown(r)).toContain('no noise estimate');
  });

  it('three repetitions per kernel flag the real cross-kernel changes, and only between kernels', () => {
    const r = buildReport(repeats, registry);
    expect(r.columns.map((c) => `${c.label}:${c.runs.length}`)).toEqual(['6.1.192:1', '6.6.87:1', '6.12.117:1']);
    // reading the dump (hugetlb greps it): order-1 sets jump on 6.6 and fall again on 6.12
    const set1 = r.metrics.find((m) => m.scenario === 'hugetlb' && m.metric === 'bpf.set[1]')!;
    expect(set1.spreads.map((s) => s?.n)).toEqual([3, 3, 3]);
    expect(set1.pairs.map((p) => p.movement)).toEqual(['changed', 'changed']);
    // what the kernel guarantees does not move: 32 order-9 pages for the pool on every kernel
    const set9 = r.metrics.find((m) => m.scenario === 'hugetlb' && m.metric === 'bpf.set[9]')!;
    expect(set9.spreads.map((s) => s?.median)).toEqual([32, 32, 32]);
    expect(set9.pairs.map((p) => p.movement)).toEqual(['same', 'same']);
    expect(r.flagged).toBeGreaterThan(0);
  });
});

describe('lab report: verdicts, call sites, probe map, config', () => {
  it('names every verdict change between neighbouring kernels, PASS -> SKIP too', () => {
    const skipped = load('suite-6.12.117.json');
    const hugetlb = skipped.result.scenarios.find((s) => s.name === 'hugetlb')!;
    hugetlb.status = 'SKIP';
    const r = buildReport([suites[0]!, suites[1]!, skipped], registry);
    expect(r.verdicts.find((v) => v.scenario === 'hugetlb')!.changes).toEqual(['6.6.87 PASS -> 6.12.117 SKIP']);
    expect(r.verdicts.find((v) => v.scenario === 'balance')!.changes).toEqual([]);
  });

  it('summarises the verdicts of repetitions, e.g. an ERROR in 2 of 30', () => {
    const r = buildReport([load('module-filter-x30-6.12.117.json')], registry);
    expect(r.verdicts[0]!.cells[0]!.summary).toBe('PASS 28/30, ERROR 2/30');
  });

  it('diffs the top call sites of the dump per scenario and order between kernels', () => {
    const r = buildReport(repeats, registry);
    const dump0 = r.callSites.find((c) => c.scenario === 'page-owner-dump' && c.order === '0')!;
    expect(dump0.top.every((t) => t && t.length > 0)).toBe(true);
    expect(dump0.records.map((s) => s?.n)).toEqual([3, 3, 3]);
    const lines = headline(r).filter((l) => l.startsWith('page-owner-dump, order'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).toMatch(/ -> [\d,.]+ sets \(flagged\), [\d,.]+ -> [\d,.]+ live records( \(\w[\w ]+\))?; (new )?top stack: /);
    // stacks that share their first frames are named up to where they differ
    for (const l of lines.filter((x) => x.includes('new top stack'))) {
      const [, now, was] = /new top stack: (.*) \([\d,]+ records; was (.*)\)$/.exec(l)!;
      expect(now).not.toBe(was);
    }
  });

  it('shows the kernel\'s own show_stacks where it exists (6.12 of the three)', () => {
    const k = buildReport(repeats, registry).kernelStacks.find((x) => x.scenario === 'page-owner-dump')!;
    expect(k.top.map((t) => t !== undefined)).toEqual([false, false, true]);
    expect(k.top[2]![0]!.pages).toBeGreaterThan(k.top[2]![1]!.pages);
  });

  it('shows the probe map per kernel and the relevant config options that differ', () => {
    const r = buildReport(suites, registry);
    expect(r.probes.find((p) => p.event === 'copy')!.values).toEqual(Array(3).fill('probed (__folio_copy_owner)'));
    expect(r.probes.find((p) => p.event === 'init')!.values[0]).toBe('init-only (init_page_owner)');
    // tinyconfig builds SLOB on 6.1 and SLUB (tiny) from 6.6 on, where SLOB no longer exists (removed in 6.4)
    expect(r.configDiff.find((d) => d.option === 'CONFIG_SLOB')!.values).toEqual(['y', '(absent)', '(absent)']);
    expect(r.configDiff.find((d) => d.option === 'CONFIG_SLUB')!.values).toEqual(['n', 'y', 'y']);
    expect(r.configDiff.find((d) => d.option === 'CONFIG_PAGE_OWNER')).toBeUndefined();
    expect(r.configDiff.every((d) => /^CONFIG_/.test(d.option))).toBe(true);
  });
});

describe('lab report: the baseline gate', () => {
  it('30 repetitions of one kernel: no metric of the last twenty leaves the first ten\'s spread; their two ERRORs after a steady PASS are a regression', () => {
    const [first, ...rest] = split(3);
    const r = buildReport(rest, registry, { baseline: [first!] });
    expect(r.gate!.regressions.filter((x) => !x.what.startsWith('verdict'))).toEqual([]);
    expect(r.gate!.regressions.map((x) => x.what)).toEqual(['verdict PASS -> PASS 18/20, ERROR 2/20 (baseline 6.12.117)']);
  });

  it('a kernel against another (the baseline holds one): the metrics that left its spread', () => {
    const r = buildReport([repeats[2]!], registry, { baseline: [repeats[1]!] });
    expect(r.gate!.regressions.some((x) => x.scenario === 'hugetlb' && x.what.startsWith('bpf.set[1] '))).toBe(true);
    expect(r.gate!.regressions.some((x) => x.what.startsWith('bpf.set[9] '))).toBe(false);
  });

  it('a baseline of one run gates metrics by the shipped profile: the same run is clean, every metric x10 is not', () => {
    const same = buildReport([suites[2]!], registry, { baseline: [suites[2]!], profile });
    expect(same.gate!.regressions).toEqual([]);
    expect(same.gate!.metrics.length).toBeGreaterThan(50);
    expect(new Set(same.gate!.metrics.map((m) => m.model))).toEqual(new Set(['profile']));
    const worse = buildReport([scaled(suites[2]!, 10)], registry, { baseline: [suites[2]!], profile });
    const moved = worse.gate!.metrics.filter((m) => m.value !== '0');
    // every metric that was not 0 left the noise
    expect(worse.gate!.regressions.length).toBe(moved.filter((m) => m.left).length);
    expect(moved.filter((m) => !m.left).map((m) => `${m.scenario} ${m.metric} ${m.value} ${m.basis}`)).toEqual([]);
    expect(worse.gate!.regressions.map((x) => x.what)).toContainEqual(expect.stringMatching(/^bpf\.set\[0\] .* left the baseline's .*: allowed .* \(profile bpf\.set\[N\]( in \S+)? \(n=1\): \+- /));
  });

  it('one run per kernel, judged by the shipped profile: moves far beyond the known noise are flagged as findings', () => {
    const r = buildReport(suites, registry, { profile });
    expect(r.flagged).toBeGreaterThan(0);
    const flagged = r.metrics.filter((m) => m.pairs.some((p) => p.movement === 'changed'));
    expect(flagged.every((m) => m.pairs.every((p) => p.model === 'profile'))).toBe(true);
    // hugetlb's order-9 sets are the pool's 32 pages on every kernel: never flagged
    const set9 = r.metrics.find((m) => m.scenario === 'hugetlb' && m.metric === 'bpf.set[9]')!;
    expect(set9.pairs.map((p) => p.movement)).toEqual(['same', 'same']);
    expect(renderReportMarkdown(r)).toMatch(/judged by the noise profile/);
  });

  it('pairs columns with the baseline of their kernel; the others are named as not gated', () => {
    const r = buildReport(repeats, registry, { baseline: [repeats[0]!, repeats[2]!] });
    expect(r.gate!.unmatched).toEqual(['6.6.87']);
    expect(r.gate!.regressions).toEqual([]);
  });
});

describe('lab report: the page', () => {
  const assets = { js: '/* uPlot */', css: '/* css */' };

  it('is one self-contained page: uPlot and the data inline, a policy that forbids requests', () => {
    const html = renderReportHtml(buildReport(repeats, registry), assets);
    expect(html).toContain("content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'\"");
    expect(html).not.toMatch(/<link|src=|https?:\/\//i);
    expect(html).toContain('<script>/* uPlot */</script>');
    expect(html.match(/<\/script>/g)!.length).toBe(3);
  });

  it('charts every scenario\'s orders (log scale) and the flagged metrics, each with data', () => {
    const r = buildReport(repeats, registry);
    const charts = reportCharts(r);
    expect(charts.filter((c) => c.id.startsWith('orders-')).map((c) => c.title)).toEqual([
      'hugetlb: set events per order (median, log scale)',
      'idle-baseline: set events per order (median, log scale)',
      'page-owner-dump: set events per order (median, log scale)',
    ]);
    expect(charts.filter((c) => c.id.startsWith('spread-')).length).toBe(Math.min(40, r.metrics.filter((m) => m.pairs.some((p) => p.movement !== 'same')).length));
    expect(charts.find((c) => c.id.startsWith('spread-'))!.title).toMatch(/^\S+: \S+ \(min, median, max per column\)$/);
    for (const c of charts) for (const s of c.series) expect(s.values).toHaveLength(c.x.length);
    expect(charts.some((c) => c.id.startsWith('history-'))).toBe(false);
  });

  it('draws a timeline per metric when the runs span dates', () => {
    // the same runs, as if 6.12's had run the next night
    const later = { ...repeats[2]!, result: { ...repeats[2]!.result, startedAt: '2026-11-27T02:00:00.000Z' } };
    const r = buildReport([repeats[0]!, repeats[1]!, later], registry);
    expect(r.spansDates).toBe(true);
    const history = reportCharts(r).filter((c) => c.id.startsWith('history-'));
    expect(history.length).toBeGreaterThan(0);
    expect(history[0]!.time).toBe(true);
    expect(history[0]!.x).toHaveLength(3);
  });
});
