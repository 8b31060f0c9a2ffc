/**
 * Resolve a kernel spec to a source tree on disk. Sources are tried in order,
 * offline ones first, and every attempt is reported, so a failure says what
 * was tried and why:
 *   1. the cache: a tree already extracted for that version
 *   2. local tarballs: /usr/src/linux-source-<series>.tar.xz, and linux-<version>.tar.xz
 *      or linux-source-<series>.tar.xz in LAB_TARBALL_DIR
 *   3. Debian's linux-source-<series>: the host's package, installed on demand as root; else
 *      Debian's archive, every suite the lab knows (lab/kernel/debian.ts), for any user
 *   4. a kernel.org-layout mirror (LAB_KERNEL_MIRROR), checksum-verified
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { InputError, InfraError, InterruptedError, isLabError, SetupNeededError, type InfraErrorCode } from '../core/errors.ts';
import { writeFileAtomic } from '../core/files.ts';
import { withLock } from '../core/lock.ts';
import { run } from '../core/proc.ts';
import { withScratch } from '../core/scratch.ts';
import type { ProgressReporter } from '../core/reporter.ts';
import { debianSourceSeries, sourcePackage } from '../host/requirements.ts';
import { ensurePackages } from '../host/setup.ts';
import { DEBIAN_SUITES, DebianArchive } from './debian.ts';
import { downloadVerified, resolveOnMirror } from './mirror.ts';
import { compareVersions, formatSpec, LTS_SERIES, versionFromMakefile, type KernelSpec } from './spec.ts';

export interface KernelSource {
  /** Exact version from the tree's Makefile, e.g. 6.12.117. */
  version: string;
  /** Extracted tree, shared read-only by every build of this source. */
  tree: string;
  /** Content identity: sha256 of the tarball, or git commit + diff hash of a local tree. */
  id: string;
  origin: string;
}

export interface SourceOptions {
  cacheDir: string;
  reporter: ProgressReporter;
  /** Install Debian's linux-source-<series> when missing (needs root). */
  installPackages?: boolean;
  setupLog?: string;
  /** Directories searched for tarballs besides /usr/src (the config's tarballDirs). */
  tarballDirs?: string[];
  /** Mirror base URL (the config's kernelMirror); '' or absent disables downloads. */
  mirror?: string;
  /** Debian's archive through the lab's own apt state (the config's debianArchive); only with installPackages. */
  debianArchive?: boolean;
  mirrorTimeoutMs?: number;
  mirrorRetries?: number;
  signal?: AbortSignal;
}

/**
 * sha256 of a file, read through one reused 1 MiB buffer: a run hashes its
 * kernel tarball (140-150 MB) every time, and a read stream's fresh 64 KiB
 * chunks left about 32 MB of garbage per tarball for the GC to find later,
 * the largest share of the harness's peak memory (two kernels at once: more).
 */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(2 ** 20);
  const file = await open(path, 'r');
  try {
    for (;;) {
      const { bytesRead } = await file.read(buf, 0, buf.length, null);
      if (!bytesRead) break;
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await file.close();
  }
  return h.digest('hex');
}

const STAMP = '.lab-source.json';

/**
 * A tarball's sha256, remembered per (path, device, inode, size, mtime) in the
 * cache: hashing a 140-150 MB kernel tarball took about 0.3 s of every run,
 * the largest share of a warm `lab exec` before the guest. A tarball changed
 * in any way that touches those is hashed again.
 */
export async function tarballSha256(tarball: string, cacheDir: string): Promise<string> {
  const st = await stat(tarball);
  const identity = `${resolve(tarball)}\0${st.dev}\0${st.ino}\0${st.size}\0${st.mtimeMs}`;
  const memo = join(cacheDir, 'sources', '.hashes', `${createHash('sha256').update(identity).digest('hex').slice(0, 24)}.json`);
  const known = await readFile(memo, 'utf8').then((t) => JSON.parse(t) as { identity: string; sha256: string }, () => undefined);
  if (known?.identity === identity && /^[0-9a-f]{64}$/.test(known.sha256)) return known.sha256;
  const sha256 = await sha256File(tarball);
  await mkdir(join(cacheDir, 'sources', '.hashes'), { recursive: true });
  await writeFileAtomic(memo, JSON.stringify({ identity, sha256 }));
  return sha256;
}

/** Versions whose trees are already extracted in the cache. */
export async function cachedVersions(cacheDir: string): Promise<{ version: string; id: string; tree: string; origin: string }[]> {
  const dir = join(cacheDir, 'sources');
  const out = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    // .tmp-*: an extraction under way, .hashes: memos
    if (name.startsWith('.')) continue;
    try {
      const stamp = JSON.parse(await readFile(join(dir, name, STAMP), 'utf8')) as { id: string; version: string; tarball?: string; origin?: string };
      out.push({ version: stamp.version, id: stamp.id, tree: join(dir, name), origin: stamp.origin ?? stamp.tarball ?? name });
    } catch {
      // no stamp: an interrupted or foreign extraction
    }
  }
  return out;
}

/** linux-<version>.tar.xz files in the given folders, newest release first (the version is read from the name). */
export async function localReleaseTarballs(dirs: readonly string[]): Promise<{ path: string; version: string }[]> {
  const out: { path: string; version: string }[] = [];
  for (const d of dirs) {
    for (const name of await readdir(d).catch(() => [] as string[])) {
      const m = /^linux-(\d+\.\d+(?:\.\d+)?)\.tar\.xz$/.exec(name);
      if (m) out.push({ path: join(d, name), version: m[1]! });
    }
  }
  return out.sort((a, b) => compareVersions(b.version, a.version));
}

/** What can be built without a network: Debian's series, extracted trees, and local release tarballs. */
export async function offlineVersions(cacheDir: string, tarballDirs: readonly string[] = []): Promise<string[]> {
  const cached = (await cachedVersions(cacheDir)).map((c) => c.version);
  const local = (await localReleaseTarballs(tarballDirs)).map((t) => t.version);
  return [...new Set([...debianSourceSeries, ...cached, ...local])].sort(compareVersions);
}

/**
 * The newest stable series the sources offer: Debian's archive (when it may be used), the host's
 * Debian series, the cache and local tarballs. `--kernel newest` is it, so the nightly picks up
 * 7.4 the day a suite has linux-source-7.4.
 */
export async function newestSeries(opts: SourceOptions): Promise<{ series: string; from: string }> {
  const offline = (await offlineVersions(opts.cacheDir, opts.tarballDirs)).map((v) => v.split('.').slice(0, 2).join('.'));
  let archive: string[] = [];
  if (opts.installPackages && opts.debianArchive !== false) {
    const a = new DebianArchive(opts.cacheDir, opts.reporter, opts.setupLog);
    archive = await a.prepare().then(
      (p) => (p.ok ? a.series() : []),
      () => [],
    );
  }
  const all = [...new Set([...archive, ...offline])].sort(compareVersions);
  const series = all.at(-1)!;
  return { series, from: archive.includes(series) ? "Debian's archive" : 'the sources available offline' };
}

/** lab run's and lab matrix's kernels with `lts` and `newest` replaced by the series they name, each once. */
export async function expandKernels(items: readonly string[], opts: SourceOptions): Promise<string[]> {
  const out: string[] = [];
  for (const item of items.map((i) => i.trim())) {
    if (item === 'lts') out.push(...LTS_SERIES);
    else if (item === 'newest') {
      const n = await newestSeries(opts);
      opts.reporter.stage('source', `newest: ${n.series} (from ${n.from})`);
      out.push(n.series);
    } else out.push(item);
  }
  return [...new Set(out)];
}

/** One resolution of a --kernel spec: what each source said, for the error when none serves. */
interface Search {
  spec: KernelSpec;
  opts: SourceOptions;
  wanted: string;
  matches: (version: string) => boolean;
  tried: string[];
  /** Installing Debian's package needs root: exit 4 if nothing else serves. */
  needsRoot?: SetupNeededError;
  /** A mirror that did not answer, or a download that broke: infrastructure (exit 3, worth a retry), not bad input. */
  unreachable?: InfraError;
}

/**
 * The sources of a --kernel spec, in order: the cache, Debian's package
 * (installed when missing), local tarballs, Debian's archive, the mirror.
 * The first that serves wins; when none does, the error lists what each said.
 */
export async function resolveSource(spec: KernelSpec, opts: SourceOptions): Promise<KernelSource> {
  const wanted = formatSpec(spec);
  const search: Search = {
    spec,
    opts,
    wanted,
    matches: (version) => (spec.patch === undefined ? version.startsWith(`${spec.series}.`) || version === spec.series : version === wanted),
    tried: [],
  };
  const dirs = ['/usr/src', ...(opts.tarballDirs ?? [])];
  // every local tarball for this spec, newest release first: Debian's, then linux-<version>.tar.xz by name
  const candidates = [
    ...dirs.map((d) => join(d, `${sourcePackage(spec.series)}.tar.xz`)),
    ...(await localReleaseTarballs(dirs.slice(1))).filter((t) => search.matches(t.version)).map((t) => t.path),
  ];
  const hit = await fromCache(search, candidates);
  if (hit) return hit;
  await installDebianPackage(search);
  return (await fromLocalTarballs(search, candidates, dirs)) ?? (await fromDebianArchive(search)) ?? (await fromMirror(search)) ?? noSource(search);
}

/** 1. the cache; for a series with a local tarball, the tarball decides the version (its extraction is cached by hash). */
async function fromCache(s: Search, candidates: string[]): Promise<KernelSource | undefined> {
  const cached = (await cachedVersions(s.opts.cacheDir)).filter((c) => s.matches(c.version)).sort((a, b) => compareVersions(b.version, a.version));
  if (cached[0] && (s.spec.patch !== undefined || !candidates.some((c) => existsSync(c)))) {
    s.opts.reporter.stage('source', `cache hit: ${cached[0].version} (${cached[0].tree})`);
    return cached[0];
  }
  s.tried.push(`cache: no extracted ${s.wanted}`);
  return undefined;
}

/** 2. Debian's package puts its tarball where the local tarballs are looked for; without root, the other sources may still serve. */
async function installDebianPackage(s: Search): Promise<void> {
  const { spec, opts } = s;
  const pkg = sourcePackage(spec.series);
  const debianTarball = join('/usr/src', `${pkg}.tar.xz`);
  if (!debianSourceSeries.includes(spec.series)) {
    s.tried.push(`Debian package ${pkg}: Debian ships no such package`);
    return;
  }
  if (existsSync(debianTarball) || !opts.installPackages) return;
  opts.reporter.stage('source', `${debianTarball} missing: installing Debian package ${pkg}`);
  try {
    await ensurePackages([pkg], opts.reporter, { log: opts.setupLog });
  } catch (e) {
    // exit 4 only when no other source serves
    if (!(e instanceof SetupNeededError)) throw e;
    s.needsRoot = e;
    s.tried.push(`Debian package ${pkg}: installing it needs root`);
    opts.reporter.stage('source', `installing ${pkg} needs root: trying local tarballs and the mirror`);
  }
}

/** 3. local tarballs: Debian's in /usr/src and the tarball folders, then linux-<version>.tar.xz there. */
async function fromLocalTarballs(s: Search, candidates: string[], dirs: string[]): Promise<KernelSource | undefined> {
  for (const tarball of candidates) {
    if (!existsSync(tarball)) {
      s.tried.push(`${tarball}: missing`);
      continue;
    }
    const src = await fromTarball(tarball, s.opts);
    if (s.matches(src.version)) return src;
    s.tried.push(`${tarball}: holds ${src.version}, not ${s.wanted}`);
  }
  if (!candidates.some((c) => /linux-\d/.test(c))) {
    for (const d of dirs.slice(1)) s.tried.push(`${d}: no linux-${s.spec.patch === undefined ? `${s.spec.series}.*` : s.wanted}.tar.xz`);
  }
  return undefined;
}

/** 4. Debian's archive: every suite the lab knows, any user (the .deb checked by apt, its tarball taken out). */
async function fromDebianArchive(s: Search): Promise<KernelSource | undefined> {
  const { opts } = s;
  if (!opts.installPackages || opts.debianArchive === false) return undefined;
  try {
    const archive = new DebianArchive(opts.cacheDir, opts.reporter, opts.setupLog);
    const prepared = await archive.prepare();
    if (!prepared.ok) {
      s.tried.push(`Debian's archive: ${prepared.why}`);
      return undefined;
    }
    const c = (await archive.candidates(s.spec.series)).find((x) => s.matches(x.version));
    if (!c) {
      s.tried.push(`Debian's archive: no linux-source-${s.spec.series} of ${s.wanted} in ${DEBIAN_SUITES.main.join(', ')}`);
      return undefined;
    }
    opts.reporter.stage('source', `Debian's archive: ${c.pkg} ${c.debianVersion} (${c.suite}) holds ${c.version}`);
    const src = await fromTarball(await archive.fetch(c), opts);
    if (s.matches(src.version)) return src;
    s.tried.push(`Debian's archive: ${c.pkg} ${c.debianVersion} holds ${src.version}, not ${s.wanted}`);
  } catch (e) {
    if (!(e instanceof InfraError) || !['DOWNLOAD_FAILED', 'COMMAND_FAILED'].includes(e.code)) throw e;
    s.tried.push(`Debian's archive: ${e.message}`);
    s.unreachable = e;
  }
  return undefined;
}

/** 5. the mirror (kernelMirror), when one is configured: the release resolved there, downloaded and verified. */
async function fromMirror(s: Search): Promise<KernelSource | undefined> {
  const { opts } = s;
  const base = opts.mirror ?? '';
  if (!base) {
    s.tried.push('mirror: disabled');
    return undefined;
  }
  try {
    const mirrorOpts = { base, downloadsDir: join(opts.cacheDir, 'downloads'), reporter: opts.reporter, timeoutMs: opts.mirrorTimeoutMs, retries: opts.mirrorRetries, signal: opts.signal };
    opts.reporter.stage('source', `asking ${base} for ${s.wanted}`);
    const version = await resolveOnMirror(s.spec, mirrorOpts);
    const dl = await downloadVerified(version, mirrorOpts);
    return await fromTarball(dl.tarball, opts);
  } catch (e) {
    if (!isLabError(e) || !['MIRROR_UNREACHABLE', 'MIRROR_NO_SUCH_SERIES', 'DOWNLOAD_FAILED'].includes(e.code)) throw e;
    s.tried.push(`mirror: ${e.message}`);
    if (e instanceof InfraError && e.code !== 'MIRROR_NO_SUCH_SERIES') s.unreachable = e;
    return undefined;
  }
}

/** No source served: exit 4 when root would have (Debian's package), 3 when a network source failed, else 2. */
async function noSource(s: Search): Promise<never> {
  const { spec, opts } = s;
  if (s.needsRoot) {
    throw new SetupNeededError(`--kernel ${spec.raw}: no source this user can use (tried: ${s.tried.join('; ')}); run: ${s.needsRoot.context.command}`, {
      command: s.needsRoot.context.command,
      value: spec.raw,
    });
  }
  const message = `--kernel ${spec.raw}: no source found (tried: ${s.tried.join('; ')}); available offline: ${(await offlineVersions(opts.cacheDir, opts.tarballDirs)).join(', ')}`;
  if (s.unreachable) throw new InfraError(s.unreachable.code as InfraErrorCode, message, { value: spec.raw, mirror: opts.mirror ?? '' });
  throw new InputError('KERNEL_NOT_AVAILABLE', message, { value: spec.raw });
}

/** A local kernel tree (a git checkout or an extracted tree), used in place: builds go to O= folders outside it. */
export async function fromTree(path: string, reporter: ProgressReporter): Promise<KernelSource> {
  const tree = resolve(path);
  const makefile = await readFile(join(tree, 'Makefile'), 'utf8').catch(() => {
    throw new InputError('NOT_A_KERNEL_TREE', `--kernel-src ${path}: no Makefile there; expected the top of a Linux source tree`, { value: path });
  });
  const version = versionFromMakefile(makefile);
  let id: string;
  const git = await run('git', ['-C', tree, 'rev-parse', 'HEAD'], { okExitCodes: [128] }).catch(() => undefined);
  if (git && git.exitCode === 0) {
    // commit + a hash of uncommitted changes: a dirty tree is a different source
    const diff = await run('git', ['-C', tree, 'diff', 'HEAD']);
    const untracked = await run('git', ['-C', tree, 'ls-files', '--others', '--exclude-standard']);
    id = `git:${git.stdout.trim()}:${createHash('sha256').update(diff.stdout).update(untracked.stdout).digest('hex').slice(0, 16)}`;
  } else {
    id = `tree:${await treeFingerprint(tree)}`;
  }
  reporter.stage('source', `local tree ${tree}: ${version} (${id.slice(0, 40)})`);
  return { version, tree, id, origin: tree };
}

/** Paths, sizes and modification times of every file: changes when any file does. */
async function treeFingerprint(root: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (dir: string): Promise<void> => {
    for (const ent of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, ent.name);
      if (ent.isDirectory()) {
        if (ent.name !== '.git') await walk(p);
      } else {
        const st = await stat(p);
        h.update(`${p.slice(root.length)}\0${st.size}\0${st.mtimeMs}\n`);
      }
    }
  };
  await walk(root);
  return h.digest('hex');
}

/**
 * Extract a tarball once into the cache, keyed by its sha256: under a lock
 * per tarball (two kernels of one run, or two processes, extract it once; the
 * second finds the first's tree), in a scratch folder of its own that is
 * renamed into place whole.
 */
export async function fromTarball(tarball: string, opts: SourceOptions): Promise<KernelSource> {
  const id = await tarballSha256(tarball, opts.cacheDir);
  const sourcesDir = join(opts.cacheDir, 'sources');
  await mkdir(sourcesDir, { recursive: true });
  const cached = async () => (await cachedVersions(opts.cacheDir)).find((c) => c.id === id);
  const hit = (c: KernelSource) => {
    opts.reporter.stage('source', `cache hit: ${c.version} (${c.tree})`);
    return { ...c, origin: tarball };
  };
  const existing = await cached();
  if (existing) return hit(existing);
  if (opts.installPackages) await ensurePackages(['xz-utils'], opts.reporter, { log: opts.setupLog });
  return withLock(
    join(opts.cacheDir, 'locks', `source-${id.slice(0, 16)}`),
    async () => {
      const done = await cached();
      if (done) return hit(done);
      opts.reporter.stage('source', `extracting ${tarball}`);
      return withScratch(sourcesDir, `.tmp-${id.slice(0, 12)}`, async (tmp) => {
        const warnings = await extractTarXz(tarball, tmp, opts.signal);
        if (warnings.length) {
          opts.reporter.stage('source', `warning: ${tarball}: ${warnings.length} entr${warnings.length === 1 ? 'y' : 'ies'} skipped or changed as unsafe: ${warnings.slice(0, 5).join('; ')}${warnings.length > 5 ? `; and ${warnings.length - 5} more` : ''}`);
        }
        const makefile = await readFile(join(tmp, 'Makefile'), 'utf8').catch(() => {
          throw new InputError('NOT_A_KERNEL_TREE', `${tarball}: no Makefile at the top of the archive; expected a Linux source tarball`, { value: tarball });
        });
        const version = versionFromMakefile(makefile);
        await writeFile(join(tmp, STAMP), JSON.stringify({ id, version, origin: tarball }, null, 2));
        const tree = join(sourcesDir, `${version}-${id.slice(0, 12)}`);
        // a folder of that name without this tarball's stamp (an older lab's interrupted extraction): replaced
        await rm(tree, { recursive: true, force: true });
        await rename(tmp, tree);
        return { version, tree, id, origin: tarball };
      });
    },
    () => opts.reporter.stage('source', `waiting for another lab process extracting ${tarball}`),
  );
}

/**
 * The npm tar package does not decompress xz: the system xz writes the plain
 * archive next to the destination, and the tar package extracts it in its
 * synchronous mode (on 6.12, 8 s + 11-33 s, where streaming xz into its
 * asynchronous extractor took 67-72 s and GNU tar 14 s). The synchronous
 * extractor runs in a worker thread, so progress lines and Ctrl-C are not held
 * up meanwhile. The top folder is stripped.
 */
async function extractTarXz(tarball: string, dest: string, signal?: AbortSignal): Promise<string[]> {
  // inside the destination (a scratch folder): nothing of this extraction lies outside it
  const plain = join(dest, '.lab-plain.tar');
  try {
    await run('xz', ['-dc', tarball], { stdoutFile: plain, signal, errorCode: 'EXTRACT_FAILED' });
    return await extractInWorker(plain, dest, signal);
  } catch (e) {
    if (signal?.aborted) throw new InterruptedError('SIGINT');
    throw new InfraError('EXTRACT_FAILED', `extracting ${tarball} failed: ${(e as Error).message}`, { tarball }, { cause: e });
  } finally {
    await rm(plain, { force: true });
  }
}

/**
 * The files belong to the user extracting them, whoever the archive names
 * (as root, tar keeps the archive's owners: a local user would own files of
 * a tree root compiles and whose host tools root runs). Entries the tar
 * package refuses or changes (a path with "..", an absolute path, a link
 * that leads out of the tree) come back as warnings naming them.
 */
const EXTRACT_WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const { x } = require(workerData.tar);
const warnings = [];
const onwarn = (code, message, data) => warnings.push(code + ': ' + message + (data && data.entry ? ' (' + data.entry.path + (data.entry.linkpath ? ' -> ' + data.entry.linkpath : '') + ')' : ''));
// an absolute path is made relative (and its first part stripped as every entry's is): inside the tree, but said
const filter = (path) => {
  if (path.startsWith('/')) warnings.push('absolute path, extracted into the tree: ' + path);
  return path.split('/').slice(1).join('/') !== '.lab-plain.tar';
};
x({ file: workerData.file, cwd: workerData.cwd, strip: 1, sync: true, preserveOwner: false, onwarn, filter });
parentPort.postMessage(warnings);
`;

function extractInWorker(file: string, cwd: string, signal?: AbortSignal): Promise<string[]> {
  const tar = createRequire(import.meta.url).resolve('tar');
  const worker = new Worker(EXTRACT_WORKER, { eval: true, workerData: { tar, file, cwd } });
  const abort = () => void worker.terminate();
  signal?.addEventListener('abort', abort, { once: true });
  return new Promise<string[]>((resolve, reject) => {
    worker.once('message', (warnings: string[]) => resolve(warnings));
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? resolve([]) : reject(new Error(signal?.aborted ? 'interrupted' : `extractor exited with ${code}`))));
  }).finally(() => signal?.removeEventListener('abort', abort));
}
