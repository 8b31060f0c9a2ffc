import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ProgressReporter } from '../../lab/core/reporter.ts';
import { fromTarball } from '../../lab/kernel/source.ts';
import { tempDir } from '../helpers/temp.ts';


/**
 * A kernel tarball as a hostile or careless packer makes it: every entry owned
 * by uid 1000, and three entries that must not land as written (a path with
 * "..", an absolute path, a symbolic link out of the tree).
 */
function hostileTarball(dir: string): string {
  const tarball = join(dir, 'linux-6.99.1.tar.xz');
  const py = `
import io, tarfile, sys
t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT)
def add(name, data=b'', kind=tarfile.REGTYPE, link=''):
    i = tarfile.TarInfo(name); i.uid = i.gid = 1000; i.uname = i.gname = 'someone'; i.type = kind; i.linkname = link; i.mode = 0o644
    if kind == tarfile.DIRTYPE: i.mode = 0o755
    i.size = len(data)
    t.addfile(i, io.BytesIO(data) if data else None)
add('linux-6.99.1/', kind=tarfile.DIRTYPE)
add('linux-6.99.1/Makefile', b'VERSION = 6\\nPATCHLEVEL = 99\\nSUBLEVEL = 1\\nEXTRAVERSION =\\n')
add('linux-6.99.1/mm/', kind=tarfile.DIRTYPE)
add('linux-6.99.1/mm/page_owner.c', b'/* page_owner */\\n')
add('linux-6.99.1/../../escaped-file', b'written outside the tree\\n')
add('/etc/abs-file', b'absolute\\n')
add('linux-6.99.1/out-link', kind=tarfile.SYMTYPE, link='../../../../etc')
t.close()
`;
  execFileSync('python3', ['-c', py, join(dir, 'linux-6.99.1.tar')]);
  execFileSync('xz', ['-0', join(dir, 'linux-6.99.1.tar')]);
  return tarball;
}

describe('extracting a release tarball into the cache', () => {
  it('two extractions of one tarball at once: one extracts, the other waits and finds its tree; nothing is left in sources/', async () => {
    const dir = tempDir('lab-extract-');
    const tarball = hostileTarball(dir);
    const cacheDir = join(dir, 'cache');
    const lines: string[] = [];
    const reporter = { stage: (_: string, m: string) => lines.push(m), warn: (_: string, m: string) => lines.push(m), detail: () => undefined, progress: () => undefined } as unknown as ProgressReporter;
    const [a, b] = await Promise.all([fromTarball(tarball, { cacheDir, reporter }), fromTarball(tarball, { cacheDir, reporter })]);
    expect(a.tree).toBe(b.tree);
    expect(a.version).toBe('6.99.1');
    expect(lines.filter((l) => l.startsWith('extracting '))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('cache hit: 6.99.1'))).toHaveLength(1);
    expect(readdirSync(join(cacheDir, 'sources')).filter((n) => n !== '.hashes')).toEqual([a.tree.split('/').pop()]);

    // the files belong to the user who extracted them, not to uid 1000 of the archive
    const uid = process.getuid!();
    for (const f of ['Makefile', 'mm', 'mm/page_owner.c']) expect(statSync(join(a.tree, f)).uid, f).toBe(uid);
    // the unsafe entries: refused or made safe, and named in a warning
    expect(existsSync(join(dir, 'escaped-file'))).toBe(false);
    expect(existsSync(join(cacheDir, 'escaped-file'))).toBe(false);
    expect(existsSync(join(a.tree, 'out-link'))).toBe(false);
    const warning = lines.find((l) => l.startsWith('warning: '));
    expect(warning).toMatch(/: 3 entries skipped or changed as unsafe: /);
    expect(warning).toContain("path contains '..' (../../escaped-file)");
    expect(warning).toContain('absolute path, extracted into the tree: /etc/abs-file');
    expect(warning).toContain('linkpath escapes extraction directory (out-link -> ../../../../etc)');
    expect(existsSync('/etc/abs-file')).toBe(false);
  });

  it('a tarball that is not xz leaves nothing behind, and says which file', async () => {
    const dir = tempDir('lab-extract-');
    const tarball = join(dir, 'linux-6.99.2.tar.xz');
    writeFileSync(tarball, 'not xz at all');
    const reporter = { stage: () => undefined, warn: () => undefined, detail: () => undefined, progress: () => undefined } as unknown as ProgressReporter;
    const e = await fromTarball(tarball, { cacheDir: join(dir, 'cache'), reporter }).catch((x: unknown) => x as Error);
    expect(e).toMatchObject({ code: 'EXTRACT_FAILED' });
    expect((e as Error).message).toContain(tarball);
    expect(readdirSync(join(dir, 'cache', 'sources')).filter((n) => n !== '.hashes')).toEqual([]);
  });
});
