import { execa } from 'execa';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inUse, leftovers, removeLeftover, scratch, scratchFolders, withScratch } from '../../lab/core/scratch.ts';
import { repoRoot } from '../../lab/core/paths.ts';
import { tempDir } from '../helpers/temp.ts';

const parent = () => tempDir('lab-scratch-test-');
/** What a lock looks like when its holder stopped refreshing it a minute ago. */
const ageLock = (path: string) => utimesSync(`${path}.lock`, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));

describe('scratch folders', () => {
  it('are unique per call, locked while held, and a leftover once their process let go without removing them', async () => {
    const dir = parent();
    const [a, b] = await Promise.all([scratch(dir, 'kbuild'), scratch(dir, 'kbuild')]);
    expect(a.path).not.toBe(b.path);
    expect(a.path).toMatch(new RegExp(`/kbuild-${process.pid}-[0-9a-f]{8}$`));
    expect(await inUse(a.path)).toBe(true);
    expect(await leftovers(dir, ['kbuild'])).toEqual([]);
    await a.release();
    await b.remove();
    expect((await leftovers(dir, ['kbuild'])).map((l) => l.path)).toEqual([a.path]);
    expect(readdirSync(dir).sort()).toEqual([a.path.split('/').pop()]);
  });

  it('a stale lock (its process died: no refresh for longer than 20 s) marks a leftover; removing it takes the lock too', async () => {
    const dir = parent();
    const s = await scratch(dir, '.tmp-abc');
    writeFileSync(join(s.path, 'half-extracted'), 'x');
    // a process killed with -9 leaves its lock folder, unrefreshed
    ageLock(s.path);
    const [left] = await leftovers(dir, ['.tmp']);
    expect(left?.path).toBe(s.path);
    await removeLeftover(left!.path);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a folder of an older lab without any lock (legacy .tmp-<id>-<pid>) is a leftover; other names are never touched', async () => {
    const dir = parent();
    mkdirSync(join(dir, '.tmp-0a01f7bf1e49-32317'));
    mkdirSync(join(dir, '6.12.117-0a01f7bf1e49'));
    mkdirSync(join(dir, '.hashes'));
    expect((await leftovers(dir, ['.tmp'])).map((l) => l.path.split('/').pop())).toEqual(['.tmp-0a01f7bf1e49-32317']);
  });

  it('withScratch removes its folder whatever fn does', async () => {
    const dir = parent();
    await expect(withScratch(dir, 'kmod', async (p) => {
      writeFileSync(join(p, 'f'), 'x');
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a live holder in another PID namespace is seen as in use (its pid means nothing here); once it is gone, a leftover', async () => {
    const dir = parent();
    const script = `import { scratch } from ${JSON.stringify(join(repoRoot, 'lab/core/scratch.ts'))}; const s = await scratch(${JSON.stringify(dir)}, 'kbuild'); console.log(s.path); setInterval(() => {}, 1000);`;
    const holder = join(parent(), 'holder.mts');
    writeFileSync(holder, script);
    // tsx keeps a cache in TMPDIR: one of this test's own
    const child = execa('unshare', ['--pid', '--fork', '--kill-child', join(repoRoot, 'node_modules/.bin/tsx'), holder], { reject: false, buffer: false, env: { TMPDIR: parent() } });
    try {
      let path = '';
      child.stdout!.on('data', (d: Buffer) => (path += d.toString()));
      for (let i = 0; i < 200 && !path.includes('\n'); i++) await new Promise((r) => setTimeout(r, 100));
      path = path.trim();
      // a pid of its own fresh namespace (a few processes in): here, that pid is some other process, or none
      const nsPid = Number(/\/kbuild-(\d+)-[0-9a-f]{8}$/.exec(path)?.[1]);
      expect(nsPid).toBeLessThan(100);
      expect(nsPid).not.toBe(child.pid);
      expect((await scratchFolders(dir, ['kbuild'])).map((f) => f.inUse)).toEqual([true]);
      expect(await leftovers(dir, ['kbuild'])).toEqual([]);
      child.kill('SIGKILL');
      await child;
      expect(existsSync(path)).toBe(true);
      // its lock is no longer refreshed: after 20 s it is stale (aged here instead of waiting)
      ageLock(path);
      expect((await leftovers(dir, ['kbuild'])).map((l) => l.path)).toEqual([path]);
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);
});
