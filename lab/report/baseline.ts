/**
 * The nightly baseline as a folder the CI engine keeps between nights:
 * BASELINE/<series>-<flavor>/<run-id>/result.json (and kernel.config), the
 * newest N clean nights per kernel series. A clean, complete night is kept
 * (`lab baseline keep`); an intended change (a new stable release that rightly
 * moves a count) replaces the nights with tonight's, recorded with who accepted
 * it and why (`lab baseline accept`, BASELINE/<series>-<flavor>/accepted.json).
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../core/errors.ts';
import { seriesOf } from '../kernel/inputs.ts';
import { expandRuns } from './make-report.ts';
import { readRunResult, type RunResult } from './result.ts';

interface Acceptance {
  runId: string;
  by: string;
  why: string;
  at: string;
}

/** The folder of a run's kernel series and flavor: 6.12.117 lab -> 6.12-lab. */
export function baselineGroup(r: Pick<RunResult, 'kernelSpec' | 'flavor' | 'kernel'>): string {
  const release = r.kernel?.release ?? r.kernelSpec;
  return `${seriesOf(release)}-${r.flavor ?? 'lab'}`;
}

async function copyRun(dir: string, r: RunResult, into: string): Promise<string> {
  const dest = join(into, baselineGroup(r), r.runId);
  const tmp = `${dest}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await copyFile(join(dir, 'result.json'), join(tmp, 'result.json'));
  if (existsSync(join(dir, 'kernel.config'))) await copyFile(join(dir, 'kernel.config'), join(tmp, 'kernel.config'));
  await rm(dest, { recursive: true, force: true });
  await rename(tmp, dest);
  return dest;
}

/** The nights of one group, newest first. */
async function nightsOf(groupDir: string): Promise<{ dir: string; startedAt: string }[]> {
  const names = await readdir(groupDir, { withFileTypes: true }).catch(() => []);
  const out: { dir: string; startedAt: string }[] = [];
  for (const e of names.filter((n) => n.isDirectory())) {
    const r = await readFile(join(groupDir, e.name, 'result.json'), 'utf8')
      .then((t) => JSON.parse(t) as { startedAt?: string })
      .catch(() => undefined);
    if (r?.startedAt) out.push({ dir: join(groupDir, e.name), startedAt: r.startedAt });
  }
  return out.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}

async function runsOf(paths: string[]): Promise<{ dir: string; result: RunResult }[]> {
  const dirs = (await Promise.all(paths.map(expandRuns))).flat();
  return Promise.all(dirs.map(async (dir) => ({ dir: dir.endsWith('.json') ? join(dir, '..') : dir, result: await readRunResult(dir) })));
}

/** Tonight's runs join the baseline; each group keeps its newest `nights`. Returns the groups written. */
export async function keepNight(runs: string[], into: string, nights: number): Promise<{ group: string; nights: number }[]> {
  if (!Number.isInteger(nights) || nights < 1) throw new InputError('BAD_OPTION', `--nights ${nights}: expected a whole number from 1`, { value: String(nights) });
  const out: { group: string; nights: number }[] = [];
  for (const { dir, result } of await runsOf(runs)) {
    if (result.status === 'ERROR') throw new InputError('BAD_RESULT_FILE', `${dir}: an ERROR run (${result.error?.code ?? 'a scenario ERROR'}) never becomes a baseline`, { value: dir });
    await copyRun(dir, result, into);
    const group = baselineGroup(result);
    const all = await nightsOf(join(into, group));
    for (const old of all.slice(nights)) await rm(old.dir, { recursive: true, force: true });
    out.push({ group, nights: Math.min(all.length, nights) });
  }
  return out;
}

/** An intended change: tonight's runs become the whole baseline of their groups, with who accepted them and why. */
export async function acceptNight(runs: string[], into: string, a: Omit<Acceptance, 'runId' | 'at'>, at = new Date()): Promise<Acceptance[]> {
  if (!a.by.trim() || !a.why.trim()) throw new InputError('BAD_OPTION', 'lab baseline accept: --by and --why must name who accepts the change and why', {});
  const out: Acceptance[] = [];
  for (const { dir, result } of await runsOf(runs)) {
    const group = join(into, baselineGroup(result));
    await rm(group, { recursive: true, force: true });
    await copyRun(dir, result, into);
    const record = { runId: result.runId, by: a.by, why: a.why, at: at.toISOString() };
    await writeFile(join(group, 'accepted.json'), `${JSON.stringify(record, null, 2)}\n`);
    out.push(record);
  }
  return out;
}
