import { describe, expect, it } from 'vitest';
import { judge } from '../../lab/judge/judge.ts';
import { parseBpftrace } from '../../lab/observe/bpftrace.ts';
import type { Observations } from '../../lab/observe/observations.ts';
import { parsePageOrder } from '../../lab/observe/page-order.ts';
import { parseVmstat } from '../../lab/observe/vmstat.ts';
import { repoRoot } from '../../lab/core/paths.ts';
import { loadHooks, probeMap } from '../../lab/prepare/probes.ts';
import { fixture } from '../helpers/fixtures.ts';

/** What the observers saw in a real hugetlb run on 6.12.117 (pool grown by 32). */
const observed: Observations = {
  module: parsePageOrder(fixture('6.12.117', 'hugetlb', 'page_order.txt')),
  bpf: parseBpftrace(fixture('6.12.117', 'hugetlb', 'bpftrace.txt')),
  vmstatBefore: parseVmstat(fixture('6.12.117', 'hugetlb', 'vmstat-before.txt')),
  vmstatAfter: parseVmstat(fixture('6.12.117', 'hugetlb', 'vmstat-after.txt')),
};
const hooks = await loadHooks(repoRoot);
observed.probes = probeMap(hooks, fixture('6.12.117', 'probe-discovery.txt'), fixture('6.12.117', 'hugetlb', 'dmesg.txt'));
observed.migrateReasons = hooks.migrate_reasons;
const captured = { pool_before: 0, pool_after: 32 };
const exp = (...sources: string[]) => sources.map((expect) => ({ expect }));
const vars = { grown: 'pool_after - pool_before' };

describe('judge on a recorded 6.12.117 hugetlb run', () => {
  it('passes the skeleton expectations', () => {
    const j = judge(
      {
        vars,
        expect: exp(
          'module.seen[9] >= grown',
          'module.recorded[9] == module.seen[9]',
          'bpf.set[9] >= grown',
          'vmstat.htlb_buddy_alloc_success.delta == grown',
        ),
      },
      observed,
      captured,
    );
    expect(j.variables.grown).toBe(32);
    expect(j.expectations.map((e) => e.verdict)).toEqual(['pass', 'pass', 'pass', 'pass']);
    expect(j.verdict).toBe('pass');
  });

  it('explains a failed expectation with the numbers behind it', () => {
    const j = judge({ vars, expect: exp('bpf.set[9] >= grown * 2') }, observed, captured);
    expect(j.verdict).toBe('fail');
    expect(j.expectations[0]!.message).toBe('bpf.set[9] >= grown * 2: 32 >= 64 is false (bpf.set[9]=32, grown=32)');
  });

  it('counts an order with no bpftrace events as 0, an order without a module row as unobserved', () => {
    const j = judge({ vars: {}, expect: exp('bpf.set[17] == 0', 'module.seen[4] == 0') }, observed, {});
    expect(j.expectations[0]!.verdict).toBe('pass');
    expect(j.expectations[1]!.verdict).toBe('error');
    expect(j.expectations[1]!.message).toMatch(/module\.seen\[4\] was not observed/);
    expect(j.verdict).toBe('error');
  });

  it('makes a vmstat counter the kernel lacks an error, not a failure', () => {
    const j = judge({ vars: {}, expect: exp('vmstat.thp_fault_alloc_nope.delta >= 1') }, observed, {});
    expect(j.verdict).toBe('error');
  });

  it('an observer that never reported makes every expectation on it an error', () => {
    const j = judge({ vars: {}, expect: exp('bpf.set[9] >= 1') }, { module: observed.module }, {});
    expect(j.expectations[0]!.verdict).toBe('error');
  });
});
