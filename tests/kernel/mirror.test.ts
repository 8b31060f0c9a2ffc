import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InfraError, InputError } from '../../lab/core/errors.ts';
import { consoleReporter } from '../../lab/core/reporter.ts';
import { parseSha256Sums, versionsInListing } from '../../lab/kernel/mirror.ts';
import { resolveSource } from '../../lab/kernel/source.ts';
import { parseKernelSpec } from '../../lab/kernel/spec.ts';
import { fakeKernelTarball, serveMirror, sha256sums, type MirrorServer } from '../helpers/mirror.ts';
import { tempDir } from '../helpers/temp.ts';

/** The download path against a kernel.org-layout mirror served on 127.0.0.1 by the test. */
let tar57: Buffer;
let tar58: Buffer;
let server: MirrorServer | undefined;
beforeAll(async () => {
  tar57 = await fakeKernelTarball('6.6.57');
  tar58 = await fakeKernelTarball('6.6.58');
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const quiet = consoleReporter({ quiet: true });
const resolveFrom = (mirror: string, spec: string, cacheDir = tempDir('lab-cache-')) =>
  resolveSource(parseKernelSpec(spec), { cacheDir, reporter: quiet, mirror, tarballDirs: [], mirrorRetries: 2, mirrorTimeoutMs: 3000 });

describe('mirror listings and checksum files', () => {
  it('finds the versions of a series only', () => {
    const listing = '<a href="linux-6.6.tar.xz">x</a> linux-6.6.9.tar.xz linux-6.6.58.tar.xz linux-6.6.58.tar.sign linux-6.60.1.tar.xz linux-6.1.5.tar.xz';
    expect(versionsInListing(listing, '6.6')).toEqual(['6.6', '6.6.9', '6.6.58']);
  });

  it('reads sha256sums.asc inside its clear-signature', () => {
    const sums = parseSha256Sums(sha256sums({ 'linux-6.6.58.tar.xz': Buffer.from('x') }));
    expect(sums.get('linux-6.6.58.tar.xz')).toBe('2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881');
  });
});

describe('resolveSource from a mirror', () => {
  it('resolves the newest patch release, downloads it, verifies it, and extracts it', async () => {
    const files = { 'linux-6.6.57.tar.xz': tar57, 'linux-6.6.58.tar.xz': tar58 };
    server = await serveMirror('6', { files: { ...files, 'sha256sums.asc': sha256sums(files) } });
    const cacheDir = tempDir('lab-cache-');
    const src = await resolveFrom(server.url, '6.6', cacheDir);
    expect(src.version).toBe('6.6.58');
    expect(existsSync(join(src.tree, 'Makefile'))).toBe(true);
    expect(server.requests).toEqual(['/v6.x/', '/v6.x/sha256sums.asc', '/v6.x/linux-6.6.58.tar.xz']);
    // a second resolution is served from the cache, without the mirror
    const again = await resolveFrom(server.url, '6.6.58', cacheDir);
    expect(again.tree).toBe(src.tree);
    expect(server.requests).toHaveLength(3);
  });

  it('takes an exact release as asked', async () => {
    const files = { 'linux-6.6.57.tar.xz': tar57, 'linux-6.6.58.tar.xz': tar58 };
    server = await serveMirror('6', { files: { ...files, 'sha256sums.asc': sha256sums(files) } });
    expect((await resolveFrom(server.url, '6.6.57')).version).toBe('6.6.57');
  });

  it('rejects a tarball whose checksum does not match, and deletes it', async () => {
    server = await serveMirror('6', {
      files: { 'linux-6.6.58.tar.xz': tar58, 'sha256sums.asc': sha256sums({ 'linux-6.6.58.tar.xz': tar57 }) },
    });
    const cacheDir = tempDir('lab-cache-');
    const e = await resolveFrom(server.url, '6.6', cacheDir).catch((err: unknown) => err as InfraError);
    expect(e).toBeInstanceOf(InfraError);
    expect((e as InfraError).code).toBe('CHECKSUM_MISMATCH');
    expect((e as InfraError).message).toMatch(/linux-6\.6\.58\.tar\.xz: sha256 [0-9a-f]{64} does not match [0-9a-f]{64} .*the download was deleted/);
    // the download's scratch folder went with it; the lock folder (.locks) stays for the next download
    expect(readdirSync(join(cacheDir, 'downloads')).filter((n) => n !== '.locks')).toEqual([]);
    expect(existsSync(join(cacheDir, 'sources'))).toBe(false);
  });

  it('retries an interrupted download', async () => {
    const files = { 'linux-6.6.58.tar.xz': tar58 };
    server = await serveMirror('6', { files: { ...files, 'sha256sums.asc': sha256sums(files) }, interrupt: { file: 'linux-6.6.58.tar.xz', times: 1 } });
    const src = await resolveFrom(server.url, '6.6');
    expect(src.version).toBe('6.6.58');
    expect(server.requests.filter((r) => r.endsWith('.tar.xz'))).toHaveLength(2);
  });

  it('a mirror that is down fails in seconds as infrastructure (exit 3: a retry may serve), saying what was tried and what is offline', async () => {
    const down = await serveMirror('6', { files: {} });
    const url = down.url;
    await down.close();
    const started = Date.now();
    const e = (await resolveFrom(url, '6.6').catch((err: unknown) => err)) as InfraError;
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(e).toBeInstanceOf(InfraError);
    expect(e.exitCode).toBe(3);
    expect(e.code).toBe('MIRROR_UNREACHABLE');
    expect(e.message).toMatch(
      new RegExp(`no source found \\(tried: .*Debian package linux-source-6\\.6: Debian ships no such package.*mirror: ${url}/v6\\.x/: fetch failed \\(ECONNREFUSED\\)\\); available offline: 6\\.1, 6\\.12$`),
    );
  });

  it('a series the mirror does not have', async () => {
    server = await serveMirror('6', { files: { 'sha256sums.asc': sha256sums({}) } });
    const e = await resolveFrom(server.url, '6.6').catch((err: unknown) => err as InputError);
    expect((e as InputError).message).toMatch(/mirror: .*\/v6\.x\/ lists no linux-6\.6\*\.tar\.xz/);
    // the mirror answered: there is no such kernel, bad input
    expect((e as InputError).exitCode).toBe(2);
  });
});
