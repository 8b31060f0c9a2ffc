/**
 * Kernel tarballs from a kernel.org-layout mirror: resolve the newest patch
 * release of a series from the directory listing, download with progress and
 * retries, and verify the tarball against the mirror's sha256sums.asc before
 * anything extracts it (and the signature too, where gpg has the kernel.org
 * keys). A checksum mismatch deletes the download.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pRetry, { AbortError } from 'p-retry';
import { InfraError } from '../core/errors.ts';
import { withLock } from '../core/lock.ts';
import { withScratch } from '../core/scratch.ts';
import { run, which } from '../core/proc.ts';
import { formatDuration, throttle, type ProgressReporter } from '../core/reporter.ts';
import type { KernelSpec } from './spec.ts';

function seriesDir(base: string, series: string): string {
  return `${base}/v${series.split('.')[0]}.x`;
}

/** Versions of a series named by tarballs in a directory listing (HTML or plain). */
export function versionsInListing(listing: string, series: string): string[] {
  const re = new RegExp(`linux-(${series.replace('.', '\\.')}(?:\\.\\d+)?)\\.tar\\.xz\\b`, 'g');
  const found = new Set<string>();
  for (const m of listing.matchAll(re)) found.add(m[1]!);
  return [...found].sort((a, b) => patchOf(a) - patchOf(b));
}

const patchOf = (v: string) => Number(v.split('.')[2] ?? 0);

/** sha256sums.asc: "<sha256>  <file>" lines, inside a PGP clear-signature. */
export function parseSha256Sums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{64})\s+\*?(\S+)$/.exec(line.trim());
    if (m) sums.set(m[2]!, m[1]!);
  }
  return sums;
}

interface MirrorOptions {
  base: string;
  downloadsDir: string;
  reporter: ProgressReporter;
  /** Per request; a listing that does not answer within it fails the attempt. */
  timeoutMs?: number;
  retries?: number;
  signal?: AbortSignal;
}

async function fetchOk(url: string, opts: MirrorOptions, headers: Record<string, string> = {}): Promise<Response> {
  const signals = [AbortSignal.timeout(opts.timeoutMs ?? 15_000), ...(opts.signal ? [opts.signal] : [])];
  const res = await fetch(url, { headers, signal: AbortSignal.any(signals) });
  if (res.status === 404) throw new AbortError(`${url}: 404 not found`);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res;
}

function retrying<T>(what: string, opts: MirrorOptions, fn: () => Promise<T>): Promise<T> {
  return pRetry(fn, {
    retries: opts.retries ?? 3,
    minTimeout: 500,
    maxTimeout: 4000,
    onFailedAttempt: (e) => {
      if (e.retriesLeft > 0) opts.reporter.warn('source', `${what}: ${e.message} (attempt ${e.attemptNumber}, retrying)`);
    },
  });
}

const describe = (e: unknown) => {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const why = err.cause?.code ?? err.cause?.message;
  return why ? `${err.message} (${why})` : err.message;
};

/** Every release of a series the mirror's listing names, oldest first. */
export async function mirrorVersions(series: string, opts: MirrorOptions): Promise<string[]> {
  const url = `${seriesDir(opts.base, series)}/`;
  const listing = await retrying(`listing ${url}`, opts, async () => (await fetchOk(url, opts)).text()).catch((e: unknown) => {
    throw new InfraError('MIRROR_UNREACHABLE', `${url}: ${describe(e)}`, { url });
  });
  const versions = versionsInListing(listing, series);
  if (versions.length === 0) throw new InfraError('MIRROR_NO_SUCH_SERIES', `${url} lists no linux-${series}*.tar.xz`, { url });
  return versions;
}

/** The exact version a spec means on this mirror: the spec itself, or the newest patch of its series. */
export async function resolveOnMirror(spec: KernelSpec, opts: MirrorOptions): Promise<string> {
  if (spec.patch !== undefined) return `${spec.series}.${spec.patch}`;
  return (await mirrorVersions(spec.series, opts)).at(-1)!;
}

/**
 * The mirror's ChangeLog-<version> (the stable release's commits, in `git log`
 * form), or undefined where the mirror has none or does not answer.
 */
export async function mirrorChangeLog(version: string, opts: MirrorOptions): Promise<string | undefined> {
  const url = `${seriesDir(opts.base, version)}/ChangeLog-${version}`;
  return retrying(`fetching ${url}`, opts, async () => (await fetchOk(url, opts)).text()).catch(() => undefined);
}

/**
 * Download linux-<version>.tar.xz and verify it. Returns the verified file in
 * the downloads cache; a verified file already there is reused.
 */
export async function downloadVerified(version: string, opts: MirrorOptions): Promise<{ tarball: string; sha256: string; signature: string }> {
  const name = `linux-${version}.tar.xz`;
  const dir = seriesDir(opts.base, version.split('.').slice(0, 2).join('.'));
  const dest = join(opts.downloadsDir, name);
  const stamp = `${dest}.verified.json`;
  const verified = async () => {
    if (!existsSync(dest) || !existsSync(stamp)) return undefined;
    const s = JSON.parse(await readFile(stamp, 'utf8')) as { sha256: string; signature: string };
    opts.reporter.stage('source', `cache hit: ${dest} (verified ${s.sha256.slice(0, 12)})`);
    return { tarball: dest, ...s };
  };
  const hit = await verified();
  if (hit) return hit;
  await mkdir(opts.downloadsDir, { recursive: true });
  // one download of a release at a time (two kernels of one run, two processes): the second waits and finds the file
  return withLock(join(opts.downloadsDir, '.locks', name), async () => (await verified()) ?? (await withScratch(opts.downloadsDir, '.part', (part) => fetchVerified({ name, dir, dest, stamp, partial: join(part, name) }, opts))), () =>
    opts.reporter.stage('source', `waiting for another lab process downloading ${name}`),
  );
}

/** Fetch the checksums (and check their signature), download into `partial`, verify, move to `dest` with its stamp. */
async function fetchVerified(
  f: { name: string; dir: string; dest: string; stamp: string; partial: string },
  opts: MirrorOptions,
): Promise<{ tarball: string; sha256: string; signature: string }> {
  const { name, dir, dest, stamp, partial } = f;
  const sumsUrl = `${dir}/sha256sums.asc`;
  const sumsText = await retrying(`fetching ${sumsUrl}`, opts, async () => (await fetchOk(sumsUrl, opts)).text()).catch((e: unknown) => {
    throw new InfraError('MIRROR_UNREACHABLE', `${sumsUrl}: ${describe(e)}`, { url: sumsUrl });
  });
  const expected = parseSha256Sums(sumsText).get(name);
  if (!expected) throw new InfraError('CHECKSUM_MISSING', `${sumsUrl} has no sha256 for ${name}`, { url: sumsUrl });
  const signature = await verifySignature(sumsText, opts);

  const url = `${dir}/${name}`;
  const started = Date.now();
  const actual = await retrying(`downloading ${url}`, opts, async () => {
    const res = await fetchOk(url, { ...opts, timeoutMs: 30 * 60_000 });
    const total = Number(res.headers.get('content-length') ?? 0);
    let got = 0;
    const hash = createHash('sha256');
    const progress = throttle(5000, () =>
      opts.reporter.stage('source', `downloading ${name}: ${(got / 2 ** 20).toFixed(1)}${total ? ` of ${(total / 2 ** 20).toFixed(1)}` : ''} MiB`),
    );
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
    body.on('data', (chunk: Buffer) => {
      got += chunk.length;
      hash.update(chunk);
      opts.reporter.progress('source', { done: got, total: total || undefined, unit: 'bytes' });
      progress();
    });
    await pipeline(body, createWriteStream(partial));
    if (total && got !== total) throw new Error(`short download: ${got} of ${total} bytes`);
    return hash.digest('hex');
  }).catch(async (e: unknown) => {
    await rm(partial, { force: true });
    throw new InfraError('DOWNLOAD_FAILED', `${url}: ${describe(e)}`, { url });
  });
  if (actual !== expected) {
    await rm(partial, { force: true });
    throw new InfraError('CHECKSUM_MISMATCH', `${name}: sha256 ${actual} does not match ${expected} from ${sumsUrl}; the download was deleted`, {
      url,
      expected,
      actual,
    });
  }
  await rename(partial, dest);
  await writeFile(stamp, JSON.stringify({ sha256: actual, signature, url, at: new Date().toISOString() }, null, 2));
  opts.reporter.stage('source', `downloaded and verified ${name} in ${formatDuration(Date.now() - started)} (sha256 ok; signature: ${signature})`);
  return { tarball: dest, sha256: actual, signature };
}

/** gpg --verify on the clear-signed checksum file, when gpg is installed; never fatal unless the signature is bad. */
async function verifySignature(text: string, opts: MirrorOptions): Promise<string> {
  if (!(await which('gpg'))) {
    opts.reporter.warn('source', 'signature not verified: gpg is not installed (checksum verified)');
    return 'not verified (no gpg)';
  }
  const r = await run('gpg', ['--batch', '--verify'], { input: text, okExitCodes: [1, 2] });
  if (r.exitCode === 0) return 'good';
  if (/BAD signature/.test(r.stderr)) {
    throw new InfraError('BAD_SIGNATURE', `sha256sums.asc has a BAD signature: ${r.stderr.trim()}`);
  }
  opts.reporter.warn('source', `signature not verified: ${r.stderr.trim().split('\n').pop()} (import the kernel.org keys to check it)`);
  return 'not verified (no key)';
}
