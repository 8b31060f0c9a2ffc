/**
 * Several kernels in one run (`lab run --kernel 6.1 --kernel 6.12 --jobs 2`):
 * one pipeline per kernel (runLab: its own results folder, guests, SSH ports
 * and per-boot tokens), up to `jobs` at a time. Kernel builds still go one at
 * a time (the machine-wide build lock of lab/kernel/build.ts): only guests
 * run side by side. A kernel that fails does not stop the others; Ctrl-C
 * stops every guest (each pipeline listens to the signal) and starts no more
 * pipelines. The run's folder holds each kernel's results folder plus
 * kernels.json, summary.md and lab.log (every kernel's lines, labelled).
 */
import { mkdir } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { basename, join, relative } from 'node:path';
import { ExitCode, isLabError, worstExitCode } from '../core/errors.ts';
import { peakRssMb } from '../core/memory.ts';
import { kernelLabel, runId } from '../core/paths.ts';
import { formatDuration } from '../core/reporter.ts';
import { DEFAULT_FLAVOR, type KernelInput } from '../kernel/inputs.ts';
import { runLab, type LabOptions, type LabRun } from './pipeline.ts';
import { KERNELS_SCHEMA_VERSION, renderKernelsSummary, scenarioVerdicts, worstStatus, type KernelRun, type KernelsRecord } from '../report/kernels.ts';
import { exitCodeOf, type RunResult } from '../report/result.ts';
import { jsonFile, textFile, writeFiles, type FileWriter } from '../report/writers.ts';

interface KernelsOptions extends Omit<LabOptions, keyof KernelInput | 'resultsDir' | 'kernelStage' | 'compiled'> {
  kernels: KernelInput[];
  /** Pipelines at once (at least 1). */
  jobs: number;
  /** The run's folder; default results/<stamp>-<kernels>-<xx>. */
  resultsDir?: string;
  /** One kernel's pipeline (tests stand one in); default runLab. */
  pipeline?: (opts: LabOptions) => Promise<LabRun>;
}

interface KernelsRun {
  record: KernelsRecord;
  /** Each kernel's result, in the order given (undefined: it failed before it had one, or never started). */
  results: (RunResult | undefined)[];
  dir: string;
}

/** Runs `fn` over `items`, at most `limit` at once, results in the order of the items. */
export async function eachLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** What several kernels' run leaves besides each kernel's own folder. */
const KERNELS_WRITERS: readonly FileWriter<KernelsRecord>[] = [jsonFile('kernels.json'), textFile('summary.md', renderKernelsSummary)];

/** What each kernel is called on screen and in kernels.json: as given, `#2` on a repeated one. */
export function kernelLabels(kernels: readonly KernelInput[]): string[] {
  const seen = new Map<string, number>();
  return kernels.map((k) => {
    const base = kernelLabel(k);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}#${n}`;
  });
}

export async function runKernels(opts: KernelsOptions): Promise<KernelsRun> {
  const { kernels, jobs, reporter, signal, pipeline = runLab, ...shared } = opts;
  const labels = kernelLabels(kernels);
  const started = new Date();
  const loadStart = loadavg()[0]!;
  const dir = opts.resultsDir ?? join(shared.config.paths.results, runId(labels.join(','), started));
  await mkdir(dir, { recursive: true });
  reporter.attachLog(join(dir, 'lab.log'));
  reporter.stage('run', `${kernels.length} kernels (${labels.join(', ')}), ${jobs} at a time; results: ${dir}`);

  const outcomes = await eachLimited(kernels, jobs, async (input, i): Promise<{ run: KernelRun; result?: RunResult }> => {
    const label = labels[i]!;
    const base: KernelRun = { label, kernelSpec: input.kernelSrc ?? input.kernelTarball ?? input.kernel, flavor: input.flavor ?? DEFAULT_FLAVOR, status: 'ERROR', exitCode: ExitCode.interrupted, stages: {}, verdicts: {} };
    if (signal?.aborted) return { run: { ...base, error: { code: 'INTERRUPTED', message: 'not started: interrupted' } } };
    const scoped = reporter.scope(label);
    const t = Date.now();
    const timing = () => ({ startedAt: new Date(t).toISOString(), finishedAt: new Date().toISOString(), wallSeconds: (Date.now() - t) / 1000 });
    try {
      const { result, resultsDir } = await pipeline({
        ...shared,
        ...input,
        reporter: scoped,
        signal,
        guestsAtOnce: Math.min(jobs, kernels.length),
        resultsDir: join(dir, runId(kernelLabel(input), new Date(t))),
      });
      const run: KernelRun = {
        ...base,
        ...timing(),
        release: result.kernel?.release,
        status: result.status,
        exitCode: signal?.aborted ? ExitCode.interrupted : exitCodeOf(result.status),
        resultsDir: relative(dir, resultsDir),
        stages: result.stages,
        verdicts: scenarioVerdicts(result),
        ...(result.error ? { error: { code: result.error.code, message: result.error.message, stage: result.error.stage } } : {}),
      };
      scoped.event('run', { kind: 'outcome', status: run.status, durationMs: run.wallSeconds! * 1000 });
      return { run, result };
    } catch (e) {
      // bad input or a host that needs set-up (the pipeline throws those), or a bug: this kernel's outcome, not the run's end
      const error = isLabError(e) ? { code: e.code, message: e.message } : { code: 'INTERNAL', message: (e as Error).stack ?? String(e) };
      const results = isLabError(e) && typeof e.context.results === 'string' ? relative(dir, e.context.results) : undefined;
      scoped.event('run', { kind: 'error', code: error.code, message: error.message });
      return { run: { ...base, ...timing(), exitCode: isLabError(e) ? e.exitCode : ExitCode.infrastructure, error, ...(results ? { resultsDir: results } : {}) } };
    }
  });

  const finished = new Date();
  const runs = outcomes.map((o) => o.run);
  const record: KernelsRecord = {
    schemaVersion: KERNELS_SCHEMA_VERSION,
    runId: basename(dir),
    status: worstStatus(runs.map((k) => k.status)),
    exitCode: signal?.aborted ? ExitCode.interrupted : worstExitCode(runs.map((k) => k.exitCode as ExitCode)),
    jobs,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    wallSeconds: (finished.getTime() - started.getTime()) / 1000,
    host: { cpus: availableParallelism(), loadAverage: { start: loadStart, end: loadavg()[0]! } },
    harness: { peakRssMb: peakRssMb() },
    kernels: runs,
  };
  await writeFiles(KERNELS_WRITERS, record, dir, reporter);
  reporter.event('run', { kind: 'outcome', status: record.status, message: `${runs.map((k) => `${k.label} ${k.status}`).join(', ')} in ${formatDuration(record.wallSeconds * 1000)}` });
  return { record, results: outcomes.map((o) => o.result), dir };
}
