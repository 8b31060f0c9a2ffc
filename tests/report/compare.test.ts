import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { compareRuns, renderComparison } from '../../lab/report/compare.ts';
import type { RunResult } from '../../lab/report/result.ts';
import { registry } from '../helpers/registry.ts';
import { lab } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';

/** Two real runs of the default suite, on 6.1.192 and on 6.12.117. */
const fixturePath = (k: string) => join(repoRoot, 'tests', 'fixtures', 'runs', `suite-${k}.json`);
const run = (k: string) => JSON.parse(readFileSync(fixturePath(k), 'utf8')) as RunResult;

describe('compareRuns on real 6.1 and 6.12 suite runs', () => {
  const c = compareRuns(run('6.1.192'), run('6.12.117'), registry);

  it('pairs the scenarios and finds no regression', () => {
    expect(c.a.kernel).toBe('6.1.192');
    expect(c.b.kernel).toBe('6.12.117');
    expect(c.scenarios.map((s) => s.scenario)).toContain('hugetlb');
    expect(c.regressions).toBe(0);
  });

  it('shows where allocation behaviour moved: reading the dump took 36,204 order-0 pages on 6.1, about 2,000 on 6.12', () => {
    const row = c.metrics.find((m) => m.scenario === 'hugetlb' && m.metric === 'bpf.set[0]')!;
    expect(row.a).toBeGreaterThan(30_000);
    expect(row.b).toBeLessThan(5_000);
    expect(row.moved).toBe(true);
    // what the kernel guarantees did not move
    const pool = c.metrics.find((m) => m.scenario === 'hugetlb' && m.metric === 'bpf.set[9]')!;
    expect([pool.a, pool.b, pool.moved]).toEqual([32, 32, false]);
  });

  it('renders Markdown with the verdicts first and only the metrics that moved', () => {
    const md = renderComparison(c);
    expect(md.split('\n')[0]).toBe('# 6.1.192 -> 6.12.117');
    expect(md).toMatch(/\| hugetlb \| PASS \| PASS \| {2}\|/);
    expect(md).toMatch(/\| hugetlb \| `bpf\.set\[0\]` \| \d+ \| \d+ \| -\d+\.\d % \|/);
    expect(md).not.toMatch(/`bpf\.set\[9\]`/);
    expect(renderComparison(c, { all: true })).toContain("| hugetlb | `bpf.set[9]` | 32 | 32 | 0.0 % |");
  });

  it('a scenario that passed and now fails is a regression, and the CLI gate exits 1', async () => {
    const b = run('6.12.117');
    b.scenarios.find((s) => s.name === 'hugetlb')!.status = 'FAIL';
    expect(compareRuns(run('6.1.192'), b, registry).scenarios.find((s) => s.scenario === 'hugetlb')!.change).toBe('regression');
    const file = join(tempDir('lab-compare-'), 'result.json');
    writeFileSync(file, JSON.stringify(b));
    const r = await lab(['compare', fixturePath('6.1.192'), file]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/1 regression\(s\)/);
    expect(r.stdout).toMatch(/\| hugetlb \| PASS \| FAIL \| \*\*regression\*\* \|/);
    const same = await lab(['compare', fixturePath('6.1.192'), fixturePath('6.12.117'), '--json']);
    expect(same.exitCode).toBe(0);
    expect(JSON.parse(same.stdout).regressions).toBe(0);
    expect((await lab(['compare', '/nonexistent', file])).exitCode).toBe(2);
  });

  it('a scenario that passed and is now skipped is a regression too, and any other move is named', async () => {
    const b = run('6.12.117');
    b.scenarios.find((s) => s.name === 'thp-fault-split')!.status = 'SKIP';
    const c2 = compareRuns(run('6.1.192'), b, registry);
    expect(c2.scenarios.find((s) => s.scenario === 'thp-fault-split')!.change).toBe('regression');
    expect(c2.regressions).toBe(1);
    const file = join(tempDir('lab-compare-'), 'result.json');
    writeFileSync(file, JSON.stringify(b));
    const r = await lab(['compare', fixturePath('6.1.192'), file]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/\| thp-fault-split \| PASS \| SKIP \| \*\*regression\*\* \|/);
    // SKIP -> PASS is fixed, SKIP -> FAIL a change
    expect(compareRuns(b, run('6.1.192'), registry).scenarios.find((s) => s.scenario === 'thp-fault-split')!.change).toBe('fixed');
    const f = run('6.12.117');
    f.scenarios.find((s) => s.name === 'thp-fault-split')!.status = 'FAIL';
    expect(compareRuns(b, f, registry).scenarios.find((s) => s.scenario === 'thp-fault-split')!.change).toBe('changed');
  });

  it('reads result.json back only when it is a lab result of a known schema version', async () => {
    const dir = tempDir('lab-compare-');
    writeFileSync(join(dir, 'result.json'), JSON.stringify({ ...run('6.12.117'), schemaVersion: 99 }));
    const r = await lab(['compare', fixturePath('6.1.192'), dir]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/schemaVersion 99; this lab reads 1 and 2/);
    writeFileSync(join(dir, 'result.json'), JSON.stringify({ runId: 'x' }));
    expect((await lab(['compare', fixturePath('6.1.192'), dir])).stderr).toMatch(/not a lab result: schemaVersion/);
  });
});
