/**
 * The noise model of `lab report`: repetitions of a kernel (several runs, or
 * `--repeat N`) give each metric a spread, and a metric counts as changed
 * between two kernels only when their spreads do not overlap AND the median
 * moved by more than the threshold. With one sample on either side there is
 * no noise estimate: a move is reported as such, never flagged.
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

export function movement(a: Spread, b: Spread, thresholdPct: number): Movement {
  if (Math.abs(changePct(a, b)) <= thresholdPct) return 'same';
  if (a.n < 2 || b.n < 2) return 'unsure';
  return b.min > a.max || b.max < a.min ? 'changed' : 'noise';
}

/**
 * The baseline gate's metric rule: the new spread lies wholly outside the
 * baseline's, widened on both sides by tolerancePct of the baseline's median
 * (at least 1, so counts near 0 may move by one). A baseline of one sample
 * has no noise estimate and gates nothing.
 */
export function leavesBaseline(base: Spread, next: Spread, tolerancePct: number): boolean {
  if (base.n < 2) return false;
  const slack = Math.max(1, (Math.abs(base.median) * tolerancePct) / 100);
  return next.min > base.max + slack || next.max < base.min - slack;
}

export const fmtSpread = (s: Spread | undefined): string =>
  !s ? '-' : s.n === 1 || s.min === s.max ? fmtNum(s.median) + (s.n > 1 ? ` (n=${s.n})` : '') : `${fmtNum(s.median)} [${fmtNum(s.min)}..${fmtNum(s.max)}]`;

export const fmtNum = (v: number): string => (Number.isInteger(v) ? v.toLocaleString('en-US') : (Math.round(v * 100) / 100).toLocaleString('en-US'));
