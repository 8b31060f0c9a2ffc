/**
 * One lab run, as a pipeline of stages with typed inputs and outputs:
 *   input checks (scenarios, fragments) -> source -> setup -> kernel -> image
 *   -> module, tools -> boot -> ssh -> prepare (probe map) -> scenarios
 *   (module, probes, workload, observers, judge) -> report
 * This is the programmatic API; the CLI only parses argv and calls it.
 * Whatever happens, result.json, junit.xml and the logs are written, and the
 * guest is torn down.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, InterruptedError, isLabError, LabError } from './core/errors.ts';
import { kernelLabel, resolvePaths, runId, type LabPaths } from './core/paths.ts';
import { formatDuration, type Reporter } from './core/reporter.ts';
import { probeAccel } from './guest/qemu.ts';
import { ensureKey } from './guest/keys.ts';
import { startSession, type GuestSession } from './guest/session.ts';
import { ensurePackages, labPackages } from './host/setup.ts';
import { buildImage, type GuestImage } from './image/build.ts';
import { loadRecipe } from './image/recipe.ts';
import { buildKernel, type BuildResult } from './kernel/build.ts';
import type { FragmentEntry } from './kernel/config.ts';
import { labFragments, resolveKernelInput, seriesOf, userFragments, type KernelInput } from './kernel/inputs.ts';
import { buildModule, uploadModule } from './prepare/module.ts';
import { discoveryCommand, loadHooks, probeMap, type ProbeMapEntry } from './prepare/probes.ts';
import { buildTools, uploadTools } from './prepare/tools.ts';
import { toJUnit } from './report/junit.ts';
import { toKcidb } from './report/kcidb.ts';
import { runStatus, RESULT_SCHEMA_VERSION, type RunResult } from './report/result.ts';
import { listScenarios, loadScenario } from './scenario/load.ts';
import { runScenario } from './scenario/run.ts';
import type { Scenario } from './scenario/schema.ts';

export interface LabOptions extends KernelInput {
  scenarios: string[];
  reporter: Reporter;
  signal?: AbortSignal;
  paths?: LabPaths;
  memoryMb?: number;
  cpus?: number;
  image?: string;
  /** Boot a fresh guest for every scenario instead of one per kernel. */
  isolate?: boolean;
  /** Extra kernel command line words, after the lab's (a later page_owner=off wins). */
  append?: string[];
}

export interface LabRun {
  result: RunResult;
  resultsDir: string;
}

/** No selection: the whole default suite (every scenario in scenarios/). Globs (*, ?) match scenario names. */
export async function selectScenarios(dir: string, selection: string[]): Promise<string[]> {
  const all = await listScenarios(dir);
  if (selection.length === 0) return all;
  const out: string[] = [];
  for (const sel of selection) {
    if (!/[*?]/.test(sel)) {
      out.push(sel);
      continue;
    }
    const re = new RegExp(`^${sel.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    const matched = all.filter((n) => re.test(n));
    if (matched.length === 0) {
      throw new InputError('UNKNOWN_SCENARIO', `--scenario ${JSON.stringify(sel)}: matches no scenario (available: ${all.join(', ')})`, { value: sel });
    }
    out.push(...matched);
  }
  return [...new Set(out)];
}

export type Stage = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

/**
 * The kernel and the guest image a run boots: source (first, so an unavailable
 * kernel fails in seconds, before any package is installed), host set-up,
 * kernel build or cache hit, image build or cache hit. Logs go to `dir`.
 */
export async function prepareArtifacts(
  input: KernelInput & { image?: string },
  extraFragments: FragmentEntry[],
  ctx: { paths: LabPaths; reporter: Reporter; dir: string; signal?: AbortSignal; stage?: Stage },
): Promise<{ built: BuildResult; img: { image: GuestImage; cacheHit: boolean } }> {
  const { paths, reporter, dir, signal } = ctx;
  const stage: Stage = ctx.stage ?? ((_name, fn) => fn());
  const { source } = await stage('source', () =>
    resolveKernelInput(input, { cacheDir: paths.cache, reporter, installPackages: true, setupLog: join(dir, 'setup.log'), signal }),
  );
  const fragments = [...(await labFragments(paths.repo, seriesOf(source.version))), ...extraFragments];
  await stage('setup', () => ensurePackages(labPackages(), reporter, { log: join(dir, 'setup.log') }));
  const built = await stage('kernel', () => buildKernel(source, { cacheDir: paths.cache, fragments, reporter, log: join(dir, 'build.log'), signal }));
  const k = built.build;
  if (built.cacheHit) {
    reporter.stage('kernel', `cache hit: ${k.release} (${k.buildDir})`);
    await copyFile(join(k.buildDir, 'build.log'), join(dir, 'build.log')).catch(() => undefined);
  }
  await writeFile(join(dir, 'kernel.config'), await readFile(join(k.buildDir, '.config')));
  const recipe = await loadRecipe(input.image ?? join(paths.repo, 'images', 'bookworm.yaml'));
  const img = await stage('image', () => buildImage(recipe, { cacheDir: paths.cache, reporter, log: join(dir, 'image.log'), signal }));
  if (img.cacheHit) reporter.stage('image', `cache hit: ${img.image.path}`);
  return { built, img };
}

export async function runLab(opts: LabOptions): Promise<LabRun> {
  const paths = opts.paths ?? resolvePaths();
  const { reporter, signal } = opts;
  // Input first: bad scenarios and kernel specs fail before anything is built or booted.
  const extraFragments = await userFragments(opts);
  const scenarios: Scenario[] = [];
  for (const name of await selectScenarios(join(paths.repo, 'scenarios'), opts.scenarios)) {
    scenarios.push(await loadScenario(join(paths.repo, 'scenarios'), name));
  }

  const startedAt = new Date();
  const id = runId(kernelLabel(opts), startedAt);
  const dir = join(paths.results, id);
  await mkdir(dir, { recursive: true });
  reporter.attachLog(join(dir, 'lab.log'));
  reporter.stage('run', `results: ${dir}`);
  const result: RunResult = {
    schemaVersion: RESULT_SCHEMA_VERSION,
    runId: id,
    status: 'ERROR',
    startedAt: startedAt.toISOString(),
    kernelSpec: opts.kernelSrc ?? opts.kernelTarball ?? opts.kernel,
    stages: {},
    boots: [],
    scenarios: [],
  };
  /** The innermost stage an error came out of (stages nest: boot runs inside scenarios). */
  let failedStage: string | undefined;
  const stage: Stage = async (name, fn) => {
    if (signal?.aborted) throw new InterruptedError('SIGINT');
    const t = Date.now();
    try {
      return await fn();
    } catch (e) {
      failedStage ??= name;
      throw e;
    } finally {
      // summed: boot, ssh and prepare run once per guest
      result.stages[name] = (result.stages[name] ?? 0) + (Date.now() - t) / 1000;
    }
  };

  interface LiveGuest {
    session: GuestSession;
    probes: ProbeMapEntry[];
  }
  let live: LiveGuest | undefined;
  let boots = 0;
  const retired: string[] = [];
  const retire = async (l: LiveGuest) => retired.push(...(await l.session.close()));
  // Ctrl-C: throw the guest away at once; the command in flight fails and the run ends as interrupted
  signal?.addEventListener('abort', () => void live?.session.guest.stop(), { once: true });
  try {
    const { built, img } = await prepareArtifacts(opts, extraFragments, { paths, reporter, dir, signal, stage });
    const k = built.build;
    result.kernel = {
      release: k.release,
      sourceVersion: k.sourceVersion,
      sourceId: k.sourceId,
      configSha256: k.configSha256,
      compiler: k.compiler,
      cacheKey: k.key,
      cacheHit: built.cacheHit,
      buildSeconds: k.buildSeconds,
      reproducer: k.reproducer,
    };

    result.image = {
      name: img.image.name,
      key: img.image.key,
      cacheHit: img.cacheHit,
      buildSeconds: img.image.buildSeconds,
      packages: img.image.packages.length,
    };

    const mod = await stage('module', () => buildModule(join(paths.repo, 'kmod', 'page_order'), k, paths.cache, join(dir, 'module-build.log')));
    result.module = { path: mod.path, warnings: mod.warnings, cacheHit: mod.cacheHit };
    if (mod.warnings.length) reporter.warn('module', `${mod.warnings.length} compiler warning(s), see module-build.log`);

    const tools = await stage('tools', () => buildTools(join(paths.repo, 'scenarios', 'tools'), paths.cache, join(dir, 'tools-build.log')));
    const hooks = await loadHooks(paths.repo);
    const key = await ensureKey(paths.cache);
    const accel = await probeAccel();
    const bootOne = async (): Promise<LiveGuest> => {
      boots++;
      const session = await startSession({
        bzImage: k.bzImage,
        image: img.image.path,
        accel,
        key,
        consoleLog: join(dir, boots === 1 ? 'console.log' : `console-${boots}.log`),
        memoryMb: opts.memoryMb ?? 1024,
        cpus: opts.cpus ?? 2,
        append: opts.append ?? [],
        reporter,
        signal,
        stage,
        onStart: ({ token, sshPort }) =>
          result.boots.push({ token, sshPort, consoleLog: join(dir, boots === 1 ? 'console.log' : `console-${boots}.log`), accel: accel.accel }),
      });
      try {
        const sh = session.shell;
        const probes = await stage('prepare', async () => {
          // Optimized (jump) kprobes run their handlers with interrupts on: an interrupt that allocates
          // a page while a handler runs is missed by every probe on __set_page_owner. int3 kprobes are exact.
          await sh.exec('echo 0 > /proc/sys/debug/kprobes-optimization');
          await uploadModule(sh, mod.path);
          await uploadTools(sh, tools);
          const discovery = await sh.exec(discoveryCommand(hooks));
          await writeFile(join(dir, 'probe-discovery.txt'), discovery.stdout);
          return probeMap(hooks, discovery.stdout, (await sh.exec('dmesg')).stdout);
        });
        result.guest ??= {
          accel: accel.accel,
          accelReason: accel.reason,
          memoryMb: opts.memoryMb ?? 1024,
          cpus: opts.cpus ?? 2,
          bootToReadyMs: session.readyMs,
          sshReadyMs: session.sshReadyMs,
          unameR: session.release,
          kernelErrors: [],
          boots: 0,
          probeMap: probes,
        };
        result.guest.boots = boots;
        return { session, probes };
      } catch (e) {
        await session.close();
        throw e;
      }
    };

    await stage('scenarios', async () => {
      for (const scenario of scenarios) {
        if (signal?.aborted) throw new InterruptedError('SIGINT');
        live ??= await bootOne();
        const errorsBefore = live.session.guest.kernelErrors.length;
        const r = await runScenario(scenario, {
          shell: live.session.shell,
          release: live.session.release,
          hooks,
          probes: live.probes,
          resultsDir: dir,
          reporter,
        });
        result.scenarios.push(r);
        reporter.stage(scenario.name, `${r.status} in ${formatDuration(r.durationMs)}${r.error ? `: ${r.error.message}` : ''}${r.skipReason ? `: ${r.skipReason}` : ''}`);
        // A guest that saw a kernel error or lost its way is discarded; the next scenario boots a fresh one.
        const tainted = live.session.guest.kernelErrors.length > errorsBefore || (r.observations.dmesg?.kernelErrors.length ?? 0) > 0 || r.status === 'ERROR';
        if (tainted || opts.isolate) {
          if (tainted) reporter.stage(scenario.name, 'discarding the guest after this scenario');
          await retire(live);
          live = undefined;
        }
      }
      if (signal?.aborted) throw new InterruptedError('SIGINT');
    });
  } catch (e) {
    if (!isLabError(e)) throw e;
    const err = e as LabError;
    const stageName = failedStage ?? 'input';
    result.error = { code: err.code, message: err.message, stage: stageName, context: err.context };
    reporter.stage(stageName, `error ${err.code}: ${err.message}`);
    if (err.exitCode === 2 || err.exitCode === 4) throw withResults(err, dir);
  } finally {
    if (live) await retire(live);
    if (result.guest) result.guest.kernelErrors = retired;
    result.status = runStatus(result);
    result.finishedAt = new Date().toISOString();
    await writeFile(join(dir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeFile(join(dir, 'junit.xml'), toJUnit(result));
    await writeFile(join(dir, 'kcidb.json'), `${JSON.stringify(toKcidb(result), null, 2)}\n`);
  }
  return { result, resultsDir: dir };
}

function withResults(e: LabError, dir: string): LabError {
  e.context.results = dir;
  return e;
}
