import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../lab/core/errors.ts';
import { consoleReporter } from '../../lab/core/reporter.ts';
import { fromTree, offlineVersions, resolveSource, tarballSha256, expandKernels, newestSeries } from '../../lab/kernel/source.ts';
import { compareVersions, parseKernelSpec, versionFromMakefile, LTS_SERIES } from '../../lab/kernel/spec.ts';
import { fakeKernelTree } from '../helpers/fake-kernel.ts';
import { fakeKernelTarball } from '../helpers/mirror.ts';
import { tempDir } from '../helpers/temp.ts';

const quiet = consoleReporter({ quiet: true });

describe('kernel specs and versions', () => {
  it('parses series and exact releases, rejects the rest', () => {
    expect(parseKernelSpec('6.12')).toEqual({ raw: '6.12', series: '6.12', patch: undefined });
    expect(parseKernelSpec('6.6.58')).toEqual({ raw: '6.6.58', series: '6.6', patch: 58 });
    for (const bad of ['banana', '6', '6.x', '6.6.58.1', '']) expect(() => parseKernelSpec(bad), bad).toThrow(InputError);
  });

  it('reads the version from a Makefile and compares versions numerically', () => {
    expect(versionFromMakefile('VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 117\nEXTRAVERSION = -rc1\n')).toBe('6.12.117-rc1');
    // the version names cache folders: an EXTRAVERSION that climbs out of them is refused, naming it
    expect(() => versionFromMakefile('VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 117\nEXTRAVERSION = /../../x\n')).toThrow(/Makefile: version "6\.12\.117\/\.\.\/\.\.\/x" .*only letters, digits and \. _ \+ - are accepted, and no "\.\."/);
    expect(() => versionFromMakefile('VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 117\nEXTRAVERSION = ..\n')).toThrow(/no "\.\."/);
    expect(compareVersions('6.12.117', '6.9')).toBe(1);
    expect(compareVersions('6.1.192', '6.9')).toBe(-1);
    expect(compareVersions('6.9', '6.9.0')).toBe(0);
  });
});

describe('--kernel-src: a local tree', () => {
  it('an extracted tree is identified by its files: any change is another source', async () => {
    const { tree } = fakeKernelTree('6.13.2');
    const a = await fromTree(tree, quiet);
    expect(a.version).toBe('6.13.2');
    expect(a.id).toMatch(/^tree:[0-9a-f]{64}$/);
    expect((await fromTree(tree, quiet)).id).toBe(a.id);
    writeFileSync(join(tree, 'new.c'), 'int x;\n');
    expect((await fromTree(tree, quiet)).id).not.toBe(a.id);
  });

  it('a git checkout is its commit plus a hash of uncommitted changes', async () => {
    const { tree } = fakeKernelTree('6.13.2');
    const git = (...args: string[]) => execa('git', ['-C', tree, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]);
    await git('init', '-q');
    await git('add', '-A');
    await git('commit', '-qm', 'base');
    const clean = await fromTree(tree, quiet);
    expect(clean.id).toMatch(/^git:[0-9a-f]{40}:[0-9a-f]{16}$/);
    writeFileSync(join(tree, 'Makefile'), `${(await execa('cat', [join(tree, 'Makefile')])).stdout}\n# local change\n`);
    const dirty = await fromTree(tree, quiet);
    expect(dirty.id.slice(0, 44)).toBe(clean.id.slice(0, 44));
    expect(dirty.id).not.toBe(clean.id);
  });

  it('a folder that is not a kernel tree', async () => {
    await expect(fromTree('/tmp', quiet)).rejects.toThrow(/--kernel-src \/tmp: no Makefile there/);
  });
});

describe('local release tarballs (LAB_TARBALL_DIR)', () => {
  const setup = async () => {
    const dir = tempDir('lab-tarballs-');
    writeFileSync(join(dir, 'linux-6.6.5.tar.xz'), await fakeKernelTarball('6.6.5'));
    writeFileSync(join(dir, 'linux-6.6.87.tar.xz'), await fakeKernelTarball('6.6.87'));
    writeFileSync(join(dir, 'notes.txt'), 'not a tarball');
    return { dir, cacheDir: tempDir('lab-cache-') };
  };

  it('a series finds the newest linux-<version>.tar.xz there; an exact release finds its own', async () => {
    const { dir, cacheDir } = await setup();
    const opts = { cacheDir, reporter: quiet, tarballDirs: [dir] };
    expect((await resolveSource(parseKernelSpec('6.6'), opts)).version).toBe('6.6.87');
    expect((await resolveSource(parseKernelSpec('6.6.5'), opts)).version).toBe('6.6.5');
  });

  it('lists them as available offline, and names the folder it searched when nothing matches', async () => {
    const { dir, cacheDir } = await setup();
    expect(await offlineVersions(cacheDir, [dir])).toEqual(['6.1', '6.6.5', '6.6.87', '6.12']);
    const e = await resolveSource(parseKernelSpec('6.7'), { cacheDir, reporter: quiet, tarballDirs: [dir] }).catch((x: unknown) => x as InputError);
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).message).toContain(`${dir}: no linux-6.7.*.tar.xz`);
    expect((e as InputError).message).toMatch(/available offline: 6\.1, 6\.6\.5, 6\.6\.87, 6\.12$/);
  });
});

describe('lts and newest', () => {
  it('lts names every LTS series; newest the newest series the sources offer (here a local 7.9 tarball, the archive off)', async () => {
    const dir = tempDir('lab-tarballs-');
    writeFileSync(join(dir, 'linux-7.9.1.tar.xz'), await fakeKernelTarball('7.9.1'));
    const opts = { cacheDir: tempDir('lab-cache-'), reporter: quiet, tarballDirs: [dir] };
    expect(await expandKernels(['lts', 'newest', '6.6', '6.12'], opts)).toEqual([...LTS_SERIES, '7.9']);
    expect(await newestSeries(opts)).toEqual({ series: '7.9', from: 'the sources available offline' });
    expect(() => parseKernelSpec('lts')).toThrow(/accepted: a series like 6\.12, an exact release like 6\.6\.58, lts \(6\.1, 6\.6, 6\.12\) or newest/);
  });
});

describe('tarballSha256', () => {
  it('hashes a tarball once and answers from the cache until the file changes', async () => {
    const dir = tempDir('lab-tarball-sha-');
    const tarball = join(dir, 'linux-6.99.1.tar.xz');
    writeFileSync(tarball, 'first');
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    expect(await tarballSha256(tarball, dir)).toBe(sha('first'));
    expect(readdirSync(join(dir, 'sources', '.hashes'))).toHaveLength(1);
    // the same file: the remembered hash (a planted one proves it was not recomputed)
    const memo = join(dir, 'sources', '.hashes', readdirSync(join(dir, 'sources', '.hashes'))[0]!);
    const planted = { ...JSON.parse(readFileSync(memo, 'utf8')), sha256: 'a'.repeat(64) };
    writeFileSync(memo, JSON.stringify(planted));
    expect(await tarballSha256(tarball, dir)).toBe('a'.repeat(64));
    // rewritten with another content (size and time change): hashed again
    writeFileSync(tarball, 'second, longer');
    expect(await tarballSha256(tarball, dir)).toBe(sha('second, longer'));
  });
});
