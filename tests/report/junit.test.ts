import { describe, expect, it } from 'vitest';
import { judge } from '../../lab/judge/judge.ts';
import { parseBpftrace } from '../../lab/observe/bpftrace.ts';
import { parsePageOrder } from '../../lab/observe/page-order.ts';
import { toJUnit } from '../../lab/report/junit.ts';
import { runStatus, type RunResult } from '../../lab/report/result.ts';
import { verdictTable } from '../../lab/report/table.ts';
import type { ScenarioResult } from '../../lab/scenario/run.ts';
import type { Observations } from '../../lab/observe/observations.ts';
import { fixture } from '../helpers/fixtures.ts';
import { registry, spec } from '../helpers/registry.ts';

const observations: Observations = {
  probes: [{ event: 'set', function: '__set_page_owner', status: 'probed', note: '' }],
  module: parsePageOrder(fixture('6.12.117', 'hugetlb', 'page_order.txt')),
  bpf: parseBpftrace(fixture('6.12.117', 'hugetlb', 'bpftrace.txt')),
};
const judged = judge(spec({}, 'bpf.set[9] >= 32', 'module.seen[9] > 1000'), observations, {}, { registry });
const scenario = (over: Partial<ScenarioResult>): ScenarioResult => ({
  name: 'hugetlb',
  status: 'FAIL',
  durationMs: 4200,
  captured: {},
  observations,
  resultsDir: '/r',
  judgement: judged,
  ...over,
});
const run = (scenarios: ScenarioResult[], error?: RunResult['error']): RunResult => ({
  schemaVersion: 2,
  runId: 'r1',
  flavor: 'lab',
  status: runStatus({ scenarios, error }),
  startedAt: '2026-11-26T00:00:00.000Z',
  kernelSpec: '6.12',
  kernel: undefined,
  stages: {},
  boots: [],
  scenarios,
  error,
});

describe('JUnit and the verdict table', () => {
  it('one testcase per expectation, failures carry the explanation', () => {
    const xml = toJUnit(run([scenario({})]));
    expect(xml).toContain('<testsuites name="page-owner-lab" tests="2" failures="1" errors="0" skipped="0">');
    expect(xml).toContain('<testcase classname="page-owner-lab.6.12.hugetlb" name="bpf.set[9] &gt;= 32" time="4.200"></testcase>');
    expect(xml).toContain('<failure type="expectation" message="module.seen[9] &gt; 1000: 32 &gt; 1000 is false (module.seen[9]=32)"/>');
  });

  it('a scenario error and an infrastructure error are errors, not failures', () => {
    const r = run([scenario({ status: 'ERROR', judgement: undefined, error: { code: 'GUEST_LOST', message: 'lost <guest>' } })], {
      code: 'BOOT_TIMEOUT',
      message: 'no readiness marker',
      stage: 'boot',
    });
    expect(r.status).toBe('ERROR');
    const xml = toJUnit(r);
    expect(xml).toContain('failures="0" errors="2"');
    expect(xml).toContain('<error type="GUEST_LOST" message="lost &lt;guest&gt;"/>');
    const reported = toJUnit(
      run([
        scenario({
          status: 'ERROR',
          judgement: undefined,
          error: { code: 'GUEST_LOST', message: 'lost' },
          kernelReport: ['BUG: unable to handle page fault', 'RIP: 0010:__update_page_owner_handle+0x4d/0x9f'],
          knownIssue: { title: 'page_ext walk', fix: 'mm: page_owner: use new iteration API', matched: 'RIP: 0010:__update_page_owner_handle+0x4d/0x9f' },
        }),
      ]),
    );
    expect(reported).toContain('<error type="GUEST_LOST" message="lost">known issue: page_ext walk\nupstream fix: mm: page_owner: use new iteration API\nBUG: unable to handle page fault\nRIP: 0010:__update_page_owner_handle+0x4d/0x9f</error>');
    expect(xml).toContain('name="infrastructure"');
  });

  it('the table shows expected and observed values', () => {
    const table = verdictTable(run([scenario({})]));
    expect(table.split('\n')[0]).toMatch(/^scenario\s+expectation\s+expected\s+observed\s+verdict$/);
    expect(table).toMatch(/hugetlb\s+module\.seen\[9\] > 1000\s+> 1000\s+module\.seen\[9\] = 32\s+FAIL/);
  });
});
