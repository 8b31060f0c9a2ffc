/**
 * The shipped noise profile (kernels/noise.yaml): how far each metric family
 * moved from run to run on each kernel series, measured from repeated runs of
 * real kernels (`lab noise-profile RUN...` writes it). `lab report` judges a
 * single sample by it: a one-night baseline, or kernels compared one run each.
 */
import { readFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { InputError } from '../core/errors.ts';
import { seriesOf } from '../kernel/inputs.ts';
import type { MetricRegistry } from '../metrics/registry.ts';
import { familyOf, REL_FLOOR_MEDIAN, spreadOf, type NoiseBand, type NoiseProfile } from './noise.ts';
import { groupInputs, metricSamples, type ReportInput } from './report.ts';

const Band = z.strictObject({ rel: z.number().nonnegative(), abs: z.number().nonnegative(), spreads: z.number().int().positive().optional() });
const ProfileFile = z.strictObject({
  measured: z.strictObject({
    command: z.string(),
    at: z.string(),
    runs: z.array(z.strictObject({ runId: z.string(), release: z.string(), scenarios: z.array(z.string()), samples: z.number().int() })),
  }),
  families: z.record(z.string(), z.strictObject({ all: Band, series: z.record(z.string(), Band).optional(), scenarios: z.record(z.string(), Band).optional() })),
});
type ProfileFile = z.infer<typeof ProfileFile>;

export async function loadNoiseProfile(file: string): Promise<NoiseProfile> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new InputError('FILE_NOT_FOUND', `--noise-profile ${file}: cannot read it; expected a noise profile (lab noise-profile writes one) or "none"`, { value: file });
  });
  const r = ProfileFile.safeParse(parse(text));
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new InputError('BAD_DATA_FILE', `${file}: ${issue.path.join('.') || '(top)'}: ${issue.message}`, { file });
  }
  return { file, families: r.data.families };
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * Every (kernel, scenario, metric) with at least 3 samples gives a spread:
 * from a median of REL_FLOOR_MEDIAN on, its half-range relative to the median
 * counts for `rel`; below, its half-range counts for `abs`. A family's band is
 * the largest of each over its spreads: over everything, per series and per
 * scenario (an entry only where it differs from the whole: module-filter's
 * order-0 counts move by half from run to run, hugetlb's by a few percent).
 */
export function measureProfile(inputs: readonly ReportInput[], registry: MetricRegistry, command: string, at = new Date()): ProfileFile {
  type Acc = NoiseBand & { spreads: number };
  const perSeries = new Map<string, Map<string, Acc>>();
  const perScenario = new Map<string, Map<string, Acc>>();
  const add = (m: Map<string, Acc>, family: string, median: number, half: number) => {
    const b = m.get(family) ?? { rel: 0, abs: 0, spreads: 0 };
    if (Math.abs(median) >= REL_FLOOR_MEDIAN) b.rel = Math.max(b.rel, half / Math.abs(median));
    else b.abs = Math.max(b.abs, half);
    b.spreads++;
    m.set(family, b);
  };
  const runs: ProfileFile['measured']['runs'] = [];
  for (const g of groupInputs(inputs, 'kernel')) {
    const series = seriesOf(g.column.release);
    const bands = perSeries.get(series) ?? new Map<string, Acc>();
    perSeries.set(series, bands);
    const names = [...new Set(g.inputs.flatMap((i) => i.result.scenarios.map((s) => s.name)))].sort();
    let samples = 0;
    for (const name of names) {
      for (const [metric, values] of metricSamples(g, name, registry)) {
        const s = spreadOf(values.map((v) => v.value));
        if (!s || s.n < 3) continue;
        samples += s.n;
        const half = (s.max - s.min) / 2;
        add(bands, familyOf(metric), s.median, half);
        const byScenario = perScenario.get(name) ?? new Map<string, Acc>();
        perScenario.set(name, byScenario);
        add(byScenario, familyOf(metric), s.median, half);
      }
    }
    for (const i of g.inputs) runs.push({ runId: i.result.runId, release: g.column.release, scenarios: [...new Set(i.result.scenarios.map((s) => s.name))].sort(), samples: i.result.scenarios.length });
    if (!samples) bands.clear();
  }
  const families: ProfileFile['families'] = {};
  const names = [...new Set([...perSeries.values()].flatMap((m) => [...m.keys()]))].sort();
  for (const family of names) {
    const entries = [...perSeries].flatMap(([series, m]) => (m.get(family) ? [[series, m.get(family)!] as const] : []));
    const all = { rel: round(Math.max(...entries.map(([, b]) => b.rel)), 4), abs: round(Math.max(...entries.map(([, b]) => b.abs)), 1), spreads: entries.reduce((a, [, b]) => a + b.spreads, 0) };
    const differing = (list: (readonly [string, Acc])[]) =>
      Object.fromEntries(
        list.map(([name, b]) => [name, { rel: round(b.rel, 4), abs: round(b.abs, 1), spreads: b.spreads }] as const).filter(([, b]) => b.rel !== all.rel || b.abs !== all.abs),
      );
    const series = differing(entries);
    const scenarios = differing([...perScenario].flatMap(([name, m]) => (m.get(family) ? [[name, m.get(family)!] as const] : [])));
    families[family] = { all, ...(Object.keys(series).length ? { series } : {}), ...(Object.keys(scenarios).length ? { scenarios } : {}) };
  }
  return { measured: { command, at: at.toISOString(), runs }, families };
}

export function renderProfile(p: ProfileFile): string {
  return `# The noise profile of lab report: how far each metric family moved from run to run on one kernel.
# rel: the largest half-range / median among spreads with a median of ${REL_FLOOR_MEDIAN} or more; abs: the largest
# half-range among smaller ones; spreads: how many (kernel, scenario, metric) spreads of 3+ samples it saw.
# The gate allows a one-night baseline's median +- max(2 rel median, 2 abs, 3 sqrt(median), tolerance).
# Generated: do not edit; regenerate from repeated runs of real kernels with the command under measured.
${stringify(p, { lineWidth: 0 })}`;
}
