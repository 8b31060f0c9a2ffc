/**
 * One lab run, as a pipeline of stages with typed inputs and outputs:
 *   scenarios -> setup -> source -> kernel -> image -> module -> boot -> ssh
 *   -> scenarios run (module, probes, workload, observers) -> judge -> report
 * This is the programmatic API; the CLI only parses argv and calls it.
 * Whatever happens, result.json, junit.xml and the logs are written, and the
 * guest is torn down.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InterruptedError, isLabError, LabError } from './core/errors.ts';
import { resolvePaths, type LabPaths } from './core/paths.ts';
import { formatDuration, type Reporter } from './core/reporter.ts';
import { boot, freePort, probeAccel, type Guest } from './guest/qemu.ts';
import { ensureKey } from './guest/keys.ts';
import { GuestShell } from './guest/ssh.ts';
import { ensurePackages, labPackages } from './host/setup.ts';
import { buildImage } from './image/build.ts';
import { loadRecipe } from './image/recipe.ts';
import { buildKernel, type BuildResult } from './kernel/build.ts';
import { parseFragment, type FragmentEntry } from './kernel/config.ts';
import { resolveSource } from './kernel/source.ts';
import { parseKernelSpec } from './kernel/spec.ts';
import { buildModule, uploadModule } from './prepare/module.ts';
import { toJUnit } from './report/junit.ts';
import { runStatus, RESULT_SCHEMA_VERSION, type RunResult } from './report/result.ts';
import { loadScenario } from './scenario/load.ts';
import { runScenario } from './scenario/run.ts';
import type { Scenario } from './scenario/schema.ts';
import { readFile } from 'node:fs/promises';

export interface LabOptions {
  kernel: string;
  scenarios: string[];
  reporter: Reporter;
  signal?: AbortSignal;
  paths?: LabPaths;
  memoryMb?: number;
  cpus?: number;
  image?: string;
}

export interface LabRun {
  result: RunResult;
  resultsDir: string;
}

export const DEFAULT_SCENARIOS = ['hugetlb'];
export const BASE_FRAGMENT = 'kernels/lab.config';

/** Kernel fragments: the lab's base, then kernels/<series>.config when present. */
export async function labFragments(repo: string, series: string): Promise<FragmentEntry[]> {
  const files = [join(repo, BASE_FRAGMENT), join(repo, 'kernels', `${series}.config`)];
  const out: FragmentEntry[] = [];
  for (const f of files) {
    const text = await readFile(f, 'utf8').catch(() => undefined);
    if (text !== undefined) out.push(...parseFragment(text, f.slice(repo.length + 1)));
  }
  return out;
}

export async function runLab(opts: LabOptions): Promise<LabRun> {
  const paths = opts.paths ?? resolvePaths();
  const { reporter, signal } = opts;
  // Input first: bad scenarios and kernel specs fail before anything is built or booted.
  const spec = parseKernelSpec(opts.kernel);
  const scenarios: Scenario[] = [];
  for (const name of opts.scenarios) scenarios.push(await loadScenario(join(paths.repo, 'scenarios'), name));
  const fragments = await labFragments(paths.repo, spec.series);

  const startedAt = new Date();
  const runId = `${startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${spec.raw}-${randomBytes(2).toString('hex')}`;
  const dir = join(paths.results, runId);
  await mkdir(dir, { recursive: true });
  reporter.attachLog(join(dir, 'lab.log'));
  reporter.stage('run', `results: ${dir}`);
  const result: RunResult = {
    schemaVersion: RESULT_SCHEMA_VERSION,
    runId,
    status: 'ERROR',
    startedAt: startedAt.toISOString(),
    kernelSpec: spec.raw,
    stages: {},
    scenarios: [],
  };
  let stageName = 'source';
  const stage = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    stageName = name;
    if (signal?.aborted) throw new InterruptedError('SIGINT');
    const t = Date.now();
    try {
      return await fn();
    } finally {
      result.stages[name] = (Date.now() - t) / 1000;
    }
  };

  let guest: Guest | undefined;
  let shell: GuestShell | undefined;
  try {
    // The source first: an unavailable kernel fails in seconds, before any package is installed.
    const source = await stage('source', () =>
      resolveSource(spec, { cacheDir: paths.cache, reporter, installPackages: true, setupLog: join(dir, 'setup.log') }),
    );
    await stage('setup', () => ensurePackages(labPackages(), reporter, { log: join(dir, 'setup.log') }));
    const built: BuildResult = await stage('kernel', () =>
      buildKernel(source, { cacheDir: paths.cache, fragments, reporter, log: join(dir, 'build.log'), signal }),
    );
    const k = built.build;
    if (built.cacheHit) {
      reporter.stage('kernel', `cache hit: ${k.release} (${k.buildDir})`);
      await copyFile(join(k.buildDir, 'build.log'), join(dir, 'build.log')).catch(() => undefined);
    }
    await writeFile(join(dir, 'kernel.config'), await readFile(join(k.buildDir, '.config')));
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

    const recipe = await loadRecipe(opts.image ?? join(paths.repo, 'images', 'bookworm.yaml'));
    const img = await stage('image', () => buildImage(recipe, { cacheDir: paths.cache, reporter, log: join(dir, 'image.log'), signal }));
    if (img.cacheHit) reporter.stage('image', `cache hit: ${img.image.path}`);
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

    const key = await ensureKey(paths.cache);
    const accel = await probeAccel();
    const token = randomBytes(8).toString('hex');
    const config = {
      kernel: k.bzImage,
      image: img.image.path,
      accel: accel.accel,
      sshPort: await freePort(),
      memoryMb: opts.memoryMb ?? 1024,
      cpus: opts.cpus ?? 2,
      append: [`lab.token=${token}`, `lab.sshkey=${key.publicBlob}`],
    };
    reporter.stage('boot', `${k.release} under ${accel.accel.toUpperCase()} (${accel.reason}), ${config.memoryMb} MiB, ssh on 127.0.0.1:${config.sshPort}`);
    const bootStart = Date.now();
    guest = await stage('boot', () =>
      boot({ config, token, consoleLog: join(dir, 'console.log'), readyTimeoutMs: accel.accel === 'kvm' ? 60_000 : 180_000, signal }),
    );
    const g = guest;
    shell = await stage('ssh', () => GuestShell.connect({ port: config.sshPort, privateKey: key.privateKey, token, timeoutMs: 60_000 }));
    const uname = (await shell.exec('uname -r')).stdout.trim();
    result.guest = {
      accel: accel.accel,
      accelReason: accel.reason,
      memoryMb: config.memoryMb,
      cpus: config.cpus,
      bootToReadyMs: g.readyMs,
      sshReadyMs: Date.now() - bootStart,
      unameR: uname,
      kernelErrors: [],
    };
    reporter.stage('boot', `guest ready in ${formatDuration(g.readyMs)}, ssh in ${formatDuration(result.guest.sshReadyMs)}: uname -r = ${uname}`);
    await stage('prepare', () => uploadModule(shell!, mod.path));

    await stage('scenarios', async () => {
      for (const scenario of scenarios) {
        if (signal?.aborted) throw new InterruptedError('SIGINT');
        const r = await runScenario(scenario, { shell: shell!, bpfScript: join(paths.repo, 'bpf', 'summary.bt'), resultsDir: dir, reporter });
        result.scenarios.push(r);
        reporter.stage(scenario.name, `${r.status} in ${formatDuration(r.durationMs)}${r.error ? `: ${r.error.message}` : ''}`);
      }
    });
  } catch (e) {
    if (!isLabError(e)) throw e;
    const err = e as LabError;
    result.error = { code: err.code, message: err.message, stage: stageName, context: err.context };
    reporter.stage(stageName, `error ${err.code}: ${err.message}`);
    if (err.exitCode === 2 || err.exitCode === 4) throw withResults(err, dir);
  } finally {
    shell?.close();
    if (guest) {
      await guest.stop();
      if (result.guest) result.guest.kernelErrors = guest.kernelErrors.map((k) => k.line);
    }
    result.status = runStatus(result);
    result.finishedAt = new Date().toISOString();
    await writeFile(join(dir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeFile(join(dir, 'junit.xml'), toJUnit(result));
  }
  return { result, resultsDir: dir };
}

function withResults(e: LabError, dir: string): LabError {
  e.context.results = dir;
  return e;
}
