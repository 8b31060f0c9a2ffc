import { describe, expect, it } from 'vitest';
import { changePct, fmtSpread, leavesBaseline, movement, spreadOf } from '../../lab/report/noise.ts';

describe('the noise model', () => {
  it('spreads: min, median (mean of the middle two when even), max', () => {
    expect(spreadOf([5, 1, 3])).toEqual({ n: 3, min: 1, median: 3, max: 5 });
    expect(spreadOf([4, 1, 3, 2])).toEqual({ n: 4, min: 1, median: 2.5, max: 4 });
    expect(spreadOf([])).toBeUndefined();
  });

  it('flags only spreads apart whose median moved beyond the threshold', () => {
    const a = spreadOf([100, 110, 120])!;
    expect(movement(a, spreadOf([200, 210, 220])!, 10)).toBe('changed');
    // moved 50 % but the spreads overlap: noise
    expect(movement(a, spreadOf([115, 180, 300])!, 10)).toBe('noise');
    // apart but within the threshold
    expect(movement(spreadOf([100, 100, 100])!, spreadOf([105, 105, 105])!, 10)).toBe('same');
    // one sample on a side: no noise estimate, never flagged
    expect(movement(a, spreadOf([500])!, 10)).toBe('unsure');
    expect(movement(spreadOf([500])!, a, 10)).toBe('unsure');
  });

  it('measures moves from 0 as 100 %', () => {
    expect(changePct(spreadOf([0, 0])!, spreadOf([3, 4])!)).toBe(100);
    expect(changePct(spreadOf([0, 0])!, spreadOf([0, 0])!)).toBe(0);
  });

  it("gates a spread that lies wholly outside the baseline's, widened by the tolerance; a one-sample baseline gates nothing", () => {
    const base = spreadOf([100, 110, 120])!;
    expect(leavesBaseline(base, spreadOf([131, 140])!, 10)).toBe(false); // 120 + 11 = 131: not beyond
    expect(leavesBaseline(base, spreadOf([132, 140])!, 10)).toBe(true);
    expect(leavesBaseline(base, spreadOf([88])!, 10)).toBe(true);
    expect(leavesBaseline(base, spreadOf([60, 115])!, 10)).toBe(false);
    expect(leavesBaseline(spreadOf([100])!, spreadOf([1000])!, 10)).toBe(false);
    // near 0 the slack is at least 1
    expect(leavesBaseline(spreadOf([0, 0])!, spreadOf([1])!, 10)).toBe(false);
    expect(leavesBaseline(spreadOf([0, 0])!, spreadOf([2])!, 10)).toBe(true);
  });

  it('prints a spread as median [min..max]', () => {
    expect(fmtSpread(spreadOf([1000, 1200, 33380]))).toBe('1,200 [1,000..33,380]');
    expect(fmtSpread(spreadOf([7]))).toBe('7');
    expect(fmtSpread(spreadOf([7, 7]))).toBe('7 (n=2)');
    expect(fmtSpread(undefined)).toBe('-');
  });
});
