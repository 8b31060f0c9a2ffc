import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { compileExpectation } from '../../lab/judge/judge.ts';
import { verdictOf } from '../../lab/judge/verdict.ts';
import type { RunResult } from '../../lab/report/result.ts';
import { loadScenario } from '../../lab/scenario/load.ts';
import { registry } from '../helpers/registry.ts';

/**
 * The verdict, made in one place, on what real guests gave: the default
 * suite on 6.12.117 (every scenario PASS as recorded) and memcg-dump's oops
 * on 6.12.117 (its console report, a known issue).
 */
const load = (file: string) => JSON.parse(readFileSync(join(repoRoot, 'tests', 'fixtures', 'runs', file), 'utf8')) as RunResult;
const suite = load('suite-6.12.117.json');
const scenarios = join(repoRoot, 'scenarios');
const release = '6.12.117';

/**
 * The scenario as it was when the run was recorded: its expectations as the
 * result lists them, its variables' values as the judge saw them (the YAML
 * files have moved on since), what it allows and its known issues as today.
 */
async function asRecorded(s: RunResult['scenarios'][number]) {
  const today = await loadScenario(scenarios, s.name, registry);
  const judged = (s.judgement?.expectations ?? []).filter((e) => e.verdict !== 'skip');
  const values = Object.assign({}, ...judged.map((e) => e.values)) as Record<string, number>;
  const vars = Object.fromEntries(Object.entries(values).filter(([k]) => /^[a-z_][a-z0-9_]*$/.test(k)));
  return { scenario: { ...today, vars: [], expect: judged.map((e) => compileExpectation(e.expect)) }, captured: { ...s.captured, ...vars } };
}

describe('verdictOf', () => {
  it('gives every scenario of the recorded suite the status it was recorded with', async () => {
    for (const s of suite.scenarios) {
      const { scenario, captured } = await asRecorded(s);
      const v = verdictOf({ scenario, observations: s.observations, captured, registry, release });
      expect([s.name, v.status], JSON.stringify(v.judgement?.expectations.filter((e) => e.verdict !== 'pass'))).toEqual([s.name, s.status]);
      expect(v.judgement?.verdict).toBe('pass');
      expect(v.checks?.verdict).toBe('pass');
    }
  });

  it('a kernel error in dmesg overrides passing counts: ERROR, with the verdicts kept beside it', async () => {
    const s = suite.scenarios.find((x) => x.name === 'idle-baseline')!;
    const { scenario, captured } = await asRecorded(s);
    const observations = { ...s.observations, dmesg: { ...s.observations.dmesg!, kernelErrors: ['BUG: Bad page state in process kworker/0:1  pfn:12345'] } };
    const v = verdictOf({ scenario, observations, captured, registry, release });
    expect(v.status).toBe('ERROR');
    expect(v.error).toMatchObject({ code: 'KERNEL_ERROR', message: expect.stringContaining('first: BUG: Bad page state') });
    // the counts were judged all the same, and the lab's own check of the kernel log failed
    expect(v.judgement?.expectations.length).toBeGreaterThan(0);
    expect(v.checks?.expectations.some((e) => e.verdict === 'fail')).toBe(true);
  });

  it('a failed expectation is FAIL; a skip is SKIP; an infrastructure error is ERROR without a judgement', async () => {
    const s = suite.scenarios.find((x) => x.name === 'idle-baseline')!;
    const { scenario, captured } = await asRecorded(s);
    expect(verdictOf({ scenario, observations: s.observations, captured, registry, release }).status).toBe('PASS');
    const strict = { ...scenario, expect: [...scenario.expect, compileExpectation('module.seen[0] < 0')] };
    expect(verdictOf({ scenario: strict, observations: s.observations, captured, registry, release }).status).toBe('FAIL');
    expect(verdictOf({ scenario, observations: s.observations, captured: {}, registry, release, skipReason: 'no hugetlb' })).toEqual({ status: 'SKIP' });
    const e = verdictOf({ scenario, observations: s.observations, captured: {}, registry, release, error: { code: 'GUEST_LOST', message: 'lost' } });
    expect(e).toEqual({ status: 'ERROR', error: { code: 'GUEST_LOST', message: 'lost' } });
  });

  it("matches the kernel's report to the scenario's known issue; an affected version is no regression, a clean one is", async () => {
    const oops = load('known-issues/6.12.117-memcg-dump.json').scenarios[0]!;
    const scenario = await loadScenario(scenarios, 'memcg-dump', registry);
    const input = { scenario, observations: oops.observations, captured: oops.captured, registry, release, error: oops.error, kernelReport: oops.kernelReport };
    const v = verdictOf(input);
    expect(v.status).toBe('ERROR');
    expect(v.knownIssue?.title).toBe(oops.knownIssue!.title);
    expect(v.knownIssues?.map((k) => k.title)).toEqual([oops.knownIssue!.title]);
    expect(v.regression).toBeUndefined();
    // the same failure on a release the record lists as not affected
    const clean = verdictOf({ ...input, release: '6.12.107' });
    expect(clean.regression).toMatch(/^the known issue came back: ".*" is listed as not affected in 6\.12\.107$/);
  });
});
