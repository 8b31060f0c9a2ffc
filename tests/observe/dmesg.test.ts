import { describe, expect, it } from 'vitest';
import { parseDmesg } from '../../lab/observe/dmesg.ts';
import { fixture } from '../helpers/fixtures.ts';

describe('parseDmesg', () => {
  it('reads the page_owner boot lines of a real 6.12.117 guest', () => {
    const facts = parseDmesg(fixture('6.12.117', 'hugetlb', 'dmesg.txt'));
    expect(facts.pageExtBytes).toBe(18874368);
    expect(facts.earlyAllocatedPages).toBeGreaterThanOrEqual(4689);
    expect(facts.pageOwnerDisabled).toBe(false);
    expect(facts.kernelErrors).toEqual([]);
  });

  it('sums early allocated pages over zones and collects kernel errors', () => {
    const facts = parseDmesg(
      [
        '[    0.2] Node 0, zone      DMA: page owner found early allocated 10 pages',
        '[    0.2] Node 0, zone    DMA32: page owner found early allocated 4689 pages',
        '[   12.0] WARNING: CPU: 0 PID: 1 at mm/page_alloc.c:1 foo+0x1/0x2',
        '[    0.1] page_owner is disabled',
      ].join('\n'),
    );
    expect(facts.earlyAllocatedPages).toBe(4699);
    expect(facts.pageOwnerDisabled).toBe(true);
    expect(facts.kernelErrors).toEqual(['[   12.0] WARNING: CPU: 0 PID: 1 at mm/page_alloc.c:1 foo+0x1/0x2']);
  });
});
