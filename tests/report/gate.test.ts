import { execa } from 'execa';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gateExitCode } from '../../lab/cli/commands/report.ts';
import { repoRoot } from '../../lab/core/paths.ts';
import { loadNoiseProfile } from '../../lab/report/profile.ts';
import { buildReport, type ReportInput } from '../../lab/report/report.ts';
import { registry } from '../helpers/registry.ts';
import { nights, scaled } from '../helpers/runs.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * The nightly gate on real nights of one kernel (tests/helpers/runs.ts): an
 * unchanged night passes against the nights before it, every metric x10
 * fails against three nights and against one, a night missing a scenario is
 * incomplete. Then the same through .ci/report.mjs, the report job of both
 * CI engines, with the cells laid out as the matrix gives them.
 */
const profile = await loadNoiseProfile(join(repoRoot, 'kernels', 'noise.yaml'));
const all = nights();
const gateOf = (night: ReportInput, baseline: ReportInput[]) => buildReport([night], registry, { baseline, profile }).gate!;
const without = (night: ReportInput, scenario: string): ReportInput => ({
  ...night,
  result: { ...night.result, runId: `${night.result.runId}-without-${scenario}`, scenarios: night.result.scenarios.filter((s) => s.name !== scenario) },
});

describe('the nightly gate on real nights of 6.12.117', () => {
  it('has the nights it needs: 13, each of the same three scenarios, all passing', () => {
    expect(all).toHaveLength(13);
    for (const n of all) expect(n.result.scenarios.map((s) => `${s.name} ${s.status}`).sort()).toEqual(['hugetlb PASS', 'idle-baseline PASS', 'stress-ng-vm PASS']);
  });

  it('an unchanged night against the 3 nights before it: clean, the metrics judged by their own spread', () => {
    const g = gateOf(all[3]!, all.slice(0, 3));
    expect(g.regressions).toEqual([]);
    expect(gateExitCode(g)).toBe(0);
    expect(g.metrics.length).toBeGreaterThan(40);
    expect(new Set(g.metrics.map((m) => m.model))).toEqual(new Set(['baseline']));
  });

  it('10 unchanged nights in a row, each against the nights before it (3 to 5 of them, as the workflow keeps them): all clean', () => {
    const failures = all.slice(3).flatMap((night, i) => {
      const base = all.slice(Math.max(0, i + 3 - 5), i + 3);
      return gateOf(night, base).regressions.map((r) => `${night.result.runId} against ${base.length} nights: ${r.scenario} ${r.what}`);
    });
    expect(all.slice(3)).toHaveLength(10);
    expect(failures).toEqual([]);
  });

  it('every metric x10 fails against 3 nights and against 1 night', () => {
    for (const base of [all.slice(0, 3), all.slice(0, 1)]) {
      const g = gateOf(scaled(all[3]!, 10), base);
      expect(gateExitCode(g)).toBe(1);
      // every gated metric that was not 0 left the noise
      const nonZero = g.metrics.filter((m) => m.value !== '0');
      expect(nonZero.length).toBeGreaterThan(20);
      expect(nonZero.filter((m) => !m.left).map((m) => `${m.scenario} ${m.metric} ${m.value}: ${m.basis}`)).toEqual([]);
      expect(new Set(g.metrics.map((m) => m.model))).toEqual(new Set([base.length === 1 ? 'profile' : 'baseline']));
    }
  });

  it('a night missing a scenario is incomplete (exit 3), naming it', () => {
    const g = gateOf(without(all[3]!, 'stress-ng-vm'), all.slice(0, 3));
    expect(g.missing).toEqual([{ column: '6.12.117', scenario: 'stress-ng-vm' }]);
    expect(gateExitCode(g)).toBe(3);
    // without a baseline, the matrix's list of scenarios says what to expect
    const alone = buildReport([without(all[3]!, 'hugetlb')], registry, { expectScenarios: ['hugetlb', 'idle-baseline', 'stress-ng-vm'], profile }).gate!;
    expect(alone.missing).toEqual([{ column: '6.12.117', scenario: 'hugetlb' }]);
    expect(gateExitCode(alone)).toBe(3);
  });

  it("an ERROR of the lab's own (a lost guest) is infrastructure, exit 3; a kernel error is a result, exit 1", () => {
    const lost = structuredClone(all[3]!);
    const s = lost.result.scenarios.find((x) => x.name === 'hugetlb')!;
    Object.assign(s, { status: 'ERROR', error: { code: 'GUEST_LOST', message: 'the SSH connection closed' } });
    const g = gateOf(lost, all.slice(0, 3));
    expect(g.infrastructure).toEqual([{ column: '6.12.117', scenario: 'hugetlb', what: 'GUEST_LOST: the SSH connection closed' }]);
    expect(g.regressions.filter((r) => r.scenario === 'hugetlb')).toEqual([]);
    expect(gateExitCode(g)).toBe(3);
    Object.assign(s, { error: { code: 'KERNEL_ERROR', message: 'BUG: unable to handle page fault' }, kernelReport: ['BUG: unable to handle page fault for address: ffff'] });
    const k = gateOf(lost, all.slice(0, 3));
    expect(k.infrastructure).toEqual([]);
    expect(k.regressions.map((r) => `${r.scenario} ${r.what}`)).toContainEqual(expect.stringMatching(/^hugetlb verdict PASS -> ERROR/));
    expect(gateExitCode(k)).toBe(1);
  });
});

describe('.ci/report.mjs, the report job, on real nights laid out as the matrix gives them', () => {
  const matrix = [
    { name: '6.12.117-lab-1of2', kernel: '6.12.117', flavor: 'lab', scenarios: 'hugetlb,idle-baseline', shard: '1/2', results: '6.12.117-lab/shard-1of2' },
    { name: '6.12.117-lab-2of2', kernel: '6.12.117', flavor: 'lab', scenarios: 'stress-ng-vm', shard: '2/2', results: '6.12.117-lab/shard-2of2' },
  ];
  const writeRun = (dir: string, input: ReportInput, keep?: (name: string) => boolean) => {
    const r = { ...input.result, scenarios: input.result.scenarios.filter((s) => !keep || keep(s.name)) };
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'result.json'), JSON.stringify(r));
  };
  /** One night as the cells wrote it (each shard with its scenarios), the baseline's nights, the matrix. */
  function night(input: ReportInput, o: { drop?: string; dropShard?: number } = {}) {
    const work = tempDir('lab-report-job-');
    matrix.forEach((cell, i) => {
      if (o.dropShard === i + 1) return;
      const scenarios = cell.scenarios.split(',').filter((s) => s !== o.drop);
      writeRun(join(work, 'shards', cell.results, input.result.runId), input, (n) => scenarios.includes(n));
    });
    for (const base of all.slice(0, 3)) writeRun(join(work, 'baseline', '6.12-lab', base.result.runId), base);
    writeFileSync(join(work, 'matrix.json'), JSON.stringify({ include: matrix }));
    return work;
  }
  const job = async (work: string) => {
    const r = await execa('node', ['.ci/report.mjs', join(work, 'shards'), join(work, 'baseline'), join(work, 'merged'), join(work, 'report'), join(work, 'matrix.json')], {
      cwd: repoRoot,
      reject: false,
      all: true,
      env: { GITHUB_STEP_SUMMARY: join(work, 'summary.md') },
    });
    return { exitCode: r.exitCode, all: String(r.all), work };
  };

  it('a clean night: exit 0, and lab baseline keep adds its merged run to the nights of its series', async () => {
    const r = await job(night(all[3]!));
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/gate: 0 regression\(s\) against 3 baseline run\(s\)/);
    const kept = await execa('npm', ['run', '-s', 'lab', '--', 'baseline', 'keep', join(r.work, 'merged'), '--into', join(r.work, 'baseline'), '--nights', '3'], { cwd: repoRoot, reject: false });
    expect(kept.exitCode, kept.stderr).toBe(0);
    expect(kept.stdout).toBe(`6.12-lab: 3 night(s) in ${join(r.work, 'baseline')}`);
    rmSync(r.work, { recursive: true, force: true });
  });

  it('every metric x10: exit 1, the regressions named', async () => {
    const r = await job(night(scaled(all[3]!, 10)));
    expect(r.exitCode, r.all).toBe(1);
    expect(r.all).toMatch(/6\.12\.117 hugetlb: bpf\.set\[9\] 320 left the baseline's 32/);
  });

  it('a night missing one scenario, or a whole shard: exit 3, naming what is missing', async () => {
    const scenario = await job(night(all[3]!, { drop: 'idle-baseline' }));
    expect(scenario.exitCode, scenario.all).toBe(3);
    expect(scenario.all).toMatch(/6\.12\.117 idle-baseline: missing/);
    const shard = await job(night(all[3]!, { dropShard: 2 }));
    expect(shard.exitCode, shard.all).toBe(3);
    expect(shard.all).toMatch(/cell 6\.12\.117-lab-2of2: no results in .*6\.12\.117-lab\/shard-2of2 \(scenarios stress-ng-vm\)/);
    expect(shard.all).toMatch(/6\.12\.117 stress-ng-vm: missing/);
  });
});
