import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { changedFiles, entryFiles } from '../../lab/prepare/module.ts';
import { tempDir } from '../helpers/temp.ts';

/** The guard that a module build leaves the cached kernel entry as it was (kbuild 6.13+ writes to MO=, else into O=). */
describe('the kernel entry before and after a module build', () => {
  it('names every file added, changed or removed, and nothing when all is as it was', async () => {
    const dir = tempDir('lab-entry-');
    try {
      mkdirSync(join(dir, 'scripts', 'mod'), { recursive: true });
      writeFileSync(join(dir, 'Module.symvers'), 'x');
      writeFileSync(join(dir, 'scripts', 'mod', 'modpost'), 'y');
      writeFileSync(join(dir, '.config'), 'CONFIG_A=y\n');
      const before = await entryFiles(dir);
      expect([...before.keys()].sort()).toEqual(['.config', 'Module.symvers', 'scripts/mod/modpost']);
      expect(changedFiles(before, await entryFiles(dir))).toEqual([]);
      // what a 7.x module build without MO= did: its objects and .ko landed in the build dir
      writeFileSync(join(dir, 'page_order.ko'), 'ko');
      utimesSync(join(dir, 'Module.symvers'), new Date(0), new Date(1000));
      rmSync(join(dir, '.config'));
      expect(changedFiles(before, await entryFiles(dir))).toEqual(['.config', 'Module.symvers', 'page_order.ko']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
