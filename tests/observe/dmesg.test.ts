import { describe, expect, it } from 'vitest';
import { parseDmesg } from '../../lab/observe/dmesg.ts';
import { KERNEL_ERROR_PATTERNS, kernelReport } from '../../lab/observe/kernel-errors.ts';
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

  it('keeps the whole report of a real 6.12.117 oops: the error, the faulting function and the frames', () => {
    const console = fixture('6.12.117', 'memcg-dump', 'console.log').split('\n');
    const first = console.find((l) => KERNEL_ERROR_PATTERNS.some((p) => p.test(l)))!;
    expect(first).toMatch(/BUG: unable to handle page fault for address/);
    const report = kernelReport(console, first).join('\n');
    expect(report).toMatch(/RIP: 0010:print_page_owner\+0x1b0\/0x275/);
    expect(report).toMatch(/read_page_owner\+/);
    expect(report).toMatch(/---\[ end (trace|Kernel panic)/);
    expect(kernelReport(['a', 'b'], 'not there')).toEqual(['not there']);
  });
});
