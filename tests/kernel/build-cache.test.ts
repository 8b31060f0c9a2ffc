import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InfraError } from '../../lab/core/errors.ts';
import { consoleReporter } from '../../lab/core/reporter.ts';
import { scratch } from '../../lab/core/scratch.ts';
import { buildInputs, buildInTree, buildKernel, entryKey, estimateCompiledFiles, inputsKey, loadEntry, reproducer } from '../../lab/kernel/build.ts';
import { listCache, parseAge, pruneKernels } from '../../lab/kernel/cache.ts';
import { parseFragment } from '../../lab/kernel/config.ts';
import { fakeKernelTree, setFakeKernel } from '../helpers/fake-kernel.ts';
import { tempDir } from '../helpers/temp.ts';

const fragment = parseFragment('CONFIG_PAGE_OWNER=y\nCONFIG_DEBUG_KERNEL=y\n', 'test.config');
const warnings: string[] = [];
const reporter = { ...consoleReporter({ quiet: true }), warn: (_s: string, m: string) => void warnings.push(m) };
const setup = () => {
  const cacheDir = tempDir('lab-cache-');
  const source = fakeKernelTree();
  const build = (fragments = fragment, flavor = 'lab') => buildKernel(source, { cacheDir, fragments, flavor, reporter, log: join(cacheDir, 'build.log') });
  return { cacheDir, source, build };
};
afterEach(() => {
  setFakeKernel({});
  warnings.length = 0;
});

describe('cache keys', () => {
  const base = { sourceId: 'a', configSha256: 'b', compiler: 'gcc 12', revision: 1, flavor: 'lab' };
  it('same inputs, same key; any one input changed, another key', () => {
    expect(entryKey(base)).toBe(entryKey({ ...base }));
    const keys = new Set([
      entryKey(base),
      entryKey({ ...base, sourceId: 'x' }),
      entryKey({ ...base, configSha256: 'x' }),
      entryKey({ ...base, compiler: 'gcc 13' }),
      entryKey({ ...base, revision: 2 }),
      entryKey({ ...base, flavor: 'debug' }),
    ]);
    expect(keys.size).toBe(6);
    const ins = { sourceId: 'a', fragment: 'CONFIG_A=y\n', compiler: 'gcc 12', revision: 1, flavor: 'lab' };
    expect(inputsKey(ins)).not.toBe(inputsKey({ ...ins, fragment: 'CONFIG_A=n\n' }));
  });
});

describe('buildKernel with a stand-in kernel tree', () => {
  it('builds once, then answers from the cache', async () => {
    const { cacheDir, build } = setup();
    const first = await build();
    expect(first.cacheHit).toBe(false);
    expect(first.build.release).toBe('6.99.1');
    expect(readFileSync(join(first.build.buildDir, 'build-count'), 'utf8')).toBe('built\n');
    const second = await build();
    expect(second.cacheHit).toBe(true);
    expect(second.build.key).toBe(first.build.key);
    expect(readFileSync(join(first.build.buildDir, 'build-count'), 'utf8')).toBe('built\n');
    expect(readdirSync(join(cacheDir, 'tmp'))).toEqual([]);
    expect(first.build.flavor).toBe('lab');
    expect(first.build.buildDir).toMatch(/kernels\/6\.99\.1-lab-[0-9a-f]{16}$/);
  });

  it('the same config under another flavor is another entry', async () => {
    const { build } = setup();
    const a = await build();
    const b = await build(fragment, 'debug');
    expect(b.cacheHit).toBe(false);
    expect(b.build.flavor).toBe('debug');
    expect(b.build.key).not.toBe(a.build.key);
  });

  it('a different fragment is a different build', async () => {
    const { build } = setup();
    const a = await build();
    const b = await build(parseFragment('CONFIG_PAGE_OWNER=y\nCONFIG_KASAN=y\n', 'other.config'));
    expect(b.cacheHit).toBe(false);
    expect(b.build.key).not.toBe(a.build.key);
  });

  it('detects a corrupted entry and rebuilds it', async () => {
    const { build } = setup();
    const first = await build();
    writeFileSync(first.build.bzImage, 'bit rot');
    expect(await loadEntry(first.build.buildDir)).toBeUndefined();
    const again = await build();
    expect(again.cacheHit).toBe(false);
    expect(warnings.join('\n')).toMatch(/is corrupt \(bzImage missing or hash mismatch\): rebuilding/);
    expect(await loadEntry(again.build.buildDir)).toMatchObject({ key: first.build.key });
  });

  it('a cache seen at another path (another LAB_CACHE_DIR or HOME, a CI artifact) is still a hit, its paths taken from where it is', async () => {
    const { cacheDir, source } = setup();
    const first = await buildKernel(source, { cacheDir, fragments: fragment, flavor: 'lab', reporter, log: join(cacheDir, 'build.log') });
    const moved = tempDir('lab-cache-');
    execFileSync('cp', ['-a', `${cacheDir}/.`, moved]);
    rmSync(cacheDir, { recursive: true, force: true });
    const again = await buildKernel(source, { cacheDir: moved, fragments: fragment, flavor: 'lab', reporter, log: join(moved, 'build.log') });
    expect(again.cacheHit).toBe(true);
    expect(again.build.buildDir).toBe(join(moved, 'kernels', basename(first.build.buildDir)));
    expect(again.build.bzImage).toBe(join(again.build.buildDir, 'arch/x86/boot/bzImage'));
    rmSync(moved, { recursive: true, force: true });
  });

  it('concurrent runs of the same build wait on the lock instead of building twice', async () => {
    const { build } = setup();
    const [a, b] = await Promise.all([build(), build()]);
    expect([a.cacheHit, b.cacheHit].sort()).toEqual([false, true]);
    expect(readFileSync(join(a.build.buildDir, 'build-count'), 'utf8')).toBe('built\n');
  });

  it('two different kernels built at once (lab run --jobs 2) take turns: builds never overlap', async () => {
    const { cacheDir } = setup();
    const waits: string[] = [];
    const spans: { start: number; end: number }[] = [];
    const built = (version: string) => {
      const r = { ...reporter, stage: (_s: string, m: string) => void (m.startsWith('waiting for another kernel build') && waits.push(version)) };
      const t = Date.now();
      return buildKernel(fakeKernelTree(version), { cacheDir, fragments: fragment, flavor: 'lab', reporter: r, log: join(cacheDir, `${version}.log`) }).then((b) => {
        spans.push({ start: t, end: Date.now() });
        return b;
      });
    };
    setFakeKernel({ SLEEP: '1' });
    const [a, b] = await Promise.all([built('6.98.1'), built('6.99.1')]);
    expect([a.cacheHit, b.cacheHit]).toEqual([false, false]);
    expect(waits).toHaveLength(1);
    // the second build starts after the first one ended: together at least two sleeps
    const [first, second] = spans.sort((x, y) => x.end - y.end);
    expect(second!.end - first!.start).toBeGreaterThanOrEqual(2000);
  });

  it('--no-build: a miss is exit 3 naming the key, never a build; a hit is served', async () => {
    const { cacheDir, source } = setup();
    const opts = { cacheDir, fragments: fragment, flavor: 'lab', reporter, log: join(cacheDir, 'build.log') };
    const e = (await buildKernel(source, { ...opts, allowBuild: false }).catch((err: unknown) => err)) as InfraError;
    expect(e).toBeInstanceOf(InfraError);
    expect(e.code).toBe('KERNEL_NOT_CACHED');
    expect(e.exitCode).toBe(3);
    expect(e.message).toMatch(/^6\.99\.1 \(lab\) is not in the cache .* \(inputs key [0-9a-f]{64}\), and --no-build forbids building it/);
    expect(existsSync(join(cacheDir, 'kernels'))).toBe(false);
    const built = await buildKernel(source, opts);
    expect(await buildKernel(source, { ...opts, allowBuild: false })).toMatchObject({ cacheHit: true, build: { key: built.build.key } });
  });

  it('a failed build leaves nothing half-built in the cache', async () => {
    const { cacheDir, build } = setup();
    setFakeKernel({ FAIL: '1' });
    const e = await build().catch((err: unknown) => err as InfraError);
    expect(e).toBeInstanceOf(InfraError);
    expect((e as InfraError).code).toBe('KERNEL_BUILD_FAILED');
    expect((e as InfraError).context.outputTail).toMatch(/fake build failure/);
    expect(readdirSync(join(cacheDir, 'tmp'))).toEqual([]);
    expect(existsSync(join(cacheDir, 'kernels')) ? readdirSync(join(cacheDir, 'kernels')).filter((n) => n !== 'index') : []).toEqual([]);
  });

  it('cache ls lists the build; prune --keep 0 removes it and its index', async () => {
    const { cacheDir, build } = setup();
    const { build: b } = await build();
    const entries = await listCache(cacheDir);
    expect(entries.find((e) => e.kind === 'kernel')).toMatchObject({ path: b.buildDir, detail: expect.stringMatching(/^6\.99\.1 config [0-9a-f]{12}/) });
    expect(await pruneKernels(cacheDir, { olderThanMs: parseAge('1d') })).toEqual([]);
    const removed = await pruneKernels(cacheDir, { keep: 0 });
    expect(removed.map((e) => e.path)).toEqual([b.buildDir]);
    expect(readdirSync(join(cacheDir, 'kernels', 'index'))).toEqual([]);
    expect((await build()).cacheHit).toBe(false);
  });

  it('cache ls lists saved guests; prune removes those whose kernel went with it, and keeps the others', async () => {
    const { cacheDir, build } = setup();
    const { build: b } = await build();
    const image = join(cacheDir, 'rootfs.ext4');
    writeFileSync(image, '');
    const save = (name: string, kernel: string) => {
      mkdirSync(join(cacheDir, 'snapshots', name), { recursive: true });
      const identity = ['-m', '1024M', '-kernel', kernel, '-append', 'x', '-drive', `file=${image},if=virtio,format=raw,snapshot=on`];
      writeFileSync(join(cacheDir, 'snapshots', name, 'meta.json'), JSON.stringify({ key: name, identity }));
    };
    const other = join(cacheDir, 'other-bzImage');
    writeFileSync(other, '');
    save('of-the-build', join(b.buildDir, 'arch', 'x86', 'boot', 'bzImage'));
    save('of-another', other);
    expect((await listCache(cacheDir)).filter((e) => e.kind === 'snapshot').map((e) => e.name).sort()).toEqual(['of-another', 'of-the-build']);
    const removed = await pruneKernels(cacheDir, { keep: 0 });
    expect(removed.map((e) => e.name)).toContain('of-the-build');
    expect(readdirSync(join(cacheDir, 'snapshots'))).toEqual(['of-another']);
  });

  it('prune removes what a lab process that is gone left (sources, snapshots, tmp, logs), and nothing a live one holds', async () => {
    const { cacheDir, build } = setup();
    await build();
    // held: a build under way in this process; gone: a folder whose lock went stale, one from before locks
    const live = await scratch(join(cacheDir, 'tmp'), 'kbuild');
    const dead = await scratch(join(cacheDir, 'sources'), '.tmp-0a01f7bf1e49');
    writeFileSync(join(dead.path, 'Makefile'), 'half an extraction');
    utimesSync(`${dead.path}.lock`, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    mkdirSync(join(cacheDir, 'snapshots', '.tmp-94a148d7c10b76a0cecce287-7589-0a1b2c'), { recursive: true });
    const ended = await scratch(join(cacheDir, 'logs'), `build-${Date.now()}`);
    await ended.release();
    const running = await scratch(join(cacheDir, 'logs'), `keys-${Date.now()}`);
    const listed = (await listCache(cacheDir)).filter((e) => e.path.startsWith(cacheDir) && (e.kind === 'tmp' || e.kind === 'log'));
    expect(listed.map((e) => [e.kind, e.path, e.detail.replace(/ \(pid \d+ in its PID namespace\)/, '')]).sort()).toEqual(
      [
        ['log', ended.path, 'its command ended: removed by the next cache prune'],
        ['log', running.path, 'its command is running'],
        ['tmp', dead.path, 'left by a lab process that is gone: removed by the next run or cache prune'],
        ['tmp', join(cacheDir, 'snapshots', '.tmp-94a148d7c10b76a0cecce287-7589-0a1b2c'), 'left by a lab process that is gone: removed by the next run or cache prune'],
        ['tmp', live.path, 'in use by a running lab process'],
      ].sort(),
    );
    expect(listed.find((e) => e.path === dead.path)!.bytes).toBeGreaterThan(0);
    const removed = await pruneKernels(cacheDir, { keep: 1 });
    expect(removed.filter((e) => e.path.startsWith(cacheDir)).map((e) => e.path).sort()).toEqual(
      [dead.path, join(cacheDir, 'snapshots', '.tmp-94a148d7c10b76a0cecce287-7589-0a1b2c'), ended.path].sort(),
    );
    expect(readdirSync(join(cacheDir, 'tmp'))).toEqual([live.path.split('/').pop(), `${live.path.split('/').pop()}.lock`]);
    expect(readdirSync(join(cacheDir, 'sources')).filter((n) => n.startsWith('.tmp'))).toEqual([]);
    await live.remove();
    await running.remove();
  });

  it('parseAge', () => {
    expect(parseAge('7d')).toBe(7 * 86_400_000);
    expect(parseAge('30m')).toBe(1_800_000);
    expect(() => parseAge('soon')).toThrow(/--older-than "soon": expected a number with d, h or m/);
  });
});

describe('buildInTree: one tree the caller keeps (lab bisect)', () => {
  it('configures once, then only olddefconfig and make; every requested option is verified each time', async () => {
    const { cacheDir, source } = setup();
    const tree = join(cacheDir, 'tree');
    const log = join(cacheDir, 'build.log');
    const opts = { cacheDir, fragments: fragment, flavor: 'lab', reporter, log };
    const first = await buildInTree(source, tree, opts);
    const second = await buildInTree(source, tree, opts);
    expect(readFileSync(join(tree, 'build-count'), 'utf8')).toBe('built\nbuilt\n');
    expect(readFileSync(log, 'utf8').match(/CONFIG_64BIT=y/g)).toHaveLength(1);
    expect(second).toMatchObject({ buildDir: tree, bzImage: join(tree, 'arch/x86/boot/bzImage'), key: first.key, release: '6.99.1' });
    expect(second.bzImageSha256).toMatch(/^[0-9a-f]{64}$/);
    await expect(buildInTree(source, tree, { ...opts, fragments: [...fragment, ...parseFragment('CONFIG_KASAN=y\n', 'extra.config')] })).rejects.toMatchObject({
      code: 'CONFIG_OPTIONS_DROPPED',
    });
  });
});

describe('the reproducer, for every kind of source', () => {
  const base = { version: '6.12.117', tree: '/cache/sources/x' };
  it('a tarball: extract it, then the lab\'s make and merge steps with its environment and its unused toolchains', () => {
    const lines = reproducer({ ...base, id: 'a'.repeat(64), origin: '/usr/src/linux-source-6.12.tar.xz' }, { jobs: 2, flavor: 'lab', fragment: '' });
    expect(lines[1]).toBe(
      "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C TZ=UTC KBUILD_BUILD_TIMESTAMP='1970-01-01 00:00:00 UTC' KBUILD_BUILD_USER=lab KBUILD_BUILD_HOST=page-owner-lab KBUILD_BUILD_VERSION=1",
    );
    expect(lines[2]).toMatch(/^mkdir src && xz -dc \/usr\/src\/linux-source-6\.12\.tar\.xz \| tar -x -C src --strip-components=1/);
    expect(lines.slice(3)).toEqual([
      'make -C src O=../build ARCH=x86_64 RUSTC=lab-unused-rustc BINDGEN=lab-unused-bindgen PAHOLE=lab-unused-pahole tinyconfig',
      'src/scripts/kconfig/merge_config.sh -m -O build build/.config kernel-fragment.config',
      'make -C src O=../build ARCH=x86_64 RUSTC=lab-unused-rustc BINDGEN=lab-unused-bindgen PAHOLE=lab-unused-pahole olddefconfig',
      'make -C src O=../build ARCH=x86_64 RUSTC=lab-unused-rustc BINDGEN=lab-unused-bindgen PAHOLE=lab-unused-pahole -j2 bzImage modules',
    ]);
  });

  it('a fragment that enables Rust or BTF lets Kconfig find rustc or pahole', () => {
    const src = { ...base, id: 'a'.repeat(64), origin: '/usr/src/linux-source-6.12.tar.xz' };
    expect(reproducer(src, { jobs: 2, flavor: 'lab', fragment: 'CONFIG_RUST=y\n' }).at(-1)).toBe('make -C src O=../build ARCH=x86_64 PAHOLE=lab-unused-pahole -j2 bzImage modules');
    expect(reproducer(src, { jobs: 2, flavor: 'lab', fragment: 'CONFIG_DEBUG_INFO_BTF=y\n' }).at(-1)).toBe(
      'make -C src O=../build ARCH=x86_64 RUSTC=lab-unused-rustc BINDGEN=lab-unused-bindgen -j2 bzImage modules',
    );
  });

  it('a git tree: its commit, and its uncommitted changes when there were any', () => {
    const clean = reproducer({ ...base, id: `git:${'c'.repeat(40)}:e3b0c44298fc1c14`, origin: '/src/linux' }, { jobs: 2, flavor: 'debug', fragment: '' });
    expect(clean.slice(2, 4)).toEqual(['git clone --quiet --no-checkout /src/linux src', `git -C src checkout --quiet ${'c'.repeat(40)}`]);
    expect(clean.join('\n')).not.toMatch(/git apply/);
    expect(clean[0]).toMatch(/flavor debug/);
    const dirty = reproducer({ ...base, id: `git:${'c'.repeat(40)}:0123456789abcdef`, origin: '/src/linux' }, { jobs: 2, flavor: 'lab', fragment: '' });
    expect(dirty[4]).toMatch(/^git -C \/src\/linux diff HEAD \| git -C src apply/);
  });

  it('a plain tree: a copy of it', () => {
    expect(reproducer({ ...base, id: `tree:${'d'.repeat(64)}`, origin: '/src/linux' }, { jobs: 4, flavor: 'lab', fragment: '' })[2]).toBe('cp -a /src/linux src');
  });
});

describe('lab-build.json is read back through its schema', () => {
  it('an entry whose metadata is not a build record is rebuilt, not trusted', async () => {
    const { build } = setup();
    const first = await build();
    writeFileSync(join(first.build.buildDir, 'lab-build.json'), JSON.stringify({ key: first.build.key, release: '6.99.1' }));
    expect(await loadEntry(first.build.buildDir)).toBeUndefined();
    expect((await build()).cacheHit).toBe(false);
  });
});

describe('the build progress estimate', () => {
  const entry = (cacheDir: string, name: string, meta: { sourceVersion: string; flavor: string; builtAt: string; tree?: object }, compiled: number) => {
    const dir = join(cacheDir, 'kernels', name);
    mkdirSync(dir, { recursive: true });
    const sha = 'a'.repeat(64);
    const build = { key: sha, buildDir: dir, bzImage: join(dir, 'bzImage'), bzImageSha256: sha, release: meta.sourceVersion, configSha256: sha, compiler: 'gcc', sourceId: sha };
    writeFileSync(
      join(dir, 'lab-build.json'),
      JSON.stringify({ ...build, ...meta, sourceTree: '/src', baseConfig: 'tinyconfig', buildSeconds: 1, jobs: 2, ccache: false, reproducer: [] }),
    );
    writeFileSync(join(dir, 'build.log'), `  HOSTCC  scripts/basic/fixdep\n${'  CC      mm/page_owner.o\n'.repeat(compiled)}  LD      vmlinux\n`);
  };

  it('counts the newest cached build of the same series and flavor, else guesses from the .config', async () => {
    const cacheDir = tempDir('lab-estimate-');
    const config = 'CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\nCONFIG_D=m\nCONFIG_E=y\n';
    expect(await estimateCompiledFiles(cacheDir, '6.12.117', 'lab', config)).toEqual({ total: 5, basis: 'guessed from the .config: 3 =y options x 1.8' });
    entry(cacheDir, 'a', { sourceVersion: '6.12.100', flavor: 'lab', builtAt: '2026-01-01T00:00:00Z' }, 1400);
    entry(cacheDir, 'b', { sourceVersion: '6.12.117', flavor: 'lab', builtAt: '2026-02-01T00:00:00Z' }, 1447);
    entry(cacheDir, 'c', { sourceVersion: '6.12.117', flavor: 'debug', builtAt: '2026-03-01T00:00:00Z' }, 2000);
    entry(cacheDir, 'd', { sourceVersion: '6.1.192', flavor: 'lab', builtAt: '2026-03-01T00:00:00Z' }, 1366);
    expect(await estimateCompiledFiles(cacheDir, '6.12.120', 'lab', config)).toEqual({ total: 1447, basis: 'from the previous build of 6.12.117-lab' });
    // an incremental build in a kept tree compiled only what its options changed: no estimate for a whole build
    entry(cacheDir, 'e', { sourceVersion: '6.12.117', flavor: 'lab', builtAt: '2026-04-01T00:00:00Z', tree: { name: 't', incremental: true, compiled: 40 } }, 40);
    expect((await estimateCompiledFiles(cacheDir, '6.12.120', 'lab', config)).total).toBe(1447);
    expect(await estimateCompiledFiles(cacheDir, '6.12.120', 'debug', config)).toEqual({ total: 2000, basis: 'from the previous build of 6.12.117-debug' });
    expect((await estimateCompiledFiles(cacheDir, '6.6.87', 'lab', config)).basis).toMatch(/^guessed/);
  });
});

describe('cache index records are data, never paths', () => {
  it('an index record that climbs out of the cache is a broken record: nothing outside the cache is deleted', async () => {
    const { cacheDir, source } = setup();
    const victim = tempDir('lab-victim-');
    writeFileSync(join(victim, 'keep'), 'x');
    const { key } = await buildInputs(source, fragment, 'lab');
    mkdirSync(join(cacheDir, 'kernels', 'index'), { recursive: true });
    writeFileSync(join(cacheDir, 'kernels', 'index', `${key}.key`), `../../../../../..${victim}\n`);
    const e = await buildKernel(source, { cacheDir, fragments: fragment, flavor: 'lab', reporter, log: join(cacheDir, 'build.log'), allowBuild: false }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'KERNEL_NOT_CACHED' });
    expect(existsSync(join(victim, 'keep'))).toBe(true);
    expect(warnings.join('\n')).toMatch(/cache index .* is broken .* is no entry name/);
    rmSync(victim, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  });
});

describe('a broken record never breaks the tools that repair the cache', () => {
  it('cache ls lists a lab-build.json that is not JSON or of another schema as broken, a bad meta.json as incomplete; prune removes the broken; a cold build\'s estimate ignores them', async () => {
    const { cacheDir } = setup();
    const entry = (name: string, text: string) => {
      mkdirSync(join(cacheDir, 'kernels', name), { recursive: true });
      writeFileSync(join(cacheDir, 'kernels', name, 'lab-build.json'), text);
    };
    entry('6.12.117-lab-aaaaaaaaaaaaaaaa', 'not json {');
    entry('6.12.117-lab-bbbbbbbbbbbbbbbb', JSON.stringify({ schemaVersion: 99, foreign: true }));
    mkdirSync(join(cacheDir, 'snapshots', 'guest1'), { recursive: true });
    writeFileSync(join(cacheDir, 'snapshots', 'guest1', 'meta.json'), '{"identity": ');
    const listed = await listCache(cacheDir);
    const detail = (name: string) => listed.find((e) => e.name === name)?.detail;
    expect(detail('6.12.117-lab-aaaaaaaaaaaaaaaa')).toMatch(/^broken record \(lab-build\.json fails its schema: not JSON\)/);
    expect(detail('6.12.117-lab-bbbbbbbbbbbbbbbb')).toMatch(/^broken record \(lab-build\.json fails its schema: \w+/);
    expect(detail('guest1')).toBe('broken record (meta.json missing, not JSON or without the command line it was booted with): removed by the next prune');
    expect(await estimateCompiledFiles(cacheDir, '6.12.117', 'lab', 'CONFIG_A=y\n')).toMatchObject({ basis: expect.stringMatching(/^guessed from the \.config/) as string });
    const removed = await pruneKernels(cacheDir, { keep: 10 });
    expect(removed.map((e) => e.name).sort()).toEqual(['6.12.117-lab-aaaaaaaaaaaaaaaa', '6.12.117-lab-bbbbbbbbbbbbbbbb', 'guest1']);
    expect(existsSync(join(cacheDir, 'kernels', '6.12.117-lab-aaaaaaaaaaaaaaaa'))).toBe(false);
    rmSync(cacheDir, { recursive: true, force: true });
  });
});
