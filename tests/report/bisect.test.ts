import { describe, expect, it } from 'vitest';
import { markOf, stepTable, watchedExpectations, type BisectResult, type BisectStep } from '../../lab/report/bisect.ts';
import type { RunResult } from '../../lab/report/result.ts';
import { fixture } from '../helpers/fixtures.ts';

const step = (n: number, mark: BisectStep['mark'], records9: number, verdict: 'pass' | 'fail'): BisectStep => ({
  n,
  commit: `${n}`.repeat(40),
  subject: `commit ${n} | with a bar`,
  role: 'bisect',
  status: mark === 'good' ? 'PASS' : 'FAIL',
  mark,
  buildSeconds: 61,
  stepSeconds: 150,
  expectations: [
    { expect: 'records9 >= grown', verdict, left: records9, right: 32, values: { records9, grown: 32 } },
    { expect: 'pool_end == 0', verdict: 'pass', left: 0, right: 0, values: { pool_end: 0 } },
  ],
  resultsDir: `/r/steps/${n}`,
});

describe('bisect marks from a step run', () => {
  it('PASS is good, FAIL is bad with what failed, ERROR is skip with the error (a real hugetlb result)', () => {
    const run = JSON.parse(fixture('runs', 'suite-6.12.117.json')) as RunResult;
    const hugetlb = run.scenarios.filter((s) => s.name === 'hugetlb');
    expect(markOf({ ...run, status: 'PASS', scenarios: hugetlb })).toEqual({ mark: 'good' });
    const failed = structuredClone(hugetlb);
    const e = failed[0]!.judgement!.expectations.find((x) => x.expect === 'records9 >= grown')!;
    Object.assign(e, { verdict: 'fail', message: 'records9 >= grown: 0 >= 32 is false (records9=0, grown=32)' });
    expect(markOf({ status: 'FAIL', scenarios: failed } as RunResult)).toEqual({ mark: 'bad', reason: 'records9 >= grown: 0 >= 32 is false (records9=0, grown=32)' });
    expect(markOf({ status: 'ERROR', scenarios: [], error: { stage: 'kernel', code: 'KERNEL_BUILD_FAILED', message: 'make exited with code 2' } } as unknown as RunResult)).toEqual({
      mark: 'skip',
      reason: 'kernel: KERNEL_BUILD_FAILED: make exited with code 2',
    });
    expect(markOf({ status: 'ERROR', scenarios: [{ ...hugetlb[0]!, status: 'ERROR', error: { code: 'GUEST_LOST', message: 'the guest died' } }] } as RunResult)).toEqual({
      mark: 'skip',
      reason: 'hugetlb: GUEST_LOST: the guest died',
    });
  });
});

describe('the step table', () => {
  const b = { expect: [], steps: [step(1, 'bad', 0, 'fail'), step(2, 'good', 32, 'pass')] } as unknown as BisectResult;
  it('shows the expectations that moved, or the --expect ones', () => {
    expect(watchedExpectations(b)).toEqual(['records9 >= grown']);
    expect(watchedExpectations({ ...b, expect: ['pool_end==0'] })).toEqual(['pool_end == 0']);
  });
  it('one row per step: revision, build and step time, verdict, mark, the values', () => {
    expect(stepTable(b).split('\n')).toEqual([
      '| step | revision | subject | build | step time | verdict | mark | `records9 >= grown` |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      '| 1 | `111111111111` | commit 1 \\| with a bar | 1m01s | 2m30s | FAIL | bad | 0 (records9=0, grown=32) FAIL |',
      '| 2 | `222222222222` | commit 2 \\| with a bar | 1m01s | 2m30s | PASS | good | 32 (records9=32, grown=32) |',
    ]);
  });
});
