/**
 * The noise model of `lab report`: repetitions of a kernel (several runs, or
 * `--repeat N`) give each metric a spread, and a metric counts as changed
 * between two kernels only when their spreads do not overlap AND the median
 * moved by more than the threshold. With one sample on either side, the
 * shipped noise profile (kernels/noise.yaml: how far each metric family moved
 * from run to run on each kernel series, measured) judges instead: a move far
 * beyond it is flagged. Counts are counts: a small one moves by a few events
 * whatever its history (a Poisson-style bound of 3 sqrt(median), at least 1).
 */

export interface Spread {
  n: number;
  min: number;
  median: number;
  max: number;
}

/**
 * changed: flagged (spreads apart, median moved beyond the threshold);
 * noise: the median moved beyond the threshold but the spreads overlap;
 * unsure: moved beyond the threshold, one side has a single sample (no noise estimate);
 * same: the median moved by no more than the threshold.
 */
export type Movement = 'changed' | 'noise' | 'unsure' | 'same';

export function spreadOf(values: readonly number[]): Spread | undefined {
  if (!values.length) return undefined;
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return { n: v.length, min: v[0]!, median: v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2, max: v.at(-1)! };
}

/** Relative move of the median in percent; from 0, any move counts as 100 %. */
export function changePct(a: Spread, b: Spread): number {
  if (a.median === 0) return b.median === 0 ? 0 : Math.sign(b.median) * 100;
  return ((b.median - a.median) / Math.abs(a.median)) * 100;
}

/**
 * How a metric family moves from run to run on one kernel, as measured: the
 * largest half-range relative to the median among metrics of at least
 * REL_FLOOR_MEDIAN, and the largest absolute half-range among smaller ones.
 */
export interface NoiseBand {
  rel: number;
  abs: number;
  /** How many (scenario, metric) spreads it was measured on. */
  spreads?: number;
}

/** The shipped profile: per family (a metric with its orders as [N]), for all series and per series where they differ. */
export interface NoiseProfile {
  file: string;
  families: Record<string, { all: NoiseBand; series?: Record<string, NoiseBand>; scenarios?: Record<string, NoiseBand> }>;
}

/** Below this median, a spread is counted as absolute noise; from it, as relative. */
export const REL_FLOOR_MEDIAN = 50;

/** For a family the profile does not know: a quarter either way, or 5 events. */
export const UNKNOWN_BAND: NoiseBand = { rel: 0.25, abs: 5 };

/** The family of a metric: `bpf.set[9]` -> `bpf.set[N]`, `vmstat.pgfree.delta` as it is. */
export function familyOf(metric: string): string {
  return metric.replace(/\[[^\]]*\]/g, '[N]');
}

/** The band for a metric: measured on its scenario, else on its kernel series, else over everything; else UNKNOWN_BAND. */
export function bandFor(profile: NoiseProfile | undefined, metric: string, series?: string, scenario?: string): { band: NoiseBand; from: string } {
  const family = familyOf(metric);
  const f = profile?.families[family];
  const byScenario = scenario ? f?.scenarios?.[scenario] : undefined;
  if (byScenario) return { band: byScenario, from: `profile ${family} in ${scenario}` };
  const bySeries = series ? f?.series?.[series] : undefined;
  if (bySeries) return { band: bySeries, from: `profile ${family} on ${series}` };
  if (f) return { band: f.all, from: `profile ${family}` };
  return { band: UNKNOWN_BAND, from: `no profile for ${family}, so +-${UNKNOWN_BAND.rel * 100} % or ${UNKNOWN_BAND.abs}` };
}

/** A count's own bound: 3 sqrt(median), at least 1 (14 -> 17 is a few events, not a regression). */
export const countSlack = (median: number): number => Math.max(1, 3 * Math.sqrt(Math.abs(median)));

/** How far from the median the known noise reaches: twice the measured half-range, and the count's own bound. */
function profileSlack(median: number, band: NoiseBand): number {
  return Math.max(2 * band.rel * Math.abs(median), 2 * band.abs, countSlack(median));
}

export function movement(a: Spread, b: Spread, thresholdPct: number, band?: NoiseBand): Movement {
  if (Math.abs(changePct(a, b)) <= thresholdPct) return 'same';
  if (a.n < 2 || b.n < 2) {
    if (!band) return 'unsure';
    return Math.abs(b.median - a.median) > profileSlack(a.median, band) ? 'changed' : 'noise';
  }
  return b.min > a.max || b.max < a.min ? 'changed' : 'noise';
}

/** The baseline's own spread judges from this many samples (nights x repetitions); fewer: the shipped profile. */
const OWN_SPREAD_MIN_SAMPLES = 3;

export interface GateJudgement {
  left: boolean;
  /** 'baseline': its own spread, widened by the tolerance and the count bound; 'profile': its median +- the shipped profile. */
  model: 'baseline' | 'profile';
  low: number;
  high: number;
  /** In words, for the report: which model, and the band it allowed. */
  basis: string;
}

/**
 * The baseline gate's metric rule: the new spread lies wholly outside the band
 * the baseline allows. From OWN_SPREAD_MIN_SAMPLES samples, the band is the
 * baseline's own [min, max] widened by the larger of the tolerance, the count
 * bound and the profile's reach; with fewer (one night of single runs), it is
 * the baseline's median +- the same. The profile widens the own spread too: a
 * few nights rarely show a workload's whole range (stress-ng-vm's order-0
 * sets are 4, 3 or 2 passes of its mapping in its 3 s: 66,8xx, 50,40x or
 * 33,96x on 13 nights of one 6.12.117 kernel, and five nights in a row may
 * show only the first two).
 */
export function gateMetric(base: Spread, next: Spread, tolerancePct: number, band: { band: NoiseBand; from: string }): GateJudgement {
  const tolerance = (Math.abs(base.median) * tolerancePct) / 100;
  let low: number;
  let high: number;
  let model: GateJudgement['model'];
  let basis: string;
  const slack = Math.max(tolerance, profileSlack(base.median, band.band));
  const shown = fmtNum(Math.round(slack * 10) / 10);
  if (base.n >= OWN_SPREAD_MIN_SAMPLES) {
    [low, high, model] = [base.min - slack, base.max + slack, 'baseline'];
    basis = `baseline spread (n=${base.n}) +- ${shown} (${band.from})`;
  } else {
    [low, high, model] = [base.median - slack, base.median + slack, 'profile'];
    basis = `${band.from} (n=${base.n}): +- ${shown}`;
  }
  return { left: next.min > high || next.max < low, model, low, high, basis };
}

export const fmtSpread = (s: Spread | undefined): string =>
  !s ? '-' : s.n === 1 || s.min === s.max ? fmtNum(s.median) + (s.n > 1 ? ` (n=${s.n})` : '') : `${fmtNum(s.median)} [${fmtNum(s.min)}..${fmtNum(s.max)}]`;

export const fmtNum = (v: number): string => (Number.isInteger(v) ? v.toLocaleString('en-US') : (Math.round(v * 100) / 100).toLocaleString('en-US'));
