/**
 * The releases the lab can reach between two versions, through its source
 * order: extracted trees in the cache, local release tarballs, Debian's
 * archive (every suite it knows), the kernel.org-layout mirror. What a
 * release bisection chooses from; each release names where it was found.
 */
import { join } from 'node:path';
import { isLabError } from '../core/errors.ts';
import { compareVersions } from '../core/version.ts';
import { DebianArchive } from './debian.ts';
import { seriesOf } from './inputs.ts';
import { mirrorVersions } from './mirror.ts';
import { cachedVersions, localReleaseTarballs, type SourceOptions } from './source.ts';

interface ReachableRelease {
  version: string;
  /** Where it was found: "cache", "tarball <path>", "Debian <suite>", "mirror". */
  from: string[];
}

export interface ReleaseList {
  releases: ReachableRelease[];
  /** Per source, what it gave or why it gave nothing. */
  tried: string[];
}

const RELEASE = /^\d+\.\d+(\.\d+)?$/;
export const isRelease = (v: string): boolean => RELEASE.test(v);

/** Every release from `low` to `high` (both included), oldest first. */
export async function releasesBetween(low: string, high: string, opts: SourceOptions): Promise<ReleaseList> {
  const found = new Map<string, Set<string>>();
  const tried: string[] = [];
  const inRange = (v: string) => isRelease(v) && compareVersions(v, low) >= 0 && compareVersions(v, high) <= 0;
  const add = (v: string, from: string) => {
    if (!inRange(v)) return;
    found.set(v, (found.get(v) ?? new Set()).add(from));
  };

  const cached = await cachedVersions(opts.cacheDir);
  for (const c of cached) add(c.version, 'cache');
  tried.push(`cache: ${count(cached.map((c) => c.version).filter(inRange))}`);

  const tarballs = await localReleaseTarballs(opts.tarballDirs ?? []);
  for (const t of tarballs) add(t.version, `tarball ${t.path}`);
  tried.push(`local tarballs: ${count(tarballs.map((t) => t.version).filter(inRange))}`);

  const series = new Set([seriesOf(low), seriesOf(high)]);
  if (opts.installPackages && opts.debianArchive !== false) {
    const archive = new DebianArchive(opts.cacheDir, opts.reporter, opts.setupLog);
    const prepared = await archive.prepare().catch((e: unknown) => ({ ok: false as const, why: (e as Error).message }));
    if (!prepared.ok) tried.push(`Debian's archive: ${prepared.why}`);
    else {
      for (const s of await archive.series()) if (compareVersions(s, seriesOf(low)) >= 0 && compareVersions(s, seriesOf(high)) <= 0) series.add(s);
      const versions: string[] = [];
      for (const s of series) {
        for (const c of await archive.candidates(s)) {
          add(c.version, `Debian ${c.suite}`);
          if (inRange(c.version)) versions.push(c.version);
        }
      }
      tried.push(`Debian's archive: ${count([...new Set(versions)])}`);
    }
  } else tried.push("Debian's archive: not used");

  if (opts.mirror) {
    const mirror = { base: opts.mirror, downloadsDir: join(opts.cacheDir, 'downloads'), reporter: opts.reporter, timeoutMs: opts.mirrorTimeoutMs, retries: opts.mirrorRetries, signal: opts.signal };
    for (const s of series) {
      try {
        const versions = (await mirrorVersions(s, mirror)).filter(inRange);
        for (const v of versions) add(v, 'mirror');
        tried.push(`mirror ${s}: ${count(versions)}`);
      } catch (e) {
        if (!isLabError(e)) throw e;
        tried.push(`mirror ${s}: ${e.message}`);
      }
    }
  } else tried.push('mirror: disabled');

  const releases = [...found].map(([version, from]) => ({ version, from: [...from] })).sort((a, b) => compareVersions(a.version, b.version));
  return { releases, tried };
}

const count = (versions: string[]) => (versions.length ? [...new Set(versions)].sort(compareVersions).join(', ') : 'none in the range');
