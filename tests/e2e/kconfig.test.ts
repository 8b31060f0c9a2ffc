import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../lab/core/config.ts';
import { InputError } from '../../lab/core/errors.ts';
import { consoleReporter } from '../../lab/core/reporter.ts';
import { ensureHost } from '../../lab/host/setup.ts';
import { compilerIdentity, configureKernel, entryKey, KBUILD_REVISION } from '../../lab/kernel/build.ts';
import { parseFragment, renderFragment } from '../../lab/kernel/config.ts';
import { resolveSource } from '../../lab/kernel/source.ts';
import { parseKernelSpec } from '../../lab/kernel/spec.ts';
import { tempDir } from '../helpers/temp.ts';

/** Config merging and verification on the real Kconfig trees Debian ships (no compile). */
describe.each(['6.12', '6.1'])('configureKernel on the real %s tree', (series) => {
  const paths = resolveConfig().paths;
  const out = tempDir('lab-kconfig-');
  // a fresh machine has no kernel build tools yet: the lab installs them as it would for a run
  beforeAll(() => ensureHost(consoleReporter({ quiet: true })));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  const labFragment = readFileSync(join(paths.repo, 'kernels', 'lab.config'), 'utf8');
  const source = () =>
    resolveSource(parseKernelSpec(series), { cacheDir: paths.cache, reporter: consoleReporter({ quiet: true }), installPackages: true });

  it('keeps every option of the lab fragment', async () => {
    const config = await configureKernel(await source(), labFragment, out, { log: join(out, 'log'), ccache: false, cacheDir: paths.cache });
    expect(config).toMatch(/^CONFIG_PAGE_OWNER=y$/m);
    expect(config).toMatch(/^CONFIG_VM_EVENT_COUNTERS=y$/m);
  });

  it('catches PAGE_OWNER dropped because DEBUG_KERNEL is missing, and says what it depends on', async () => {
    // tinyconfig's EXPERT selects DEBUG_KERNEL (and on 6.1 EMBEDDED selects EXPERT); a base without
    // them (as x86_64 defconfig is) loses PAGE_OWNER
    const withoutDebugKernel = `${labFragment.replace(/^CONFIG_DEBUG_KERNEL=y$/m, '')}
# CONFIG_EMBEDDED is not set
# CONFIG_EXPERT is not set
# CONFIG_DEBUG_KERNEL is not set
`;
    const e = await configureKernel(await source(), withoutDebugKernel, out, { log: join(out, 'log'), ccache: false, cacheDir: paths.cache }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(InputError);
    const err = e as InputError;
    expect(err.code).toBe('CONFIG_OPTIONS_DROPPED');
    expect(err.message).toMatch(/CONFIG_PAGE_OWNER: asked y \(lab-fragment\.config:\d+\), final \.config has n; depends on DEBUG_KERNEL && STACKTRACE_SUPPORT \(mm\/Kconfig\.debug\)/);
  });

  it('an option asked off but forced on names what selects it', async () => {
    const e = await configureKernel(await source(), `${labFragment}\n# CONFIG_DEBUG_FS is not set\n`, out, {
      log: join(out, 'log'),
      ccache: false,
      cacheDir: paths.cache,
    }).catch((err: unknown) => err as InputError);
    expect((e as InputError).message).toMatch(/CONFIG_DEBUG_FS: asked n \(lab-fragment\.config:\d+\), final \.config has y; selected by .*CONFIG_PAGE_OWNER \(mm\/Kconfig\.debug\)/);
  });

  it('catches VIRTIO_PCI dropped without VIRTIO_MENU (the trap seen on this machine)', async () => {
    const e = await configureKernel(await source(), labFragment.replace(/^CONFIG_VIRTIO_MENU=y$/m, ''), out, {
      log: join(out, 'log'),
      ccache: false,
      cacheDir: paths.cache,
    }).catch((err: unknown) => err as InputError);
    expect((e as InputError).message).toMatch(/CONFIG_VIRTIO_PCI: asked y .*final \.config has n/);
  });
});

/**
 * The same inputs give the same cache key on any host: Kconfig records the
 * version of whatever rustc is on PATH (CONFIG_RUSTC_VERSION), so a stray one
 * in a user's folder, or even in /usr/local/bin, must not reach it when the
 * fragment does not enable Rust.
 */
describe('the kernel build environment', () => {
  const paths = resolveConfig().paths;
  const reporter = consoleReporter({ quiet: true });
  beforeAll(() => ensureHost(reporter));
  const fragment = () => renderFragment(parseFragment(readFileSync(join(paths.repo, 'kernels', 'lab.config'), 'utf8'), 'kernels/lab.config'));
  const stray = tempDir('lab-stray-rustc-');
  writeFileSync(join(stray, 'rustc'), '#!/bin/sh\necho "rustc 1.95.0 (59807616e 2026-04-14)"\n');
  chmodSync(join(stray, 'rustc'), 0o755);
  const systemRustc = '/usr/local/bin/rustc';

  async function key(): Promise<{ key: string; config: string }> {
    const source = await resolveSource(parseKernelSpec('6.12'), { cacheDir: paths.cache, reporter, installPackages: true });
    const out = tempDir('lab-kconfig-');
    try {
      const config = await configureKernel(source, fragment(), out, { log: join(out, 'log'), ccache: false, cacheDir: paths.cache });
      const configSha256 = createHash('sha256').update(config).digest('hex');
      return { key: entryKey({ sourceId: source.id, configSha256, compiler: await compilerIdentity(), revision: KBUILD_REVISION, flavor: 'lab' }), config };
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }

  it('a stray rustc on PATH or in /usr/local/bin changes neither the .config nor the key', async () => {
    const clean = await key();
    expect(clean.config).toMatch(/^CONFIG_RUSTC_VERSION=0$/m);
    const savedPath = process.env.PATH;
    process.env.PATH = `${stray}:${savedPath}`;
    const placed = !existsSync(systemRustc);
    try {
      // the stray one really answers where a plain make would find it
      expect(execFileSync('rustc', ['--version'], { encoding: 'utf8' })).toMatch(/^rustc 1\.95\.0/);
      expect((await key()).key).toBe(clean.key);
      if (placed) copyFileSync(join(stray, 'rustc'), systemRustc);
      expect((await key()).key).toBe(clean.key);
    } finally {
      process.env.PATH = savedPath;
      if (placed) rmSync(systemRustc, { force: true });
    }
  });
});
