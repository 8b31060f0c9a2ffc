/**
 * Configure and build a kernel, content-addressed in the cache. The entry key
 * is a hash of the source identity, the final .config, the compiler and the
 * lab's build revision; an index keyed by the inputs (source, fragments,
 * compiler) finds it again without re-running Kconfig. A miss builds in the
 * kept tree of its source and flavor (lab/kernel/tree.ts), incrementally
 * when the tree is trusted, and a copy of the tree becomes the entry; a
 * source without a kept tree builds in a temporary folder renamed into
 * place. Both under a lock; one build at a time on this machine (each runs
 * make -j<every core>): concurrent runs and the kernels of `lab run --jobs N`
 * wait for the machine-wide build lock.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { basename, isAbsolute, join, relative } from 'node:path';
import { InfraError } from '../core/errors.ts';
import { jsonOrUndefined, removeInside } from '../core/files.ts';
import { withLock } from '../core/lock.ts';
import { formatCommand, run, SYSTEM_PATH, which } from '../core/proc.ts';
import { formatDuration, throttle, type ProgressReporter } from '../core/reporter.ts';
import { droppedOptionsError, parseDotConfig, parseFragment, renderFragment, verifyConfig, type FragmentEntry } from './config.ts';
import { sha256File, type KernelSource } from './source.ts';
import { SAFE_COMPONENT } from './spec.ts';
import { chooseTreeBuild, discardTree, keptTree, writeTreeRecord, type KeptTree, type TreeChoice } from './tree.ts';
import { withScratch } from '../core/scratch.ts';

/** Bump when the way the lab builds kernels changes, to invalidate old entries. */
export const KBUILD_REVISION = 1;
const ARCH = 'x86_64';
const BASE_CONFIG = 'tinyconfig';

/** lab-build.json, written with every entry and read back with this schema (an entry that fails it is rebuilt). */
export const KernelBuildSchema = z.object({
  /** Entries written before the field existed are version 1. */
  schemaVersion: z.literal(1).default(1),
  key: z.string().regex(/^[0-9a-f]{64}$/),
  /** The O= build tree: bzImage, .config, Module.symvers, scripts (what M= module builds need). */
  buildDir: z.string(),
  bzImage: z.string(),
  bzImageSha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** `make kernelrelease`, e.g. 6.12.117. */
  release: z.string(),
  configSha256: z.string(),
  compiler: z.string(),
  sourceId: z.string(),
  sourceVersion: z.string(),
  sourceTree: z.string(),
  baseConfig: z.string(),
  flavor: z.string(),
  buildSeconds: z.number(),
  jobs: z.number().int().positive(),
  ccache: z.boolean(),
  reproducer: z.array(z.string()),
  builtAt: z.string(),
  /** The environment make ran in (absent in entries built before it was recorded): PATH, locale, the make variables that keep unused toolchains out of Kconfig's probes. */
  environment: z.object({ env: z.record(z.string(), z.string()), makeVariables: z.array(z.string()) }).optional(),
  /** Built in a kept tree (lab/kernel/tree.ts): incrementally, or its first build. Absent for a build in a temporary folder. */
  tree: z.object({ name: z.string(), incremental: z.boolean(), compiled: z.number().int().nonnegative() }).optional(),
});
export type KernelBuild = z.infer<typeof KernelBuildSchema>;

export interface BuildResult {
  build: KernelBuild;
  cacheHit: boolean;
}

export interface BuildOptions {
  cacheDir: string;
  fragments: FragmentEntry[];
  /** The flavor the fragments were chosen for: part of the key and of the metadata. */
  flavor: string;
  reporter: ProgressReporter;
  /** Build log (appended). */
  log: string;
  jobs?: number;
  signal?: AbortSignal;
  /** false: build in an empty temporary folder even when the source has a kept tree (a clean build, to compare with). */
  keptTree?: boolean;
  /** false: a cache miss is an error, never a build (--no-build: a CI shard takes its kernel from the build job). */
  allowBuild?: boolean;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const META = 'lab-build.json';

export async function compilerIdentity(): Promise<string> {
  const r = await run('gcc', ['--version'], { cleanEnv: true });
  return r.stdout.split('\n')[0]!.trim();
}

export function entryKey(parts: { sourceId: string; configSha256: string; compiler: string; revision: number; flavor: string }): string {
  return sha256(JSON.stringify([parts.sourceId, parts.configSha256, parts.compiler, parts.revision, ARCH, parts.flavor]));
}

export function inputsKey(parts: { sourceId: string; fragment: string; compiler: string; revision: number; flavor: string }): string {
  return sha256(JSON.stringify([parts.sourceId, BASE_CONFIG, parts.fragment, parts.compiler, parts.revision, ARCH, parts.flavor]));
}

/**
 * A cache entry is valid when its metadata exists, passes its schema, and the bzImage still has the hash it was
 * stored with. Its paths are taken as where the entry is now, not where it was built: a cache seen at another path
 * (another LAB_CACHE_DIR or HOME, a CI artifact, a fresh root's overlay) stays a cache hit.
 */
export async function loadEntry(dir: string): Promise<KernelBuild | undefined> {
  try {
    const meta = KernelBuildSchema.parse(JSON.parse(await readFile(join(dir, META), 'utf8')));
    const rel = relative(meta.buildDir, meta.bzImage);
    const bzImage = rel.startsWith('..') || isAbsolute(rel) ? meta.bzImage : join(dir, rel);
    if (!existsSync(bzImage) || (await sha256File(bzImage)) !== meta.bzImageSha256) return undefined;
    return { ...meta, buildDir: dir, bzImage };
  } catch {
    return undefined;
  }
}

/** The key of the cache index: what a build is found again by, known before Kconfig runs (so CI can key its cache on it). */
export async function buildInputs(source: KernelSource, fragments: FragmentEntry[], flavor: string): Promise<{ key: string; fragment: string; compiler: string }> {
  const compiler = await compilerIdentity();
  const fragment = renderFragment(fragments);
  return { key: inputsKey({ sourceId: source.id, fragment, compiler, revision: KBUILD_REVISION, flavor }), fragment, compiler };
}

export async function buildKernel(source: KernelSource, opts: BuildOptions): Promise<BuildResult> {
  const { reporter, cacheDir } = opts;
  const { key: inputs, fragment, compiler } = await buildInputs(source, opts.fragments, opts.flavor);
  const indexFile = join(cacheDir, 'kernels', 'index', `${inputs}.key`);
  return withLock(
    join(cacheDir, 'locks', `kernel-${inputs}.lock`),
    async () => {
      const indexed = await readFile(indexFile, 'utf8').catch(() => undefined);
      // an index record names an entry folder; anything else (a path, "..") is a broken record, never a path to delete
      if (indexed && (!SAFE_COMPONENT.test(indexed.trim()) || indexed.includes('..'))) {
        reporter.warn('kernel', `cache index ${indexFile} is broken (${JSON.stringify(indexed.trim().slice(0, 80))} is no entry name): rebuilding`);
      } else if (indexed) {
        const dir = join(cacheDir, 'kernels', indexed.trim());
        const hit = await loadEntry(dir);
        if (hit) return { build: hit, cacheHit: true };
        if (existsSync(dir)) {
          reporter.warn('kernel', `cache entry ${dir} is corrupt (bzImage missing or hash mismatch): rebuilding`);
          await removeInside(cacheDir, dir);
        }
      }
      if (opts.allowBuild === false) {
        throw new InfraError(
          'KERNEL_NOT_CACHED',
          `${source.version} (${opts.flavor}) is not in the cache ${cacheDir} (inputs key ${inputs}), and --no-build forbids building it: the build job's kernel did not arrive, or it was built from other inputs`,
          { key: inputs },
        );
      }
      const build = await oneBuildAtATime(cacheDir, reporter, () => configureAndBuild(source, fragment, compiler, opts));
      await mkdir(join(cacheDir, 'kernels', 'index'), { recursive: true });
      await writeFile(indexFile, `${basename(build.build.buildDir)}\n`);
      return build;
    },
    () => reporter.stage('kernel', 'waiting for another lab process, which is building the same kernel'),
  );
}

/**
 * Kernel builds never overlap on one machine: each already uses every core, so
 * two at once only thrash (and double the memory of the compilers). A lock in
 * the cache, not in the process, so separate lab processes wait too.
 */
function oneBuildAtATime<T>(cacheDir: string, reporter: ProgressReporter, fn: () => Promise<T>): Promise<T> {
  return withLock(join(cacheDir, 'locks', 'kernel-build.lock'), fn, () =>
    reporter.stage('kernel', 'waiting for another kernel build to finish (one at a time on this machine)'),
  );
}

interface ConfigureOptions {
  log: string;
  signal?: AbortSignal;
  ccache: boolean;
  cacheDir: string;
}

/**
 * Toolchains that Kconfig probes whether or not the kernel uses them: their
 * versions land in the .config (CONFIG_RUSTC_VERSION, CONFIG_PAHOLE_VERSION),
 * so a rustc in a user's folder would change the cache key of a kernel that
 * has no Rust. Unless the fragment enables the option that needs it, each is
 * named as a program that does not exist, and Kconfig records version 0.
 */
const UNUSED_TOOLCHAINS: readonly { variable: string; neededBy: string }[] = [
  { variable: 'RUSTC', neededBy: 'CONFIG_RUST' },
  { variable: 'BINDGEN', neededBy: 'CONFIG_RUST' },
  { variable: 'PAHOLE', neededBy: 'CONFIG_DEBUG_INFO_BTF' },
];

/** The make variables and the whole environment of every make the lab runs for a kernel: nothing of the caller's environment leaks in. */
function makeEnvironment(outDir: string, opts: { ccache: boolean; cacheDir: string; fragment: string }) {
  const cc = opts.ccache ? 'ccache gcc' : 'gcc';
  const toolchains = UNUSED_TOOLCHAINS.filter((t) => !new RegExp(`^${t.neededBy}=[ym]$`, 'm').test(opts.fragment)).map(
    (t) => `${t.variable}=lab-unused-${t.variable.toLowerCase()}`,
  );
  return {
    makeArgs: [`O=${outDir}`, `ARCH=${ARCH}`, `CC=${cc}`, `HOSTCC=${cc}`, ...toolchains],
    /** Only these variables: run() is called with cleanEnv. */
    env: {
      PATH: SYSTEM_PATH,
      LC_ALL: 'C',
      TZ: 'UTC',
      HOME: opts.cacheDir,
      CCACHE_DIR: join(opts.cacheDir, 'ccache'),
      CCACHE_BASEDIR: opts.cacheDir,
      KBUILD_BUILD_TIMESTAMP: '1970-01-01 00:00:00 UTC',
      KBUILD_BUILD_USER: 'lab',
      KBUILD_BUILD_HOST: 'page-owner-lab',
      // else a kept tree's every link counts up the `#N` of uname -v, and its kernels differ from clean builds of the same config
      KBUILD_BUILD_VERSION: '1',
    },
    toolchains,
  };
}

/** What lab-build.json records of the environment (the cache folder aside, which differs from host to host). */
function recordedEnvironment(fragment: string): NonNullable<KernelBuild['environment']> {
  const { env, toolchains } = makeEnvironment('.', { ccache: false, cacheDir: '.', fragment });
  return { env: { PATH: env.PATH, LC_ALL: env.LC_ALL, TZ: env.TZ }, makeVariables: toolchains };
}

/**
 * tinyconfig + fragment via merge_config.sh + olddefconfig into `outDir`,
 * then verify every requested option; returns the final .config text.
 */
export async function configureKernel(source: KernelSource, fragment: string, outDir: string, opts: ConfigureOptions): Promise<string> {
  const { makeArgs, env } = makeEnvironment(outDir, { ...opts, fragment });
  const make = (args: string[]) =>
    run('make', [...makeArgs, ...args], { cwd: source.tree, env, cleanEnv: true, log: opts.log, signal: opts.signal, errorCode: 'KERNEL_CONFIG_FAILED' });
  await make([BASE_CONFIG]);
  const fragmentFile = join(outDir, 'lab-fragment.config');
  await writeFile(fragmentFile, fragment);
  await run('scripts/kconfig/merge_config.sh', ['-m', '-O', outDir, join(outDir, '.config'), fragmentFile], {
    cwd: source.tree,
    env: { ...env, ARCH },
    cleanEnv: true,
    log: opts.log,
    errorCode: 'KERNEL_CONFIG_FAILED',
  });
  await make(['olddefconfig']);
  const configText = await readFile(join(outDir, '.config'), 'utf8');
  const final = parseDotConfig(configText);
  const dropped = verifyConfig(parseFragment(fragment, 'lab-fragment.config'), final);
  if (dropped.length) throw await droppedOptionsError(source.tree, dropped, join(outDir, '.config'), final);
  return configText;
}

const COMPILED = /^\s+CC\s/;
/** Files compiled per `=y` option of a tinyconfig-based .config: 1.77-1.83 measured on the lab's 6.1, 6.6 and 6.12 builds. */
const FILES_PER_Y_OPTION = 1.8;

/**
 * How many files a build will compile, for the progress bar: the count in the
 * build log of the newest cached build of the same series and flavor, else a
 * guess from the number of `=y` options of the final .config.
 */
export async function estimateCompiledFiles(cacheDir: string, version: string, flavor: string, configText: string): Promise<{ total: number; basis: string }> {
  const series = version.split('.').slice(0, 2).join('.');
  const kernels = join(cacheDir, 'kernels');
  const entries = await readdir(kernels).catch(() => [] as string[]);
  const previous = (
    await Promise.all(
      entries.map(async (name) => {
        // a broken record (not JSON, another schema) is no basis, never an error of a cold build
        const meta = KernelBuildSchema.safeParse(jsonOrUndefined(await readFile(join(kernels, name, META), 'utf8').catch(() => undefined))).data;
        // an incremental build's log counts only what it recompiled
        return meta && !meta.tree?.incremental && meta.flavor === flavor && meta.sourceVersion.split('.').slice(0, 2).join('.') === series ? { name, meta } : undefined;
      }),
    )
  )
    .filter((e) => e !== undefined)
    .sort((a, b) => b.meta.builtAt.localeCompare(a.meta.builtAt));
  for (const { name, meta } of previous) {
    const log = await readFile(join(kernels, name, 'build.log'), 'utf8').catch(() => '');
    const total = log.split('\n').filter((l) => COMPILED.test(l)).length;
    if (total) return { total, basis: `from the previous build of ${meta.sourceVersion}-${flavor}` };
  }
  const options = configText.split('\n').filter((l) => /^CONFIG_\w+=y$/.test(l)).length;
  return { total: Math.round(options * FILES_PER_Y_OPTION), basis: `guessed from the .config: ${options} =y options x ${FILES_PER_Y_OPTION}` };
}

/** `make bzImage modules` in `outDir` with a progress line every 30 s; returns its duration in seconds. */
async function makeKernel(
  source: KernelSource,
  outDir: string,
  opts: { jobs: number; ccache: boolean; cacheDir: string; fragment: string; log: string; reporter: ProgressReporter; signal?: AbortSignal; estimate?: { total: number; basis: string } },
) {
  const { makeArgs, env } = makeEnvironment(outDir, opts);
  const started = Date.now();
  let compiled = 0;
  const progress = throttle(30_000, () => opts.reporter.stage('kernel', `still building: ${compiled} files compiled, ${formatDuration(Date.now() - started)}`));
  await run('make', [...makeArgs, `-j${opts.jobs}`, 'bzImage', 'modules'], {
    cwd: source.tree,
    env,
    cleanEnv: true,
    log: opts.log,
    signal: opts.signal,
    errorCode: 'KERNEL_BUILD_FAILED',
    onLine: (line) => {
      if (COMPILED.test(line)) {
        compiled++;
        opts.reporter.progress('kernel', { done: compiled, total: opts.estimate?.total, unit: 'files', basis: opts.estimate?.basis });
      }
      opts.reporter.detail('kernel', line);
      progress();
    },
  });
  const release = (await run('make', [...makeArgs, '-s', 'kernelrelease'], { cwd: source.tree, env, cleanEnv: true, signal: opts.signal, errorCode: 'KERNEL_BUILD_FAILED' })).stdout.trim();
  return { buildSeconds: (Date.now() - started) / 1000, release, compiled };
}

interface Configured {
  configText: string;
  configSha256: string;
  key: string;
  entryDir: string;
}

/** The base config and fragments merged into `dir`, every requested option verified; the entry the result would be. */
async function configureIn(dir: string, source: KernelSource, fragment: string, compiler: string, opts: BuildOptions & { ccache: boolean }): Promise<Configured> {
  opts.reporter.stage('kernel', `configuring ${source.version}: ${BASE_CONFIG} + lab fragments (log: ${opts.log})`);
  const configText = await configureKernel(source, fragment, dir, { log: opts.log, signal: opts.signal, ccache: opts.ccache, cacheDir: opts.cacheDir });
  const configSha256 = sha256(configText);
  const key = entryKey({ sourceId: source.id, configSha256, compiler, revision: KBUILD_REVISION, flavor: opts.flavor });
  return { configText, configSha256, key, entryDir: join(opts.cacheDir, 'kernels', `${source.version}-${opts.flavor}-${key.slice(0, 16)}`) };
}

/** A scratch folder under tmp/ for the duration of `fn` (lab/core/scratch.ts: what a killed build leaves, the next run and `lab cache prune` remove). */
function inTemporaryFolder<T>(cacheDir: string, fn: (dir: string) => Promise<T>): Promise<T> {
  return withScratch(join(cacheDir, 'tmp'), 'kbuild', fn);
}

async function configureAndBuild(source: KernelSource, fragment: string, compiler: string, opts: BuildOptions): Promise<BuildResult> {
  const ccache = Boolean(await which('ccache'));
  const tree = opts.keptTree === false ? undefined : keptTree(opts.cacheDir, source, { flavor: opts.flavor, compiler, revision: KBUILD_REVISION });
  if (!tree) return inTemporaryFolder(opts.cacheDir, (tmp) => buildFromScratch(tmp, source, fragment, compiler, { ...opts, ccache }));
  return withLock(
    tree.lock,
    () => buildInKeptTree(tree, source, fragment, compiler, { ...opts, ccache }),
    () => opts.reporter.stage('kernel', `waiting for another lab process, which is building in the kept tree ${tree.dir}`),
  );
}

/** The clean build: configure and make in an empty temporary folder, which becomes the entry. */
async function buildFromScratch(tmp: string, source: KernelSource, fragment: string, compiler: string, opts: BuildOptions & { ccache: boolean }): Promise<BuildResult> {
  const jobs = opts.jobs ?? availableParallelism();
  // Same-depth temporary folders under the cache root keep ccache hits across builds (CCACHE_BASEDIR).
  const c = await configureIn(tmp, source, fragment, compiler, opts);
  const existing = await loadEntry(c.entryDir);
  if (existing) return { build: existing, cacheHit: true };
  await removeInside(opts.cacheDir, c.entryDir);
  opts.reporter.stage('kernel', `building ${source.version} with make -j${jobs}${opts.ccache ? ' (ccache)' : ''}`);
  const estimate = await estimateCompiledFiles(opts.cacheDir, source.version, opts.flavor, c.configText);
  const made = await makeKernel(source, tmp, { ...opts, fragment, jobs, estimate });
  return publishEntry(tmp, source, c, compiler, opts, { ...made, jobs });
}

/**
 * A cache miss with a kept tree: configure in it exactly as a clean build
 * configures (so its .config is the one a clean build would have), let make
 * rebuild what the options that changed touch, and copy the tree into the
 * entry. A tree that is not trusted starts again from scratch; so does one
 * whose incremental build fails, once.
 */
async function buildInKeptTree(tree: KeptTree, source: KernelSource, fragment: string, compiler: string, opts: BuildOptions & { ccache: boolean }): Promise<BuildResult> {
  const choice = await chooseTreeBuild(tree);
  if (choice.build === 'scratch' && choice.discard) {
    opts.reporter.warn('kernel', `kept tree ${tree.dir} is not trusted (${choice.discard}): building it again from scratch`);
    await discardTree(opts.cacheDir, tree);
  }
  try {
    return await buildTreeOnce(tree, choice, source, fragment, compiler, opts);
  } catch (e) {
    if (choice.build !== 'incremental' || !(e instanceof InfraError && e.code === 'KERNEL_BUILD_FAILED')) throw e;
    opts.reporter.warn('kernel', `the incremental build in ${tree.dir} failed (${e.message}): building the tree again from scratch`);
    await discardTree(opts.cacheDir, tree);
    return buildTreeOnce(tree, { build: 'scratch' }, source, fragment, compiler, opts);
  }
}

async function buildTreeOnce(
  tree: KeptTree,
  choice: TreeChoice,
  source: KernelSource,
  fragment: string,
  compiler: string,
  opts: BuildOptions & { ccache: boolean },
): Promise<BuildResult> {
  const jobs = opts.jobs ?? availableParallelism();
  const previous = choice.build === 'incremental' ? choice.record : undefined;
  await mkdir(tree.dir, { recursive: true });
  // A failure here changed only .config, which the next configure writes again: the tree stays trusted.
  const c = await configureIn(tree.dir, source, fragment, compiler, opts);
  const existing = await loadEntry(c.entryDir);
  if (existing) {
    if (!previous) await discardTree(opts.cacheDir, tree);
    return { build: existing, cacheHit: true };
  }
  await removeInside(opts.cacheDir, c.entryDir);
  await writeTreeRecord(tree, previous, { state: 'building' });
  opts.reporter.stage(
    'kernel',
    previous
      ? `building ${source.version} incrementally in the kept tree ${tree.dir} (last built with config ${previous.configSha256?.slice(0, 12)}) with make -j${jobs}${opts.ccache ? ' (ccache)' : ''}`
      : `building ${source.version} in a new kept tree ${tree.dir} with make -j${jobs}${opts.ccache ? ' (ccache)' : ''}`,
  );
  const estimate = previous ? undefined : await estimateCompiledFiles(opts.cacheDir, source.version, opts.flavor, c.configText);
  const made = await makeKernel(source, tree.dir, { ...opts, fragment, jobs, estimate });
  await writeTreeRecord(tree, previous, { state: 'ready', configSha256: c.configSha256, builds: (previous?.builds ?? 0) + 1 });
  // The entry is a copy: the tree keeps its objects for the next build.
  return inTemporaryFolder(opts.cacheDir, async (tmp) => {
    await run('cp', ['-a', '--reflink=auto', `${tree.dir}/.`, tmp], { errorCode: 'KERNEL_BUILD_FAILED' });
    return publishEntry(tmp, source, c, compiler, opts, { ...made, jobs, tree: { name: tree.name, incremental: Boolean(previous), compiled: made.compiled } });
  });
}

/**
 * A finished O= folder made into the cache entry: object files go (not needed
 * to boot or to build modules out of tree; scripts/ and tools/ keep theirs),
 * the record and the log are added, and the folder is renamed into place.
 */
async function publishEntry(
  tmp: string,
  source: KernelSource,
  c: Configured,
  compiler: string,
  opts: BuildOptions & { ccache: boolean },
  made: { buildSeconds: number; release: string; compiled: number; jobs: number; tree?: KernelBuild['tree'] },
): Promise<BuildResult> {
  // The key hashes the .config verified before the build: make must not have changed it (syncconfig may rewrite it).
  if ((await readFile(join(tmp, '.config'), 'utf8')) !== c.configText) {
    throw new InfraError('KERNEL_BUILD_FAILED', `the .config changed during the build (${source.version}): the entry would not be the config asked for`, { log: opts.log });
  }
  await run('find', [tmp, '-name', '*.o', '-not', '-path', `${tmp}/scripts/*`, '-not', '-path', `${tmp}/tools/*`, '-delete']);
  const build: KernelBuild = {
    ...buildRecord(source, { key: c.key, buildDir: c.entryDir, release: made.release, configSha256: c.configSha256, compiler, flavor: opts.flavor, buildSeconds: made.buildSeconds, jobs: made.jobs, ccache: opts.ccache, fragment: renderFragment(opts.fragments) }),
    ...(made.tree ? { tree: made.tree } : {}),
    bzImageSha256: await sha256File(join(tmp, 'arch/x86/boot/bzImage')),
  };
  await writeFile(join(tmp, META), JSON.stringify(build, null, 2));
  await copyFile(opts.log, join(tmp, 'build.log')).catch(() => undefined);
  await mkdir(join(opts.cacheDir, 'kernels'), { recursive: true });
  await rename(tmp, c.entryDir);
  const how = made.tree?.incremental ? `incrementally in ${made.tree.name} (${made.compiled} files compiled)` : `(${made.compiled} files compiled)`;
  opts.reporter.stage('kernel', `built ${made.release} in ${formatDuration(made.buildSeconds * 1000)} ${how} -> ${c.entryDir}`);
  return { build, cacheHit: false };
}

function buildRecord(
  source: KernelSource,
  { fragment, ...b }: { key: string; buildDir: string; release: string; configSha256: string; compiler: string; flavor: string; buildSeconds: number; jobs: number; ccache: boolean; fragment: string },
): Omit<KernelBuild, 'bzImageSha256'> {
  return {
    schemaVersion: 1,
    ...b,
    environment: recordedEnvironment(fragment),
    bzImage: join(b.buildDir, 'arch/x86/boot/bzImage'),
    sourceId: source.id,
    sourceVersion: source.version,
    sourceTree: source.tree,
    baseConfig: BASE_CONFIG,
    reproducer: reproducer(source, { jobs: b.jobs, flavor: b.flavor, fragment }),
    builtAt: new Date().toISOString(),
  };
}

/**
 * An incremental build in a tree the caller keeps (lab bisect: one tree for
 * every step). The first call configures it as buildKernel does (base config,
 * fragments, verification); later calls only run olddefconfig for the source
 * now checked out, verify again, and let make rebuild what changed. Nothing
 * goes to the content-addressed cache: the tree's bzImage is overwritten by
 * the next call.
 */
export async function buildInTree(source: KernelSource, buildDir: string, opts: BuildOptions): Promise<KernelBuild> {
  const { reporter, cacheDir, log } = opts;
  const jobs = opts.jobs ?? availableParallelism();
  const ccache = Boolean(await which('ccache'));
  const fragment = renderFragment(opts.fragments);
  await mkdir(buildDir, { recursive: true });
  let configText: string;
  if (!existsSync(join(buildDir, '.config'))) {
    reporter.stage('kernel', `configuring ${buildDir}: ${BASE_CONFIG} + lab fragments (log: ${log})`);
    configText = await configureKernel(source, fragment, buildDir, { log, signal: opts.signal, ccache, cacheDir });
  } else {
    const { makeArgs, env } = makeEnvironment(buildDir, { ccache, cacheDir, fragment });
    await run('make', [...makeArgs, 'olddefconfig'], { cwd: source.tree, env, cleanEnv: true, log, signal: opts.signal, errorCode: 'KERNEL_CONFIG_FAILED' });
    configText = await readFile(join(buildDir, '.config'), 'utf8');
    const final = parseDotConfig(configText);
    const dropped = verifyConfig(parseFragment(fragment, 'lab-fragment.config'), final);
    if (dropped.length) throw await droppedOptionsError(source.tree, dropped, join(buildDir, '.config'), final);
  }
  const compiler = await compilerIdentity();
  const configSha256 = sha256(configText);
  const key = entryKey({ sourceId: source.id, configSha256, compiler, revision: KBUILD_REVISION, flavor: opts.flavor });
  reporter.stage('kernel', `building ${source.version} incrementally in ${buildDir} with make -j${jobs}${ccache ? ' (ccache)' : ''}`);
  const { buildSeconds, release, compiled } = await oneBuildAtATime(cacheDir, reporter, () =>
    makeKernel(source, buildDir, { jobs, ccache, cacheDir, fragment, log, reporter, signal: opts.signal }),
  );
  reporter.stage('kernel', `built ${release} in ${formatDuration(buildSeconds * 1000)} (${compiled} files compiled)`);
  const build = buildRecord(source, { key, buildDir, release, configSha256, compiler, flavor: opts.flavor, buildSeconds, jobs, ccache, fragment });
  return { ...build, bzImageSha256: await sha256File(build.bzImage) };
}

const EMPTY_SHA256 = createHash('sha256').digest('hex').slice(0, 16);

/**
 * Commands that rebuild a kernel from its source, as printed, for every kind
 * of source: a tarball, a git tree (commit, plus its uncommitted changes), a
 * plain tree. They expect the merged fragment as kernel-fragment.config in the
 * folder they run from (the results folder has it).
 */
export function reproducer(source: KernelSource, opts: { jobs: number; flavor: string; fragment: string }): string[] {
  const { env, toolchains } = makeEnvironment('build', { ccache: false, cacheDir: '.', fragment: opts.fragment });
  const git = /^git:([0-9a-f]+):([0-9a-f]+)$/.exec(source.id);
  const fetch = git
    ? [
        formatCommand('git', ['clone', '--quiet', '--no-checkout', source.origin, 'src']),
        formatCommand('git', ['-C', 'src', 'checkout', '--quiet', git[1]!]),
        ...(git[2] !== EMPTY_SHA256 ? [`git -C ${formatCommand(source.origin, [])} diff HEAD | git -C src apply   # the tree's uncommitted changes (hash ${git[2]})`] : []),
      ]
    : source.origin.endsWith('.tar.xz')
      ? [`mkdir src && xz -dc ${formatCommand(source.origin, [])} | tar -x -C src --strip-components=1   # sha256 ${source.id}`]
      : [formatCommand('cp', ['-a', source.origin, 'src'])];
  const m = (args: string[]) => formatCommand('make', ['-C', 'src', 'O=../build', `ARCH=${ARCH}`, ...toolchains, ...args]);
  return [
    `# Linux ${source.version}, flavor ${opts.flavor}: ${BASE_CONFIG} + kernel-fragment.config, built as the lab builds it`,
    `export ${Object.entries(env)
      .filter(([k]) => k.startsWith('KBUILD_') || ['PATH', 'LC_ALL', 'TZ'].includes(k))
      .map(([k, v]) => `${k}=${formatCommand(v, [])}`)
      .join(' ')}`,
    ...fetch,
    m([BASE_CONFIG]),
    formatCommand('src/scripts/kconfig/merge_config.sh', ['-m', '-O', 'build', 'build/.config', 'kernel-fragment.config']),
    m(['olddefconfig']),
    m([`-j${opts.jobs}`, 'bzImage', 'modules']),
  ];
}
