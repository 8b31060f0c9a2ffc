import { describe, expect, it } from 'vitest';
import { DebugfsParser, parseDebugfs, sumStackPages } from '../../lab/observe/debugfs.ts';
import { fixture } from '../helpers/fixtures.ts';

/** Samples of /sys/kernel/debug/page_owner recorded by the lab from real guests (every 100th record). */
describe('parseDebugfs', () => {
  it('6.1: decimal PFN, free_ts on the header, memcg lines', () => {
    const s = parseDebugfs(fixture('6.1.192', 'page-owner-dump', 'page_owner-sample.txt'));
    expect(s.format).toEqual({ pfn: 'decimal', freeTs: true });
    expect(s.unparsed).toBe(0);
    expect(s.records).toBe(297);
    expect(s.byOrder['0']).toBeGreaterThan(250);
    expect(s.byGfp['GFP_HIGHUSER_MOVABLE|__GFP_COMP']).toBeGreaterThan(0);
    expect(s.byComm['swapper/0']).toBeGreaterThan(0);
    // most live pages belong to bpftrace: the page cache of the LLVM libraries it loads
    expect(s.byComm.bpftrace).toBeGreaterThan(s.records / 2);
    expect(s.migrated).toBe(8);
    expect(s.migratedByReason).toEqual({ compaction: 8 });
    expect(s.byMemcg['/']).toBe(198);
  });

  it('6.12: hex PFN, no free_ts', () => {
    const s = parseDebugfs(fixture('6.12.117', 'page-owner-dump', 'page_owner-sample.txt'));
    expect(s.format).toEqual({ pfn: 'hex', freeTs: false });
    expect(s.unparsed).toBe(0);
    expect(s.records).toBeGreaterThan(200);
    expect(s.pages).toBeGreaterThanOrEqual(s.records);
  });

  it('6.6: hex PFN with free_ts, and the memcg lines after the stack', () => {
    const s = parseDebugfs(fixture('6.6.87', 'page-owner-dump', 'page_owner-sample.txt'));
    expect(s.format).toEqual({ pfn: 'hex', freeTs: true });
    expect(s.unparsed).toBe(0);
    expect(s.records).toBeGreaterThan(200);
    // MEMCG: user pages of the root cgroup end with "Charged to memcg /"
    expect(s.byMemcg['/']).toBeGreaterThan(0);
    expect(s.memcgCharged).toBe(s.byMemcg['/']);
  });

  it('6.6: records of a workload in a memory cgroup of its own name that cgroup', () => {
    const s = parseDebugfs(fixture('6.6.87', 'memcg-dump', 'page_owner-sample.txt'));
    expect(s.unparsed).toBe(0);
    expect(s.byMemcg.lab_memcg).toBeGreaterThan(40);
    const workload = Object.entries(s.byCommOrder).filter(([comm]) => comm.startsWith('stress-ng'));
    expect(workload.reduce((a, [, byOrder]) => a + (byOrder['0'] ?? 0), 0)).toBeGreaterThan(40);
  });

  it('names both memcg line forms, and an offline cgroup, without counting them as unparsed', () => {
    const p = new DebugfsParser();
    for (const l of [
      'Page allocated via order 0, mask 0xcc0(GFP_KERNEL), pid 1, tgid 1 (init), ts 5 ns',
      'PFN 0x2000 type Unmovable Block 16 type Unmovable Flags 0x0()',
      ' alloc_pages+0x1/0x2',
      'Slab cache page',
      '',
      'Page allocated via order 0, mask 0xcc0(GFP_KERNEL), pid 1, tgid 1 (init), ts 6 ns',
      'PFN 0x2001 type Unmovable Block 16 type Unmovable Flags 0x0()',
      ' alloc_pages+0x1/0x2',
      'Charged (via objcg) to offline memcg gone',
      '',
    ]) {
      p.push(l);
    }
    const s = p.summary();
    expect(s).toMatchObject({ unparsed: 0, slabPages: 1, memcgCharged: 1, byMemcg: { gone: 1 } });
  });

  it('counts pages by order and keeps comms with spaces and parentheses', () => {
    const p = new DebugfsParser();
    for (const l of [
      'Page allocated via order 9, mask 0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), pid 77, tgid 77 (kworker/u4:1 (x)), ts 5 ns',
      'PFN 0x2000 type Movable Block 16 type Movable Flags 0x0()',
      ' alloc_pages+0x1/0x2',
      'Page has been migrated, last migrate reason: compaction',
      '',
      'garbage',
    ]) {
      p.push(l);
    }
    const s = p.summary();
    expect(s.pages).toBe(512);
    expect(s.byComm).toEqual({ 'kworker/u4:1 (x)': 1 });
    expect(s.migrated).toBe(1);
    expect(s.unparsed).toBe(1);
  });

  it('sums show_stacks (6.9+)', () => {
    expect(sumStackPages(' foo+0x1/0x2\n bar+0x3/0x4\nnr_base_pages: 12\n\n baz+0x1/0x2\nnr_base_pages: 30\n')).toBe(42);
  });
});
