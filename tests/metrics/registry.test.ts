import { describe, expect, it } from 'vitest';
import { parseBpftrace } from '../../lab/observe/bpftrace.ts';
import { probeMap } from '../../lab/observe/hooks.ts';
import type { Observations } from '../../lab/observe/observations.ts';
import { parsePageOrder } from '../../lab/observe/page-order.ts';
import { parseVmstat } from '../../lab/observe/vmstat.ts';
import { fixture } from '../helpers/fixtures.ts';
import { hooks, registry } from '../helpers/registry.ts';

/** What the observers saw in a real hugetlb run on 6.12.117. */
const obs: Observations = {
  module: parsePageOrder(fixture('6.12.117', 'hugetlb', 'page_order.txt')),
  bpf: parseBpftrace(fixture('6.12.117', 'hugetlb', 'bpftrace.txt')),
  vmstatBefore: parseVmstat(fixture('6.12.117', 'hugetlb', 'vmstat-before.txt')),
  vmstatAfter: parseVmstat(fixture('6.12.117', 'hugetlb', 'vmstat-after.txt')),
  probes: probeMap(hooks, fixture('6.12.117', 'probe-discovery.txt'), fixture('6.12.117', 'hugetlb', 'dmesg.txt')),
};

describe('the metric registry on a recorded 6.12.117 hugetlb run', () => {
  it('reads per-order counts and derives pages from them', () => {
    const seen = Object.fromEntries(obs.module!.rows.map((r) => [r.order, r.seen]));
    expect(registry.read('module.seen[9]', obs)).toBe(seen[9]);
    expect(registry.read('module.pages', obs)).toBe(obs.module!.rows.reduce((a, r) => a + r.seen * 2 ** r.order, 0));
    const set = obs.bpf!.maps.set!;
    expect(registry.read('bpf.set_pages', obs)).toBe(Object.entries(set).reduce((a, [o, n]) => a + n * 2 ** Number(o), 0));
    expect(registry.read('bpf.set[17]', obs)).toBe(0);
  });

  it('sums pgalloc over zones and reads any other counter', () => {
    const zones = Object.keys(obs.vmstatAfter!).filter((k) => k.startsWith('pgalloc_'));
    expect(zones.length).toBeGreaterThan(0);
    const delta = zones.reduce((a, k) => a + obs.vmstatAfter![k]! - obs.vmstatBefore![k]!, 0);
    expect(registry.read('vmstat.pgalloc_sum.delta', obs)).toBe(delta);
    expect(registry.read('vmstat.pgfree.delta', obs)).toBe(obs.vmstatAfter!.pgfree! - obs.vmstatBefore!.pgfree!);
    expect(registry.read('vmstat.no_such_counter.delta', obs)).toBeUndefined();
    expect(registry.read('vmstat.htlb_buddy_alloc_success.delta', obs)).toBe(32);
  });

  it('has no delta for a counter missing on one side', () => {
    const one = { vmstatBefore: { a: 1 }, vmstatAfter: { a: 4, b: 2 } };
    expect(registry.read('vmstat.a.delta', one)).toBe(3);
    expect(registry.read('vmstat.b.delta', one)).toBeUndefined();
  });

  it('an event that was not probed has no value; a name no family knows has none either', () => {
    const unprobed = { ...obs, probes: obs.probes!.filter((p) => p.event !== 'copy') };
    expect(registry.read('bpf.copy', unprobed)).toBeUndefined();
    expect(registry.isKnown('bpf.copy')).toBe(true);
    expect(registry.isKnown('bpf.sets[9]')).toBe(false);
  });

  it('names the observer each metric needs', () => {
    expect(registry.observersOf(['debugfs.records[9]', 'grown', 'vmstat.pgfree.delta', 'bpf.migrate[compaction]'])).toEqual(['bpf', 'debugfs', 'vmstat']);
  });

  it('has a family for every event of bpf/hooks.yaml that can be probed', () => {
    for (const h of hooks.events.filter((e) => !e.init_only)) {
      const name = h.event === 'set migrate' ? 'bpf.migrate' : `bpf.${h.event}`;
      expect(registry.isKnown(name), name).toBe(true);
    }
  });
});
