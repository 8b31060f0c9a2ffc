/**
 * Resolve a kernel spec to a source tree on disk. Sources are tried in order
 * and every attempt is reported, so an offline failure says what was tried:
 *   1. the cache (an already extracted tree for that tarball)
 *   2. local tarballs: /usr/src/linux-source-<series>.tar.xz
 *   3. Debian's linux-source-<series> package, installed on demand as root
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { extract } from 'tar';
import { InputError, InfraError } from '../core/errors.ts';
import type { Reporter } from '../core/reporter.ts';
import { debianSourceSeries, sourcePackage } from '../host/requirements.ts';
import { ensurePackages } from '../host/setup.ts';
import { formatSpec, versionFromMakefile, type KernelSpec } from './spec.ts';

export interface KernelSource {
  /** Exact version from the tree's Makefile, e.g. 6.12.117. */
  version: string;
  /** Extracted tree, shared read-only by every build of this source. */
  tree: string;
  /** Content identity: sha256 of the tarball. */
  id: string;
  origin: string;
}

export interface SourceOptions {
  cacheDir: string;
  tarballDir?: string;
  reporter: Reporter;
  /** Install Debian's linux-source-<series> when missing (needs root). */
  installPackages?: boolean;
  setupLog?: string;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function resolveSource(spec: KernelSpec, opts: SourceOptions): Promise<KernelSource> {
  const tried: string[] = [];
  const tarballDir = opts.tarballDir ?? '/usr/src';
  const tarball = join(tarballDir, `${sourcePackage(spec.series)}.tar.xz`);
  if (!existsSync(tarball) && opts.installPackages && debianSourceSeries.includes(spec.series)) {
    opts.reporter.stage('source', `${tarball} missing: installing Debian package ${sourcePackage(spec.series)}`);
    await ensurePackages([sourcePackage(spec.series)], opts.reporter, { log: opts.setupLog });
  }
  if (existsSync(tarball)) {
    const src = await fromTarball(tarball, opts);
    if (spec.patch === undefined || src.version === formatSpec(spec)) return src;
    tried.push(`${tarball}: holds ${src.version}, not ${formatSpec(spec)}`);
  } else {
    tried.push(`${tarball}: missing`);
    tried.push(
      debianSourceSeries.includes(spec.series)
        ? `Debian package ${sourcePackage(spec.series)}: not installed`
        : `Debian package ${sourcePackage(spec.series)}: Debian ships no such package`,
    );
  }
  throw new InputError(
    'KERNEL_NOT_AVAILABLE',
    `--kernel ${spec.raw}: no source found (tried: ${tried.join('; ')}); available offline: ${debianSourceSeries.join(', ')}`,
    { value: spec.raw },
  );
}

/** Extract a tarball once into the cache, keyed by its sha256. */
export async function fromTarball(tarball: string, opts: SourceOptions): Promise<KernelSource> {
  const id = await sha256File(tarball);
  const sourcesDir = join(opts.cacheDir, 'sources');
  const stampName = '.lab-source.json';
  await mkdir(sourcesDir, { recursive: true });
  const existing = await findExtracted(sourcesDir, id, stampName);
  if (existing) {
    opts.reporter.stage('source', `cache hit: ${existing.version} (${existing.tree})`);
    return { ...existing, origin: tarball };
  }
  if (opts.installPackages) await ensurePackages(['xz-utils'], opts.reporter, { log: opts.setupLog });
  opts.reporter.stage('source', `extracting ${tarball}`);
  const tmp = join(sourcesDir, `.tmp-${id.slice(0, 12)}-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await extractTarXz(tarball, tmp);
  const makefile = await readFile(join(tmp, 'Makefile'), 'utf8').catch(() => {
    throw new InfraError('NOT_A_KERNEL_TREE', `${tarball}: no Makefile at the top of the archive`);
  });
  const version = versionFromMakefile(makefile);
  await writeFile(join(tmp, stampName), JSON.stringify({ id, version, tarball }, null, 2));
  const tree = join(sourcesDir, `${version}-${id.slice(0, 12)}`);
  await rm(tree, { recursive: true, force: true });
  await rename(tmp, tree);
  return { version, tree, id, origin: tarball };
}

async function findExtracted(sourcesDir: string, id: string, stampName: string) {
  const { readdir } = await import('node:fs/promises');
  for (const name of await readdir(sourcesDir)) {
    if (!name.endsWith(`-${id.slice(0, 12)}`)) continue;
    try {
      const stamp = JSON.parse(await readFile(join(sourcesDir, name, stampName), 'utf8')) as { id: string; version: string };
      if (stamp.id === id) return { id, version: stamp.version, tree: join(sourcesDir, name) };
    } catch {
      // no stamp: an interrupted or foreign extraction, ignored and replaced
    }
  }
  return undefined;
}

/**
 * The npm tar package does not decompress xz: the system xz streams into it.
 * The archive's top folder (linux-source-6.12/) is stripped.
 */
export async function extractTarXz(tarball: string, dest: string): Promise<void> {
  const xz = execa('xz', ['-dc', tarball], { stdout: 'pipe', stderr: 'pipe', buffer: { stdout: false } });
  const untar = extract({ cwd: dest, strip: 1 });
  xz.stdout.pipe(untar);
  const done = new Promise<void>((resolve, reject) => {
    untar.on('finish', resolve);
    untar.on('error', reject);
  });
  try {
    await Promise.all([xz, done]);
  } catch (e) {
    throw new InfraError('EXTRACT_FAILED', `extracting ${tarball} failed: ${(e as Error).message}`, { tarball }, { cause: e });
  }
}
