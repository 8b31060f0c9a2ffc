import { describe, expect, it } from 'vitest';
import { judge } from '../../lab/judge/judge.ts';
import { parseBpftrace } from '../../lab/observe/bpftrace.ts';
import type { Observations } from '../../lab/observe/observations.ts';
import { parsePageOrder } from '../../lab/observe/page-order.ts';
import { parseVmstat } from '../../lab/observe/vmstat.ts';
import { probeMap } from '../../lab/observe/hooks.ts';
import { fixture } from '../helpers/fixtures.ts';
import { hooks, registry, spec } from '../helpers/registry.ts';

/** What the observers saw in a real hugetlb run on 6.12.117 (pool grown by 32). */
const observed: Observations = {
  module: parsePageOrder(fixture('6.12.117', 'hugetlb', 'page_order.txt')),
  bpf: parseBpftrace(fixture('6.12.117', 'hugetlb', 'bpftrace.txt')),
  vmstatBefore: parseVmstat(fixture('6.12.117', 'hugetlb', 'vmstat-before.txt')),
  vmstatAfter: parseVmstat(fixture('6.12.117', 'hugetlb', 'vmstat-after.txt')),
};
observed.probes = probeMap(hooks, fixture('6.12.117', 'probe-discovery.txt'), fixture('6.12.117', 'hugetlb', 'dmesg.txt'));
const captured = { pool_before: 0, pool_after: 32 };
const vars = { grown: 'pool_after - pool_before' };
const ctx = { registry };

describe('judge on a recorded 6.12.117 hugetlb run', () => {
  it('passes the skeleton expectations', () => {
    const j = judge(
      spec(vars, 'module.seen[9] >= grown', 'module.recorded[9] == module.seen[9]', 'bpf.set[9] >= grown', 'vmstat.htlb_buddy_alloc_success.delta == grown'),
      observed,
      captured,
      ctx,
    );
    expect(j.variables.grown).toBe(32);
    expect(j.expectations.map((e) => e.verdict)).toEqual(['pass', 'pass', 'pass', 'pass']);
    expect(j.verdict).toBe('pass');
  });

  it('explains a failed expectation with the numbers behind it', () => {
    const j = judge(spec(vars, 'bpf.set[9] >= grown * 2'), observed, captured, ctx);
    expect(j.verdict).toBe('fail');
    expect(j.expectations[0]!.message).toBe('bpf.set[9] >= grown * 2: 32 >= 64 is false (bpf.set[9]=32, grown=32)');
  });

  it('counts an order with no bpftrace events as 0, an order without a module row as unobserved', () => {
    const j = judge(spec({}, 'bpf.set[17] == 0', 'module.seen[4] == 0'), observed, {}, ctx);
    expect(j.expectations[0]!.verdict).toBe('pass');
    expect(j.expectations[1]!.verdict).toBe('error');
    expect(j.expectations[1]!.message).toMatch(/module\.seen\[4\] was not observed/);
    expect(j.verdict).toBe('error');
  });

  it('makes a vmstat counter the kernel lacks an error, not a failure', () => {
    const j = judge(spec({}, 'vmstat.thp_fault_alloc_nope.delta >= 1'), observed, {}, ctx);
    expect(j.verdict).toBe('error');
  });

  it('an observer that never reported makes every expectation on it an error', () => {
    const j = judge(spec({}, 'bpf.set[9] >= 1'), { module: observed.module }, {}, ctx);
    expect(j.expectations[0]!.verdict).toBe('error');
  });
});
