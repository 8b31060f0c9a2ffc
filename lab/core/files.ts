/** Files the lab rewrites while others may read them, or a crash may interrupt. */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';

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
