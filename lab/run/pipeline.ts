/**
 * One lab run, as a pipeline of stages with typed inputs and outputs:
 *   inputs (scenarios, fragments) -> source -> setup -> kernel -> image
 *   -> module, tools -> boot -> ssh -> prepare (probe map) -> scenarios
 *   (module, probes, workload, observers, judge) -> report
 * This is the programmatic API; the CLI only parses argv and calls it.
 * Whatever happens, the result writers write result.json, junit.xml, kcidb.json
 * and summary.md, and the guests are torn down.
 */
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { prepareImage, prepareKernel, type ArtifactContext, type KernelArtifacts } from './artifacts.ts';
import type { LabConfig } from '../core/config.ts';
import { InterruptedError, isLabError, type LabError } from '../core/errors.ts';
import { peakRssMb } from '../core/memory.ts';
import { kernelLabel, runId } from '../core/paths.ts';
import type { ProgressReporter, Stage } from '../core/reporter.ts';
import { launchSpec } from '../guest/launch.ts';
import { GuestPool } from '../guest/pool.ts';
import { DEFAULT_FLAVOR, userFragments, type KernelInput } from '../kernel/inputs.ts';
import { MetricRegistry } from '../metrics/registry.ts';
import { loadHooks, type Hooks } from '../observe/hooks.ts';
import { kernelReport } from '../observe/kernel-errors.ts';
import { bootGuest, guestConsoleLog, type ReadyGuest, type ReadyGuestOptions } from '../prepare/guest.ts';
import { buildModule } from '../prepare/module.ts';
import { buildTools } from '../prepare/tools.ts';
import { RunRecorder } from '../report/recorder.ts';
import { defaultWriters, writeResults, type ResultWriter } from '../report/writers.ts';
import type { RunResult } from '../report/result.ts';
import type { Scenario } from '../scenario/load.ts';
import { loadSuite, suiteMemoryMb } from '../scenario/suite.ts';
import { runScenario } from '../scenario/run.ts';

export interface LabOptions extends KernelInput {
  config: LabConfig;
  scenarios: string[];
  reporter: ProgressReporter;
  signal?: AbortSignal;
  image?: string;
  /** Boot a fresh guest for every scenario instead of one per kernel. */
  isolate?: boolean;
  /** Run the selected scenarios this many times, each judged on its own. */
  repeat?: number;
  /** Extra kernel command line words, after the lab's (a later page_owner=off wins). */
  append?: string[];
  writers?: readonly ResultWriter[];
  /** Scenarios the caller compiled (lab bisect, with its --expect), instead of loading `scenarios`. */
  compiled?: Scenario[];
  /** The kernel stage, when the caller builds the kernel (lab bisect's incremental tree); default: the cached build of the input. */
  kernelStage?: (ctx: ArtifactContext) => Promise<KernelArtifacts>;
  /** The results folder, when the caller names it (a bisect step's); default: results/<run-id>. */
  resultsDir?: string;
  /** How many kernels' guests run at the same time (lab run --jobs): with tcgThreads auto, whether a thread per vCPU fits the host. */
  guestsAtOnce?: number;
}

export interface LabRun {
  result: RunResult;
  resultsDir: string;
}

export async function runLab(opts: LabOptions): Promise<LabRun> {
  const { reporter, signal } = opts;
  const paths = opts.config.paths;
  // Input first: bad scenarios and kernel specs fail before anything is built or booted.
  const kernelStage = opts.kernelStage ?? (await defaultKernelStage(opts));
  const hooks = await loadHooks(paths.repo);
  const registry = new MetricRegistry(hooks);
  const scenarios = opts.compiled ?? (await loadSuite(join(paths.repo, 'scenarios'), opts.scenarios, registry));
  const memoryMb = suiteMemoryMb(scenarios, opts.config.memoryMb, opts.config.sources.memoryMb !== 'default');
  const config: LabConfig = { ...opts.config, memoryMb };

  const startedAt = new Date();
  const dir = opts.resultsDir ?? join(paths.results, runId(kernelLabel(opts), startedAt));
  const id = basename(dir);
  await mkdir(dir, { recursive: true });
  reporter.attachLog(join(dir, 'lab.log'));
  reporter.stage('run', `results: ${dir}`);
  if (memoryMb !== opts.config.memoryMb) reporter.stage('run', `guest memory ${memoryMb} MiB: the largest requires.memory_mb of the selected scenarios`);
  const rec = new RunRecorder(
    { runId: id, kernelSpec: opts.kernelSrc ?? opts.kernelTarball ?? opts.kernel, flavor: opts.flavor ?? DEFAULT_FLAVOR, startedAt, repeat: opts.repeat },
    signal,
  );
  const writers = opts.writers ?? defaultWriters;
  const { stage, result } = rec;
  let pool: GuestPool<ReadyGuest> | undefined;
  const stopGuests = () => pool?.stopNow();
  signal?.addEventListener('abort', stopGuests, { once: true });
  try {
    const guestOptions = await prepareGuests(opts, kernelStage, { config, reporter, dir, signal, stage }, rec, { hooks, scenarios });
    pool = guestPool(guestOptions, rec, dir, Boolean(opts.isolate));
    const run = { scenarios, pool, registry, memoryMb: config.memoryMb, dir, reporter, writers, result, repeat: opts.repeat ?? 1, signal };
    await stage('scenarios', () => runScenarios(run));
  } catch (e) {
    if (!isLabError(e)) throw e;
    const err = e as LabError;
    reporter.event(rec.fail(err), { kind: 'error', code: err.code, message: err.message });
    if (err.exitCode === 2 || err.exitCode === 4) {
      err.context.results = dir;
      throw err;
    }
  } finally {
    // the signal outlives this run when several kernels share it
    signal?.removeEventListener('abort', stopGuests);
    await pool?.close();
    if (result.guest) result.guest.boots = pool?.boots ?? 0;
    rec.finish(pool?.kernelErrors ?? []);
    result.harness = { peakRssMb: peakRssMb() };
    await writeResults(writers, 'onEnd', result, dir, reporter);
  }
  return { result, resultsDir: dir };
}

/** The kernel, the image, the module and the tools, built or from the cache; what every guest of the run is booted with. */
async function prepareGuests(
  opts: LabOptions,
  kernelStage: (ctx: ArtifactContext) => Promise<KernelArtifacts>,
  ctx: ArtifactContext & { stage: Stage },
  rec: RunRecorder,
  suite: { hooks: Hooks; scenarios: readonly Scenario[] },
): Promise<ReadyGuestOptions> {
  const { config, dir, stage } = ctx;
  const paths = config.paths;
  const kernel = await kernelStage(ctx);
  const k = kernel.built.build;
  rec.kernel(k, kernel.built.cacheHit, kernel.reproducer);
  const img = await prepareImage(opts.image, ctx);
  rec.image(img.image, img.cacheHit);
  const module = await stage('module', () => buildModule(join(paths.repo, 'kmod', 'page_order'), k, paths.cache, join(dir, 'module-build.log')));
  rec.result.module = { path: module.path, warnings: module.warnings, cacheHit: module.cacheHit };
  if (module.warnings.length) ctx.reporter.warn('module', `${module.warnings.length} compiler warning(s), see module-build.log`);
  // the workloads' helpers, and lab_mark, the shared bpftrace's window marker
  const tools = await stage('tools', async () => [
    ...(await buildTools(join(paths.repo, 'scenarios', 'tools'), paths.cache, join(dir, 'tools-build.log'))),
    ...(await buildTools(join(paths.repo, 'bpf', 'marker'), paths.cache, join(dir, 'tools-build.log'))),
  ]);
  return {
    spec: await launchSpec(config, { bzImage: k.bzImage, image: img.image.path }, { flavor: opts.flavor, append: opts.append, guestsAtOnce: opts.guestsAtOnce }),
    kit: { module, tools, hooks: suite.hooks },
    dir,
    sharedBpftrace: { commPrefixes: sharedCommPrefixes(suite.scenarios) },
    reporter: ctx.reporter,
    signal: ctx.signal,
    stage,
  };
}

/** The run's guests: booted on demand, each on record (one that never came up too: its token, port, console). */
function guestPool(guestOptions: ReadyGuestOptions, rec: RunRecorder, dir: string, isolate: boolean): GuestPool<ReadyGuest> {
  return new GuestPool(
    async (n) => {
      const g = await bootGuest(n, guestOptions).catch((e: unknown) => {
        const c = isLabError(e) ? e.context : {};
        if (typeof c.token === 'string') {
          rec.boot({ token: c.token, sshPort: Number(c.sshPort), consoleLog: guestConsoleLog(dir, n), accel: guestOptions.spec.accel.accel, qemu: [String(c.qemu)] });
        }
        throw e;
      });
      rec.boot(g.boot, g.guestInfo);
      return g;
    },
    { isolate },
  );
}

/** Every scenario, --repeat times, each in a guest of the pool; its result reported as it ends. */
async function runScenarios(o: {
  scenarios: readonly Scenario[];
  pool: GuestPool<ReadyGuest>;
  registry: MetricRegistry;
  memoryMb: number;
  dir: string;
  reporter: ProgressReporter;
  writers: readonly ResultWriter[];
  result: RunResult;
  repeat: number;
  signal?: AbortSignal;
}): Promise<void> {
  const { pool, reporter, result } = o;
  for (let rep = 1; rep <= o.repeat; rep++) {
    for (const scenario of o.scenarios) {
      if (o.signal?.aborted) throw new InterruptedError('SIGINT');
      const g = await pool.acquire();
      // the console's report of a kernel error that showed during the scenario, asked once when it ends
      const consoleReport = () => {
        const newErrors = pool.newKernelErrors();
        return newErrors.length ? kernelReport(g.session.guest.console, newErrors[0]!.line) : undefined;
      };
      const r = await runScenario(
        scenario,
        { ...g.context, registry: o.registry, memoryMb: o.memoryMb, resultsDir: o.dir, reporter, kernelReport: consoleReport },
        o.repeat > 1 ? rep : undefined,
      );
      result.scenarios.push(r);
      const label = o.repeat > 1 ? `${scenario.name} #${rep}` : scenario.name;
      reporter.event(label, { kind: 'outcome', status: r.status, durationMs: r.durationMs, message: r.error?.message ?? r.skipReason });
      if (r.regression) reporter.stage(label, `REGRESSION: ${r.regression}`);
      for (const st of r.steps?.filter((x) => x.truncated) ?? []) {
        reporter.stage(label, `step "${st.name}" printed ${st.stdoutBytes} bytes: memory kept its first and last part, the whole is in ${join(r.resultsDir, st.log)}`);
      }
      const { discarded, tainted } = await pool.release({ error: r.status === 'ERROR', dmesgErrors: r.observations.dmesg?.kernelErrors.length ?? 0 });
      if (discarded && tainted) reporter.stage(label, 'discarded the guest after this scenario');
      await writeResults(o.writers, 'onScenarioEnd', result, o.dir, reporter);
    }
  }
  if (o.signal?.aborted) throw new InterruptedError('SIGINT');
}

/** The workloads the shared bpftrace counts apart: those of every scenario of the run. */
function sharedCommPrefixes(scenarios: readonly Scenario[]): string[] {
  return [...new Set(scenarios.flatMap((s) => (s.bpftrace.comm ? [s.bpftrace.comm] : [])))].sort();
}

/** The kernel input's cached build; its fragments are read and checked before anything runs. */
async function defaultKernelStage(opts: LabOptions): Promise<(ctx: ArtifactContext) => Promise<KernelArtifacts>> {
  const extraFragments = await userFragments(opts);
  return (ctx) => prepareKernel(opts, extraFragments, ctx);
}
