import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { withLock } from '../../lab/core/lock.ts';
import { consoleReporter } from '../../lab/core/reporter.ts';
import { buildKernel, KBUILD_REVISION, loadEntry, type BuildOptions } from '../../lab/kernel/build.ts';
import { listCache, pruneKernels } from '../../lab/kernel/cache.ts';
import { parseFragment } from '../../lab/kernel/config.ts';
import type { KernelSource } from '../../lab/kernel/source.ts';
import { chooseTreeBuild, keptTree, readTreeRecord, writeTreeRecord } from '../../lab/kernel/tree.ts';
import { fakeKernelTree, setFakeKernel } from '../helpers/fake-kernel.ts';
import { tempDir } from '../helpers/temp.ts';

const base = parseFragment('CONFIG_PAGE_OWNER=y\n', 'lab.config');
const plus = (line: string) => [...base, ...parseFragment(`${line}\n`, 'user.config')];
const warnings: string[] = [];
const reporter = { ...consoleReporter({ quiet: true }), warn: (_s: string, m: string) => void warnings.push(m) };
const compiler = 'gcc (Debian 12.2.0-14+deb12u1) 12.2.0';

afterEach(() => {
  setFakeKernel({});
  warnings.length = 0;
});

function setup(source: KernelSource = fakeKernelTree('6.99.1', { contentId: true })) {
  const cacheDir = tempDir('lab-tree-');
  const log = join(cacheDir, 'build.log');
  const build = (fragments = base, more: Partial<BuildOptions> = {}) => buildKernel(source, { cacheDir, fragments, flavor: 'lab', reporter, log, ...more });
  const tree = () => {
    const dirs = readdirSync(join(cacheDir, 'trees')).filter((n) => !n.endsWith('.json'));
    expect(dirs).toHaveLength(1);
    return { dir: join(cacheDir, 'trees', dirs[0]!), record: join(cacheDir, 'trees', `${dirs[0]}.json`) };
  };
  return { cacheDir, source, build, tree };
}

/** Every file of a folder but the per-build ones, as relative paths. */
const files = (dir: string) =>
  execFileSync('find', [dir, '-type', 'f'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((f) => relative(dir, f))
    .filter((f) => !['lab-build.json', 'build.log'].includes(f))
    .sort();

describe('kept build trees: one per source and flavor, every cache miss builds in it', () => {
  it('the first miss builds a new tree from scratch, the next miss only what its options change; each entry is the tree without objects', async () => {
    const { build, tree } = setup();
    const first = await build();
    expect(first.build.tree).toEqual({ name: expect.stringMatching(/^6\.99\.1-lab-[0-9a-f]{16}$/), incremental: false, compiled: 2 });
    const second = await build(plus('CONFIG_DEBUG_VM=y'));
    expect(second.cacheHit).toBe(false);
    expect(second.build.tree).toMatchObject({ incremental: true, compiled: 1 });
    expect(readFileSync(join(tree().dir, 'build-count'), 'utf8')).toBe('built\nbuilt\n');
    expect(readFileSync(join(second.build.buildDir, '.config'), 'utf8')).toMatch(/^CONFIG_DEBUG_VM=y$/m);
    expect(readFileSync(join(first.build.buildDir, '.config'), 'utf8')).not.toMatch(/DEBUG_VM/);
    // the tree keeps its objects for the next build; an entry keeps only those of scripts/ (as a clean build's entry does)
    expect(existsSync(join(tree().dir, 'mm/page_owner.o'))).toBe(true);
    expect(existsSync(join(second.build.buildDir, 'mm/page_owner.o'))).toBe(false);
    expect(existsSync(join(second.build.buildDir, 'scripts/mod/modpost.o'))).toBe(true);
    expect(await readTreeRecord(tree().record)).toMatchObject({ state: 'ready', builds: 2, configSha256: second.build.configSha256 });
    // the index still finds both
    expect((await build()).cacheHit).toBe(true);
    expect((await build(plus('CONFIG_DEBUG_VM=y'))).cacheHit).toBe(true);
  });

  it('an entry from the kept tree holds the same files and kernel as a clean build of the same config', async () => {
    const source = fakeKernelTree('6.99.1', { contentId: true });
    const kept = setup(source);
    await kept.build();
    const fromTree = await kept.build(plus('CONFIG_DEBUG_VM=y'));
    const clean = await setup(source).build(plus('CONFIG_DEBUG_VM=y'), { keptTree: false });
    expect(clean.build.tree).toBeUndefined();
    expect(files(fromTree.build.buildDir)).toEqual(files(clean.build.buildDir));
    expect(fromTree.build.bzImageSha256).toBe(clean.build.bzImageSha256);
    expect(fromTree.build.key).toBe(clean.build.key);
  });

  it('a config whose entry exists (other fragments, same .config) is a hit, and a new tree that built nothing is not kept', async () => {
    const { cacheDir, build } = setup();
    const first = await build(base, { keptTree: false });
    // an option asked off that Kconfig leaves out: another fragment, the same .config
    setFakeKernel({ DROP: 'CONFIG_FOO' });
    const again = await build(plus('# CONFIG_FOO is not set'));
    expect(again).toMatchObject({ cacheHit: true, build: { key: first.build.key } });
    expect(readdirSync(join(cacheDir, 'trees'))).toEqual([]);
  });

  it('a tree whose last build did not finish (interrupted, killed) is discarded and built from scratch, with a warning', async () => {
    const { build, tree } = setup();
    await build();
    const record = await readTreeRecord(tree().record);
    writeFileSync(tree().record, JSON.stringify({ ...record, state: 'building' }));
    const next = await build(plus('CONFIG_DEBUG_VM=y'));
    expect(warnings.join('\n')).toMatch(/kept tree .* is not trusted \(the last build in it did not finish\): building it again from scratch/);
    expect(next.build.tree).toMatchObject({ incremental: false, compiled: 2 });
    expect(readFileSync(join(tree().dir, 'build-count'), 'utf8')).toBe('built\n');
  });

  it('a failed incremental build is retried once from scratch', async () => {
    const { build, tree } = setup();
    await build();
    setFakeKernel({ FAIL_INCREMENTAL: '1' });
    const next = await build(plus('CONFIG_DEBUG_VM=y'));
    expect(warnings.join('\n')).toMatch(/the incremental build in .* failed \(.*exited with code 2: .*fake incremental build failure.*\): building the tree again from scratch/);
    expect(next.build.tree).toMatchObject({ incremental: false });
    expect(await loadEntry(next.build.buildDir)).toMatchObject({ key: next.build.key });
    expect(await readTreeRecord(tree().record)).toMatchObject({ state: 'ready', builds: 1 });
  });

  it('a build that fails from scratch too fails the run, and the tree is not trusted afterwards', async () => {
    const { cacheDir, build, tree } = setup();
    await build();
    setFakeKernel({ FAIL: '1' });
    await expect(build(plus('CONFIG_DEBUG_VM=y'))).rejects.toMatchObject({ code: 'KERNEL_BUILD_FAILED' });
    expect(await readTreeRecord(tree().record)).toMatchObject({ state: 'building' });
    expect(readdirSync(join(cacheDir, 'kernels')).filter((n) => n !== 'index')).toHaveLength(1);
  });

  it('an option Kconfig drops fails the run and leaves the tree trusted: only its .config changed', async () => {
    const { build, tree } = setup();
    await build();
    setFakeKernel({ DROP: 'KASAN' });
    await expect(build(plus('CONFIG_KASAN=y'))).rejects.toMatchObject({ code: 'CONFIG_OPTIONS_DROPPED' });
    setFakeKernel({});
    expect(await readTreeRecord(tree().record)).toMatchObject({ state: 'ready', builds: 1 });
    expect((await build(plus('CONFIG_DEBUG_VM=y'))).build.tree).toMatchObject({ incremental: true });
    expect(warnings).toEqual([]);
  });

  it('two runs with different configs take turns in the tree', async () => {
    const { build, tree } = setup();
    const [a, b] = await Promise.all([build(plus('CONFIG_A=y')), build(plus('CONFIG_B=y'))]);
    expect([a.build.tree?.incremental, b.build.tree?.incremental].sort()).toEqual([false, true]);
    expect(readFileSync(join(tree().dir, 'build-count'), 'utf8')).toBe('built\nbuilt\n');
  });

  it('a --kernel-src tree (its id is not its content) builds in a temporary folder: no kept tree', async () => {
    const { cacheDir, build } = setup(fakeKernelTree());
    const built = await build();
    expect(built.build.tree).toBeUndefined();
    expect(existsSync(join(cacheDir, 'trees'))).toBe(false);
  });
});

describe('which build a kept tree gets', () => {
  const tree = () => {
    const cacheDir = tempDir('lab-tree-');
    const t = keptTree(cacheDir, { version: '6.99.1', id: 'a'.repeat(64), tree: '/src', origin: '/src' }, { flavor: 'lab', compiler, revision: KBUILD_REVISION })!;
    const built = () => {
      for (const f of ['.config', 'include/config/auto.conf', 'Makefile']) {
        mkdirSync(join(t.dir, f, '..'), { recursive: true });
        writeFileSync(join(t.dir, f), '');
      }
    };
    return { t, built };
  };

  it('no tree yet: from scratch, nothing to discard; a finished build for the same identity: incremental', async () => {
    const { t, built } = tree();
    expect(await chooseTreeBuild(t)).toEqual({ build: 'scratch' });
    built();
    await writeTreeRecord(t, undefined, { state: 'ready', configSha256: 'c'.repeat(64), builds: 1 });
    expect(await chooseTreeBuild(t)).toMatchObject({ build: 'incremental', record: { builds: 1 } });
  });

  it('anything else is discarded, saying why', async () => {
    const { t, built } = tree();
    built();
    expect(await chooseTreeBuild(t)).toEqual({ build: 'scratch', discard: 'it has no valid record (trees/*.json)' });
    writeFileSync(t.record, '{"state": "ready"');
    expect((await chooseTreeBuild(t)).build).toBe('scratch');
    await writeTreeRecord(t, undefined, { state: 'ready', builds: 1 });
    writeFileSync(t.record, readFileSync(t.record, 'utf8').replace(compiler, 'gcc 13'));
    expect(await chooseTreeBuild(t)).toEqual({ build: 'scratch', discard: 'its record names another compiler' });
    await writeTreeRecord(t, undefined, { state: 'building', builds: 1 });
    expect(await chooseTreeBuild(t)).toEqual({ build: 'scratch', discard: 'the last build in it did not finish' });
    await writeTreeRecord(t, undefined, { state: 'ready', builds: 1 });
    execFileSync('rm', [join(t.dir, 'include/config/auto.conf')]);
    expect(await chooseTreeBuild(t)).toEqual({ build: 'scratch', discard: 'include/config/auto.conf is missing' });
    execFileSync('rm', ['-r', t.dir]);
    expect(await chooseTreeBuild(t)).toEqual({ build: 'scratch', discard: 'its folder is gone' });
  });

  it('only sources identified by their content get one', () => {
    const cacheDir = '/cache';
    const at = (id: string) => keptTree(cacheDir, { version: '6.12.117', id, tree: '/src', origin: '/src' }, { flavor: 'debug', compiler, revision: 1 });
    expect(at('b'.repeat(64))).toMatchObject({ dir: expect.stringMatching(/^\/cache\/trees\/6\.12\.117-debug-[0-9a-f]{16}$/) });
    expect(at(`git:${'c'.repeat(40)}:e3b0c44298fc1c14`)).toBeUndefined();
    expect(at(`tree:${'d'.repeat(64)}`)).toBeUndefined();
    // another compiler or build revision is another tree: a tree never mixes objects of two
    expect(keptTree(cacheDir, { version: '6.12.117', id: 'b'.repeat(64), tree: '/src', origin: '/src' }, { flavor: 'debug', compiler: 'gcc 13', revision: 1 })!.dir).not.toBe(
      at('b'.repeat(64))!.dir,
    );
  });
});

describe('lab cache knows the kept trees', () => {
  it('ls lists a tree with its last config and builds; prune removes it by last use, its record too', async () => {
    const { cacheDir, build, tree } = setup();
    await build();
    await build(plus('CONFIG_DEBUG_VM=y'));
    const listed = (await listCache(cacheDir)).filter((e) => e.kind === 'tree');
    expect(listed).toEqual([expect.objectContaining({ path: tree().dir, detail: expect.stringMatching(/^config [0-9a-f]{12}, 2 builds since \d{4}-\d\d-\d\d$/) })]);
    expect(listed[0]!.bytes).toBeGreaterThan(0);
    expect(await pruneKernels(cacheDir, { olderThanMs: 86_400_000 })).toEqual([]);
    const removed = await pruneKernels(cacheDir, { keep: 1 });
    expect(removed.map((e) => e.kind).sort()).toEqual(['kernel']);
    const all = await pruneKernels(cacheDir, { keep: 0 });
    expect(all.map((e) => e.kind).sort()).toEqual(['kernel', 'tree']);
    expect(readdirSync(join(cacheDir, 'trees'))).toEqual([]);
    expect((await build()).build.tree).toMatchObject({ incremental: false });
  });

  it('prune leaves a tree a build holds, and removes one without a record', async () => {
    const { cacheDir, build, tree } = setup();
    await build();
    const { dir } = tree();
    await withLock(join(cacheDir, 'locks', `tree-${dir.split('/').pop()}`), async () => {
      expect(await pruneKernels(cacheDir, { keep: 0 })).toEqual([expect.objectContaining({ kind: 'kernel' })]);
    });
    expect(existsSync(dir)).toBe(true);
    execFileSync('rm', [`${dir}.json`]);
    expect((await listCache(cacheDir)).find((e) => e.kind === 'tree')?.detail).toBe('no record: removed by the next prune');
    expect((await pruneKernels(cacheDir, { olderThanMs: 86_400_000 })).map((e) => e.kind)).toEqual(['tree']);
    expect(existsSync(dir)).toBe(false);
  });
});
