/** The shape of bench/results/<date>.json, checked by the bench's smoke test in CI. */
import { z } from 'zod';

export const MeasureSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  unit: z.enum(['s', 'MiB']),
  samples: z.array(z.number()),
  median: z.number().nullable(),
  min: z.number().nullable(),
  max: z.number().nullable(),
  /** max - min over the samples. */
  spread: z.number().nullable(),
  target: z.string().optional(),
  /** Whether the median meets the target; absent without a target or without samples. */
  met: z.boolean().optional(),
  /** Why it was not measured (smoke mode, no --cold, no VNG_DIR ...). */
  skipped: z.string().optional(),
  note: z.string().optional(),
});
export type Measure = z.infer<typeof MeasureSchema>;

export const ScaleRowSchema = z.strictObject({
  kernels: z.array(z.string()),
  jobs: z.number().int().positive(),
  scenarios: z.number().int().nonnegative(),
  wallS: z.number(),
  status: z.string(),
});

export const BenchResultSchema = z.strictObject({
  date: z.string(),
  git: z.strictObject({ revision: z.string(), dirty: z.boolean() }),
  machine: z.strictObject({
    accel: z.enum(['kvm', 'tcg']),
    accelReason: z.string(),
    /** Under TCG: one host thread for all vCPUs or one each (absent in results from before the setting). */
    tcgThreads: z.enum(['auto', 'single', 'multi']).optional(),
    cores: z.number().int().positive(),
    memoryGiB: z.number(),
    qemu: z.string(),
    node: z.string(),
    loadAverageAtStart: z.number(),
  }),
  kernel: z.string(),
  runs: z.number().int().positive(),
  smoke: z.boolean(),
  measures: z.array(MeasureSchema),
  scale: z.array(ScaleRowSchema),
  vng: z
    .strictObject({ dir: z.string(), revision: z.string(), kernel: z.string(), labMedianS: z.number().nullable(), vngMedianS: z.number().nullable(), ratio: z.number().nullable(), note: z.string() })
    .optional(),
});
export type BenchResult = z.infer<typeof BenchResultSchema>;

/** Median, range and spread of some samples (null when there are none). */
export function summarize(samples: number[]): Pick<Measure, 'median' | 'min' | 'max' | 'spread'> {
  if (samples.length === 0) return { median: null, min: null, max: null, spread: null };
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s.at(-1)!, spread: s.at(-1)! - s[0]! };
}

/** "< 3 s", ">= 8x": does the value meet it? */
export function meets(target: string, value: number): boolean {
  const m = /^(<=|<|>=|>)\s*([\d.]+)/.exec(target);
  if (!m) throw new Error(`bad target ${JSON.stringify(target)}`);
  const t = Number(m[2]);
  return m[1] === '<' ? value < t : m[1] === '<=' ? value <= t : m[1] === '>' ? value > t : value >= t;
}
