import { describe, expect, it } from 'vitest';
import { DebugfsParser, OTHER_STACK, STACKS_KEPT, parseDebugfs, parseShowStacks, stackKey, sumStackPages } from '../../lab/observe/debugfs.ts';
import { forComm, parseBpftrace } from '../../lab/observe/bpftrace.ts';
import { parseVmstat } from '../../lab/observe/vmstat.ts';
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

const SAMPLES: [string, string][] = [
  ['6.1.192', 'page-owner-dump'],
  ['6.1.192', 'thp-fault-split'],
  ['6.1.192', 'compaction-migrate'],
  ['6.6.87', 'page-owner-dump'],
  ['6.6.87', 'thp-fault-split'],
  ['6.6.87', 'compaction-migrate'],
  ['6.6.87', 'memcg-dump'],
  ['6.12.117', 'page-owner-dump'],
  ['6.12.117', 'thp-fault-split'],
  ['6.12.117', 'compaction-migrate'],
];

/** The reduced dump: per order, stack -> records and pages (the call-site attribution of lab report). */
describe('call sites of the page_owner dump', () => {
  it.each(SAMPLES)('%s %s: every record counted under one stack of its order, no allocator frame or offset in a key', (release, scenario) => {
    const s = parseDebugfs(fixture(release, scenario, 'page_owner-sample.txt'));
    expect(Object.keys(s.stacks!).sort()).toEqual(Object.keys(s.byOrder).sort());
    for (const [order, rows] of Object.entries(s.stacks!)) {
      expect(rows.reduce((n, r) => n + r.records, 0)).toBe(s.byOrder[order]);
      expect(rows.reduce((n, r) => n + r.pages, 0)).toBe(s.byOrder[order]! * 2 ** Number(order));
      expect(rows.length).toBeLessThanOrEqual(STACKS_KEPT + 1);
      for (const r of rows) {
        expect(r.stack).not.toMatch(/\+0x|^(prep_new_page|get_page_from_freelist|__alloc_pages|post_alloc_hook|alloc_slab_page|new_slab)\b/);
        expect(r.stack.split(' < ').length).toBeLessThanOrEqual(8);
      }
    }
  });

  it('6.1: the top order-0 call site of the dump is page-cache readahead on a fault', () => {
    const top = parseDebugfs(fixture('6.1.192', 'page-owner-dump', 'page_owner-sample.txt')).stacks!['0']![0]!;
    expect(top).toEqual({
      stack: 'page_cache_ra_unbounded < filemap_fault < __do_fault < __handle_mm_fault < handle_mm_fault < do_user_addr_fault < exc_page_fault < asm_exc_page_fault',
      records: 149,
      pages: 149,
    });
  });

  it('6.12: early pages are attributed to init_page_owner, called from mm_core_init (kernel_init_freeable on 6.1)', () => {
    const rows = parseDebugfs(fixture('6.12.117', 'page-owner-dump', 'page_owner-sample.txt')).stacks!['0']!;
    expect(rows.find((r) => r.stack === 'init_page_owner < mm_core_init < start_kernel')?.records).toBe(66);
    const old = parseDebugfs(fixture('6.1.192', 'page-owner-dump', 'page_owner-sample.txt')).stacks!['0']!;
    expect(old.find((r) => r.stack === 'init_page_owner < kernel_init_freeable < kernel_init')?.records).toBe(64);
  });

  it('6.6: a slab page is attributed to the kmalloc caller, the slab refill frames dropped', () => {
    const rows = parseDebugfs(fixture('6.6.87', 'page-owner-dump', 'page_owner-sample.txt')).stacks!['1']!;
    expect(rows[0]!.stack).toMatch(/^kmalloc_trace < tty_register_device_attr < tty_register_driver < pty_init/);
    expect(rows[0]!.pages).toBe(2);
  });

  it('keeps the top stacks and sums the rest into one bucket', () => {
    const p = new DebugfsParser();
    for (let i = 0; i < STACKS_KEPT + 5; i++) {
      for (let n = 0; n <= i; n++) {
        p.push('Page allocated via order 1, mask 0xcc0(GFP_KERNEL), pid 1, tgid 1 (init), ts 5 ns');
        p.push('PFN 0x2000 type Unmovable Block 16 type Unmovable Flags 0x0()');
        p.push(' prep_new_page+0x17/0x43');
        p.push(' __alloc_pages_noprof+0xb8/0x16c');
        p.push(` caller${i}.constprop.0+0x1/0x2 [mod]`);
        p.push('');
      }
    }
    const rows = p.summary().stacks!['1']!;
    expect(rows).toHaveLength(STACKS_KEPT + 1);
    expect(rows[0]).toEqual({ stack: `caller${STACKS_KEPT + 4} [mod]`, records: STACKS_KEPT + 5, pages: 2 * (STACKS_KEPT + 5) });
    // the five smallest: 1 + 2 + 3 + 4 + 5 records
    expect(rows.at(-1)).toEqual({ stack: OTHER_STACK, records: 15, pages: 30 });
  });

  it('a record with only allocator frames keeps them rather than an empty key', () => {
    expect(stackKey([' prep_new_page+0x1/0x2', ' get_page_from_freelist+0x1/0x2'])).toBe('prep_new_page < get_page_from_freelist');
    expect(stackKey([])).toBe('(no stack)');
  });

  it('reduces show_stacks (6.9+) by base pages, merging kernel stacks that share a key', () => {
    const text = [
      ' prep_new_page+0xa9/0x120',
      ' get_page_from_freelist+0x4c5/0xc10',
      ' __alloc_pages_noprof+0x13c/0x2d0',
      ' read_page_owner+0x91/0x3d0',
      ' vfs_read+0xb9/0x370',
      'nr_base_pages: 2',
      '',
      ' prep_new_page+0xa9/0x120',
      ' read_page_owner+0x99/0x3d0',
      ' vfs_read+0xb9/0x370',
      'nr_base_pages: 4',
      '',
      ' prep_new_page+0xa9/0x120',
      ' filemap_fault+0x1/0x2',
      'nr_base_pages: 30',
      '',
    ].join('\n');
    expect(parseShowStacks(text)).toEqual([
      { stack: 'filemap_fault', records: 1, pages: 30 },
      { stack: 'read_page_owner < vfs_read', records: 2, pages: 6 },
    ]);
  });
});

describe('task names are guest data: never a way into Object.prototype', () => {
  it('a real dump whose tasks are named __proto__ and constructor is counted like any other, and pollutes nothing', () => {
    // the real 6.12.117 sample, two task names changed (what a process can call itself with prctl)
    const real = fixture('6.12.117', 'page-owner-dump', 'page_owner-sample.txt');
    const text = real.replace(/\(bpftrace\)/g, '(__proto__)').replace(/\(swapper\)/g, '(constructor)');
    const s = parseDebugfs(text);
    const before = parseDebugfs(real);
    expect(Object.prototype).not.toHaveProperty('0');
    expect(({} as Record<string, unknown>)['0']).toBeUndefined();
    expect(s.byComm['__proto__']).toBe(before.byComm['bpftrace']);
    expect(s.byComm['constructor']).toBe(before.byComm['swapper']);
    expect(s.byComm['__proto__']).toBeGreaterThan(100);
    expect(Object.keys(s.byCommOrder['__proto__']!)).toEqual(expect.arrayContaining(['0']));
    // as result.json has it, read back
    const back = JSON.parse(JSON.stringify(s)) as typeof s;
    expect(Object.getOwnPropertyNames(back.byComm)).toEqual(expect.arrayContaining(['__proto__', 'constructor']));
    expect(back.byComm['constructor']).toBe(before.byComm['swapper']);
  });

  it('bpftrace map keys and vmstat names are guest data too', () => {
    const b = parseBpftrace('@set_comm[__proto__, 0]: 5\n@constructor[1]: 2\n@__proto__: 3\n');
    expect(Object.prototype).not.toHaveProperty('0');
    expect(b.maps['set_comm']!['__proto__, 0']).toBe(5);
    expect(forComm(b, '__proto__').maps['set_comm']!['0']).toBe(5);
    expect(b.maps['__proto__']!['']).toBe(3);
    const v = parseVmstat('__proto__ 7\nconstructor 9\n');
    expect(v['__proto__']).toBe(7);
    expect(Object.prototype).not.toHaveProperty('__proto__ ');
  });
});
