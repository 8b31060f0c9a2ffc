import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertInside, removeInside, writeFileAtomic } from '../../lab/core/files.ts';
import { tempDir } from '../helpers/temp.ts';

const dir = tempDir('lab-files-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A result.json of a few MB, rewritten while a reader (lab report, lab merge) reads it: how many reads were not whole JSON. */
async function tornReads(write: (path: string, data: string) => Promise<void>, writes: number, stopAtFirst = false): Promise<number> {
  const path = join(dir, `result-${write.name || 'w'}.json`);
  const doc = (n: number) => JSON.stringify({ n, scenarios: Array.from({ length: 20_000 }, (_, i) => ({ name: `s${i}`, status: 'PASS' })) });
  writeFileSync(path, doc(0));
  let torn = 0;
  let writing = true;
  const reader = (async () => {
    while (writing) {
      try {
        JSON.parse(readFileSync(path, 'utf8'));
      } catch {
        torn++;
      }
      await new Promise((r) => setImmediate(r));
    }
  })();
  for (let n = 1; n <= writes && !(stopAtFirst && torn); n++) await write(path, doc(n));
  writing = false;
  await reader;
  return torn;
}

describe('writeFileAtomic', () => {
  it('a reader never sees a truncated file, where a plain rewrite shows it half-written', async () => {
    expect(await tornReads((p, d) => writeFile(p, d), 400, true)).toBeGreaterThan(0);
    expect(await tornReads(writeFileAtomic, 60)).toBe(0);
  });

  it('leaves no temporary file, and on a failure keeps the old content', async () => {
    const path = join(dir, 'kept.json');
    writeFileSync(path, '{"old":true}');
    await writeFileAtomic(path, '{"new":true}');
    expect(readFileSync(path, 'utf8')).toBe('{"new":true}');
    // a file where a folder should be: the write fails, and no temporary file is left
    writeFileSync(join(dir, 'x'), '');
    await expect(writeFileAtomic(join(dir, 'x', 'y.json'), '{}')).rejects.toThrow();
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('removeInside: rm -rf only inside the cache', () => {
  it('removes a folder inside; refuses the root itself, a sibling with the same prefix, and a path that climbs out with ..', async () => {
    const base = tempDir('lab-inside-');
    const cache = join(base, 'cache');
    const outside = join(base, 'cache-other');
    mkdirSync(join(cache, 'kernels', 'x'), { recursive: true });
    mkdirSync(outside);
    await removeInside(cache, join(cache, 'kernels', 'x'));
    expect(existsSync(join(cache, 'kernels', 'x'))).toBe(false);
    for (const target of [cache, outside, join(cache, 'kernels', '..', '..', 'cache-other'), '/']) {
      await expect(removeInside(cache, target)).rejects.toMatchObject({ code: 'PATH_OUTSIDE_CACHE' });
    }
    expect(existsSync(outside)).toBe(true);
    expect(existsSync(cache)).toBe(true);
    expect(() => assertInside(cache, join(cache, 'a/b'))).not.toThrow();
  });
});
