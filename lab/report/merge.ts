/**
 * Shards of one kernel build (CI jobs that each ran part of the scenarios)
 * combined into one run, so reports see one run per kernel. Scenarios are
 * concatenated, boots and stage times kept (stage times summed, as a run sums
 * a stage that runs more than once), and the status recomputed.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../core/errors.ts';
import { RESULT_SCHEMA_VERSION, runStatus, type RunResult } from './result.ts';

export interface Shard {
  /** The results folder (or result.json) it was read from. */
  path: string;
  run: RunResult;
}

const folderOf = (path: string) => (path.endsWith('.json') ? dirname(path) : path);
const describe = (s: Shard) => `${s.path} (${s.run.kernel ? `${s.run.kernel.release}, key ${s.run.kernel.cacheKey.slice(0, 16)}` : `${s.run.kernelSpec}, not built`}, flavor ${s.run.flavor})`;

/** Shards must come from one kernel build: the same cache key, or (for a shard that failed before its build) the same spec and flavor. */
function checkSameKernel(shards: Shard[]): void {
  const built = shards.filter((s) => s.run.kernel);
  for (const s of built.slice(1)) {
    if (s.run.kernel!.cacheKey !== built[0]!.run.kernel!.cacheKey) {
      throw new InputError('RUNS_NOT_MERGEABLE', `lab merge: ${describe(built[0]!)} and ${describe(s)} are different kernel builds (cache keys differ); merge shards of one kernel build`, {
        value: s.path,
      });
    }
  }
  const first = shards[0]!;
  for (const s of shards.slice(1)) {
    if (s.run.kernelSpec !== first.run.kernelSpec || s.run.flavor !== first.run.flavor) {
      throw new InputError('RUNS_NOT_MERGEABLE', `lab merge: ${describe(first)} and ${describe(s)} are different kernels (spec or flavor differ); merge shards of one kernel build`, { value: s.path });
    }
  }
  const seen = new Map<string, string>();
  for (const s of shards) {
    for (const sc of s.run.scenarios) {
      const key = sc.repetition ? `${sc.name} #${sc.repetition}` : sc.name;
      const other = seen.get(key);
      if (other) {
        throw new InputError('RUNS_NOT_MERGEABLE', `lab merge: scenario ${key} is in both ${other} and ${s.path}; shards hold disjoint scenarios (give repeated runs to lab report as runs of their own)`, {
          value: s.path,
        });
      }
      seen.set(key, s.path);
    }
  }
}

/** The merged record; scenario folders are expected under `outDir/scenarios/` (copyScenarioFolders puts them there). */
export function mergeRuns(shards: Shard[], runId: string, outDir: string): RunResult {
  if (shards.length === 0) throw new InputError('BAD_OPTION', 'lab merge: no results folder given');
  checkSameKernel(shards);
  const runs = shards.map((s) => s.run);
  const first = runs[0]!;
  const withGuest = runs.filter((r) => r.guest);
  const errors = shards.filter((s) => s.run.error);
  const stages: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.stages)) stages[k] = (stages[k] ?? 0) + v;
  const merged: RunResult = {
    schemaVersion: RESULT_SCHEMA_VERSION,
    runId,
    status: 'ERROR',
    startedAt: runs.map((r) => r.startedAt).sort()[0]!,
    finishedAt: runs.map((r) => r.finishedAt ?? r.startedAt).sort().at(-1),
    kernelSpec: first.kernelSpec,
    flavor: first.flavor,
    kernel: runs.find((r) => r.kernel)?.kernel,
    image: runs.find((r) => r.image)?.image,
    guest: withGuest[0] && {
      ...withGuest[0].guest!,
      boots: withGuest.reduce((n, r) => n + r.guest!.boots, 0),
      kernelErrors: withGuest.flatMap((r) => r.guest!.kernelErrors),
    },
    module: runs.find((r) => r.module)?.module,
    boots: runs.flatMap((r) => r.boots),
    stages,
    ...(first.repeat && runs.every((r) => r.repeat === first.repeat) ? { repeat: first.repeat } : {}),
    scenarios: shards.flatMap((s) => s.run.scenarios.map((sc) => ({ ...sc, resultsDir: join(outDir, 'scenarios', basename(sc.resultsDir)) }))),
    ...(errors.length
      ? {
          error: {
            ...errors[0]!.run.error!,
            message: errors.length > 1 ? `${errors[0]!.run.error!.message} (and ${errors.length - 1} more: ${errors.slice(1).map((s) => s.run.runId).join(', ')})` : errors[0]!.run.error!.message,
          },
        }
      : {}),
    ...(runs.some((r) => r.reporterErrors?.length) ? { reporterErrors: runs.flatMap((r) => r.reporterErrors ?? []) } : {}),
    mergedFrom: shards.map((s) => ({ runId: s.run.runId, path: folderOf(s.path) })),
  };
  merged.status = runStatus(merged);
  return merged;
}

/** Each scenario's folder (guest commands, observer output) copied from its shard, so the merged run stands on its own. */
export async function copyScenarioFolders(shards: Shard[], outDir: string): Promise<void> {
  await mkdir(join(outDir, 'scenarios'), { recursive: true });
  for (const s of shards) {
    for (const sc of s.run.scenarios) {
      // the recorded path is the machine's that ran the shard; the folder sits in the shard's results folder here
      const from = join(folderOf(s.path), 'scenarios', basename(sc.resultsDir));
      if (existsSync(from)) await cp(from, join(outDir, 'scenarios', basename(sc.resultsDir)), { recursive: true });
    }
  }
}
