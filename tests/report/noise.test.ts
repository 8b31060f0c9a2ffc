import { describe, expect, it } from 'vitest';
import { bandFor, changePct, countSlack, familyOf, fmtSpread, gateMetric, movement, spreadOf, UNKNOWN_BAND, type NoiseProfile } from '../../lab/report/noise.ts';

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
    // one sample on a side and no profile: no noise estimate, never flagged
    expect(movement(a, spreadOf([500])!, 10)).toBe('unsure');
    expect(movement(spreadOf([500])!, a, 10)).toBe('unsure');
  });

  it('with one sample a side, the profile judges: far beyond the known noise is flagged, within it is noise', () => {
    const band = { rel: 0.05, abs: 3 };
    // balance's order-1 sets, one run each: 253 on 6.6.87, 330 on 6.12.117, 19 on 7.3.4
    expect(movement(spreadOf([253])!, spreadOf([330])!, 10, band)).toBe('changed');
    expect(movement(spreadOf([330])!, spreadOf([19])!, 10, band)).toBe('changed');
    // 1000 -> 1090: 9 % beyond the 10 % threshold? no: same; 1000 -> 1120 within 2 x 5 % = 100? no: changed
    expect(movement(spreadOf([1000])!, spreadOf([1090])!, 10, band)).toBe('same');
    expect(movement(spreadOf([1000])!, spreadOf([1120])!, 10, band)).toBe('changed');
    expect(movement(spreadOf([1000])!, spreadOf([1120])!, 10, { rel: 0.1, abs: 3 })).toBe('noise');
  });

  it('measures moves from 0 as 100 %', () => {
    expect(changePct(spreadOf([0, 0])!, spreadOf([3, 4])!)).toBe(100);
    expect(changePct(spreadOf([0, 0])!, spreadOf([0, 0])!)).toBe(0);
  });

  const profile: NoiseProfile = { file: 'noise.yaml', families: { 'bpf.set[N]': { all: { rel: 0.05, abs: 4 }, series: { '6.1': { rel: 0.2, abs: 4 } } } } };

  it('families drop the order; the profile answers per series, per family, else with a wide default', () => {
    expect(familyOf('bpf.set[9]')).toBe('bpf.set[N]');
    expect(familyOf('bpf.migrate[compaction]')).toBe('bpf.migrate[N]');
    expect(familyOf('vmstat.pgfree.delta')).toBe('vmstat.pgfree.delta');
    expect(bandFor(profile, 'bpf.set[0]', '6.1')).toEqual({ band: { rel: 0.2, abs: 4 }, from: 'profile bpf.set[N] on 6.1' });
    expect(bandFor(profile, 'bpf.set[0]', '6.12')).toEqual({ band: { rel: 0.05, abs: 4 }, from: 'profile bpf.set[N]' });
    expect(bandFor(profile, 'module.seen[0]', '6.12').band).toEqual(UNKNOWN_BAND);
  });

  it('counts are counts: a small one may move by a few events (3 sqrt, at least 1)', () => {
    expect(countSlack(0)).toBe(1);
    expect(countSlack(14)).toBeCloseTo(11.22, 2);
    expect(countSlack(10000)).toBe(300);
  });

  it("gates on the baseline's own spread from 3 samples, widened by the tolerance, the count bound or the profile's reach", () => {
    const base = spreadOf([100, 110, 120])!;
    const p = bandFor(profile, 'bpf.set[0]', '6.12');
    // slack max(10 % of 110 = 11, 3 sqrt 110 = 31.5) = 31.5
    expect(gateMetric(base, spreadOf([151])!, 10, p)).toMatchObject({ left: false, model: 'baseline' });
    expect(gateMetric(base, spreadOf([152, 160])!, 10, p)).toMatchObject({ left: true, model: 'baseline' });
    expect(gateMetric(base, spreadOf([60, 115])!, 10, p).left).toBe(false);
    // the unchanged night that failed before: bpf.reset[2] 17 against 14 [14..15]
    expect(gateMetric(spreadOf([14, 14, 15])!, spreadOf([17])!, 10, p).left).toBe(false);
    // near 0 a count may move by one, or by what the profile measured for its family (abs 4: twice that)
    const quiet = { band: { rel: 0, abs: 0 }, from: 'profile x' };
    expect(gateMetric(spreadOf([0, 0, 0])!, spreadOf([1])!, 10, quiet).left).toBe(false);
    expect(gateMetric(spreadOf([0, 0, 0])!, spreadOf([2])!, 10, quiet).left).toBe(true);
    expect(gateMetric(spreadOf([0, 0, 0])!, spreadOf([8])!, 10, p).left).toBe(false);
    expect(gateMetric(spreadOf([0, 0, 0])!, spreadOf([9])!, 10, p).left).toBe(true);
  });

  it('a one-night baseline is judged by the shipped profile: x10 leaves it, a night within the known noise does not', () => {
    const p = bandFor(profile, 'bpf.set[0]', '6.12');
    const one = spreadOf([66833])!;
    expect(gateMetric(one, spreadOf([668330])!, 10, p)).toMatchObject({ left: true, model: 'profile' });
    expect(gateMetric(one, spreadOf([6683])!, 10, p).left).toBe(true);
    // 66,833 +- max(10 % tolerance, 2 x 5 %, 3 sqrt) = +- 6,683
    expect(gateMetric(one, spreadOf([72000])!, 10, p).left).toBe(false);
    expect(gateMetric(one, spreadOf([74000])!, 10, p).left).toBe(true);
    expect(gateMetric(one, spreadOf([74000])!, 10, p).basis).toBe('profile bpf.set[N] (n=1): +- 6,683.3');
  });

  it('prints a spread as median [min..max]', () => {
    expect(fmtSpread(spreadOf([1000, 1200, 33380]))).toBe('1,200 [1,000..33,380]');
    expect(fmtSpread(spreadOf([7]))).toBe('7');
    expect(fmtSpread(spreadOf([7, 7]))).toBe('7 (n=2)');
    expect(fmtSpread(undefined)).toBe('-');
  });
});
