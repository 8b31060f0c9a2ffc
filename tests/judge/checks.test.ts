import { describe, expect, it } from 'vitest';
import { labChecks, WINDOW_SLACK_PAGES } from '../../lab/judge/checks.ts';
import { judge } from '../../lab/judge/judge.ts';
import { parseBpftrace } from '../../lab/observe/bpftrace.ts';
import type { Observations } from '../../lab/observe/observations.ts';
import { parsePageOrder } from '../../lab/observe/page-order.ts';
import { parseVmstat } from '../../lab/observe/vmstat.ts';
import { fixture } from '../helpers/fixtures.ts';
import { registry } from '../helpers/registry.ts';

const probes: Observations['probes'] = [
  { event: 'set', function: '__set_page_owner', status: 'probed', note: '' },
  { event: 'dump', function: '__dump_page_owner', status: 'probed', note: '' },
];

describe.each(['6.1.192', '6.12.117'])('lab cross-checks on a recorded %s hugetlb run', (kernel) => {
  const obs: Observations = {
    probes,
    module: parsePageOrder(fixture(kernel, 'hugetlb', 'page_order.txt')),
    bpf: parseBpftrace(fixture(kernel, 'hugetlb', 'bpftrace.txt')),
  };

  it('the module window lies inside bpftrace window, within the slack', () => {
    const checks = labChecks(obs, { allowMissed: false });
    expect(checks.map((c) => c.source)).toEqual([
      'bpf.set[0] >= module.seen[0]',
      `bpf.set[0] - module.seen[0] <= max(${WINDOW_SLACK_PAGES}, module.seen[0] / 20)`,
      'bpf.set[9] >= module.seen[9]',
      `bpf.set[9] - module.seen[9] <= max(${WINDOW_SLACK_PAGES}, module.seen[9] / 20)`,
      'module.nmissed == 0',
      'bpf.lost == 0',
      'bpf.dump == 0',
    ]);
    expect(judge({ vars: [], expect: checks }, obs, {}, { registry }).verdict).toBe('pass');
  });

  it('kprobe misses fail unless the scenario allows them, or a budget of them', () => {
    const missed = { ...obs, module: { ...obs.module!, nmissed: 3 } };
    expect(judge({ vars: [], expect: labChecks(missed, { allowMissed: false }) }, missed, {}, { registry }).verdict).toBe('fail');
    expect(judge({ vars: [], expect: labChecks(missed, { allowMissed: 5 }) }, missed, {}, { registry }).verdict).toBe('pass');
    expect(labChecks(missed, { allowMissed: true }).some((c) => c.source.includes('nmissed'))).toBe(false);
  });

  it('a module that saw more than bpftrace fails the containment check', () => {
    const rows = obs.module!.rows.map((r) => (r.order === 9 ? { ...r, seen: r.seen + 1 } : r));
    const skewed = { ...obs, module: { ...obs.module!, rows } };
    const j = judge({ vars: [], expect: labChecks(skewed, { allowMissed: false }) }, skewed, {}, { registry });
    expect(j.expectations.find((e) => e.verdict === 'fail')!.message).toMatch(/^bpf\.set\[9\] >= module\.seen\[9\]: 32 >= 33 is false/);
  });

  it('a scenario whose workload outlives the module read widens the window, never the containment', () => {
    const checks = labChecks(obs, { allowMissed: false, window: 100000 }).map((c) => c.source);
    expect(checks).toContain('bpf.set[0] - module.seen[0] <= max(100000, module.seen[0] / 20)');
    expect(checks).toContain('bpf.set[0] >= module.seen[0]');
  });
});

describe('lab cross-check: the set probe saw what the allocator counted', () => {
  const recorded = (kernel: string, scenario: string): Observations => ({
    probes,
    module: parsePageOrder(fixture(kernel, scenario, 'page_order.txt')),
    bpf: parseBpftrace(fixture(kernel, scenario, 'bpftrace.txt')),
    vmstatBefore: parseVmstat(fixture(kernel, scenario, 'vmstat-before.txt')),
    vmstatAfter: parseVmstat(fixture(kernel, scenario, 'vmstat-after.txt')),
  });
  const failed = (obs: Observations) =>
    judge({ vars: [], expect: labChecks(obs, { allowMissed: false }) }, obs, {}, { registry }).expectations.filter((e) => e.verdict !== 'pass');

  it.each(['6.1.192', '6.6.87', '6.12.117'])('holds on a recorded %s hugetlb run', (kernel) => {
    const obs = recorded(kernel, 'hugetlb');
    expect(labChecks(obs, { allowMissed: false }).map((c) => c.source)).toContain(`bpf.set_pages + ${WINDOW_SLACK_PAGES} >= vmstat.pgalloc_sum.delta`);
    expect(failed(obs)).toEqual([]);
  });

  it('fails on a recorded 6.6.87 guest whose __set_page_owner probe went blind (multi-threaded TCG)', () => {
    // both observers agree with each other (1,559 order-0 sets), so only the allocator's count shows it
    const f = failed(recorded('6.6.87', 'balance-blind'));
    expect(f.map((e) => e.expect)).toEqual([`bpf.set_pages + ${WINDOW_SLACK_PAGES} >= vmstat.pgalloc_sum.delta`]);
    expect(f[0]!.message).toMatch(/is false \(bpf\.set_pages=\d+, vmstat\.pgalloc_sum\.delta=\d+\)/);
  });

  it('is left out when vmstat was not read around the window', () => {
    const obs = recorded('6.12.117', 'hugetlb');
    delete obs.vmstatAfter;
    expect(labChecks(obs, { allowMissed: false }).some((c) => c.source.includes('pgalloc'))).toBe(false);
  });
});
