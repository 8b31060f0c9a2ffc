/** Files the lab rewrites while others may read them, or a crash may interrupt. */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { InfraError } from './errors.ts';

/**
 * Write a file whole or not at all: a temporary file beside it (unique name), written and
 * fsync'ed, then renamed over it. A reader (lab report, lab merge, another run) sees the old
 * content or the new, never a truncated one; a crash leaves the old file and a `.tmp-*` beside it.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const f = await open(tmp, 'w');
    try {
      await f.writeFile(data);
      await f.sync();
    } finally {
      await f.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** A record that is not JSON is a broken record (undefined), never an exception out of the code that lists or repairs. */
export function jsonOrUndefined(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Refuse a path that does not lie strictly inside `root`: every folder the lab
 * deletes is named from data (a version, an index file's content, a record),
 * and an EXTRAVERSION of "/.." once made lab bisect delete a folder outside
 * the cache. Checked on the resolved paths; the root itself is refused too.
 */
export function assertInside(root: string, path: string): void {
  const r = resolve(root);
  const p = resolve(path);
  if (!p.startsWith(r + sep)) throw new InfraError('PATH_OUTSIDE_CACHE', `refusing to remove ${path}: it is not inside ${root}`, { path, root });
}

/** rm -rf of `path`, only inside `root` (assertInside). */
export async function removeInside(root: string, path: string): Promise<void> {
  assertInside(root, path);
  await rm(path, { recursive: true, force: true });
}
