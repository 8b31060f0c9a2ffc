import { describe, expect, it } from 'vitest';
import { parseBpftrace } from '../../lab/observe/bpftrace.ts';
import { parsePageOrder } from '../../lab/observe/page-order.ts';
import { parseVmstat } from '../../lab/observe/vmstat.ts';
import { fixture } from '../helpers/fixtures.ts';

describe('parsePageOrder on /proc/page_order from a 6.12.117 guest', () => {
  const table = parsePageOrder(fixture('6.12.117', 'hugetlb', 'page_order.txt'));

  it('reads one row per configured order', () => {
    expect(table.rows.map((r) => r.order)).toEqual([0, 9]);
    expect(table.rows.find((r) => r.order === 9)).toEqual({ order: 9, participation: 100, seen: 32, recorded: 32 });
    expect(table.rows[0]!.seen).toBeGreaterThan(100);
  });

  it('reads the other row and nmissed', () => {
    expect(table.otherSeen).toBe(0);
    expect(table.nmissed).toBe(0);
  });

  it('rejects output that is not the module table', () => {
    expect(() => parsePageOrder('hello\n')).toThrow(/unexpected header/);
    expect(() => parsePageOrder('order participation seen recorded\n9 100 x 3\n')).toThrow(/cannot parse line "9 100 x 3"/);
  });
});

describe('parseBpftrace on summary output from a 6.12.117 guest', () => {
  const out = parseBpftrace(fixture('6.12.117', 'hugetlb', 'bpftrace.txt'));

  it('collects the per-order maps', () => {
    expect(out.maps.set?.['9']).toBe(32);
    expect(Number(out.maps.set?.['0'])).toBeGreaterThan(100);
    expect(Object.keys(out.maps.reset ?? {})).toContain('0');
  });

  it('sees the attach marker and keeps the warnings as lines', () => {
    expect(out.attached).toBe(true);
    expect(out.lines.some((l) => l.includes('WARNING: __set_page_owner is not traceable'))).toBe(true);
    expect(out.lostEvents).toBe(0);
  });

  it('sums lost events and reads scalar maps', () => {
    const o = parseBpftrace('Lost 5 events\n@total: 7\nLost 2 events\n');
    expect(o.lostEvents).toBe(7);
    expect(o.maps.total).toEqual({ '': 7 });
  });
});

describe('vmstat', () => {
  it('reads every counter of a snapshot (6.12.117 hugetlb run)', () => {
    const before = parseVmstat(fixture('6.12.117', 'hugetlb', 'vmstat-before.txt'));
    expect(Object.keys(before).length).toBeGreaterThan(50);
    expect(before.nr_free_pages).toBeGreaterThan(0);
  });
});
