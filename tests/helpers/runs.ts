import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../lab/core/paths.ts';
import type { ReportInput } from '../../lab/report/report.ts';
import type { RunResult } from '../../lab/report/result.ts';

/**
 * Real nights: `lab run --kernel 6.12 --scenario hugetlb --scenario stress-ng-vm
 * --scenario idle-baseline`, run one after another on the same 6.12.117 kernel
 * (each a process of its own, its guest restored from the saved one), their
 * result.json kept unedited in tests/fixtures/nights/6.12.117/.
 */
export const NIGHTS_DIR = join(repoRoot, 'tests', 'fixtures', 'nights', '6.12.117');

export function nights(): ReportInput[] {
  return readdirSync(NIGHTS_DIR)
    .filter((f) => /^night-\d+\.json$/.test(f))
    .sort()
    .map((f) => ({ source: join(NIGHTS_DIR, f), result: JSON.parse(readFileSync(join(NIGHTS_DIR, f), 'utf8')) as RunResult }));
}

/** The same run with every observed count multiplied by `k` (what a gate must catch). */
export function scaled(input: ReportInput, k: number): ReportInput {
  const r = structuredClone(input.result);
  r.runId = `${r.runId}-x${k}`;
  for (const s of r.scenarios) {
    for (const e of [...(s.judgement?.expectations ?? []), ...(s.checks?.expectations ?? [])]) for (const key of Object.keys(e.values)) e.values[key]! *= k;
    for (const row of s.observations.module?.rows ?? []) Object.assign(row, { seen: row.seen * k, recorded: row.recorded * k });
    for (const map of Object.values(s.observations.bpf?.maps ?? {})) for (const key of Object.keys(map as Record<string, number>)) (map as Record<string, number>)[key]! *= k;
  }
  return { ...input, result: r };
}
