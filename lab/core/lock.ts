/**
 * A cross-process lock (proper-lockfile: a lock folder whose mtime the owner
 * keeps fresh): concurrent runs that need the same cache entry wait for the
 * first one instead of building twice. A lock whose owner died goes stale
 * and is taken over; a live owner's lock never is, however long it holds it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';

const STALE_MS = 20_000;
const options = { stale: STALE_MS, realpath: false };

export async function withLock<T>(path: string, fn: () => Promise<T>, onWait?: () => void): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  // proper-lockfile locks an existing file; the lock itself is the folder `${path}.lock`
  await writeFile(path, '', { flag: 'a' });
  const release = await lockfile.lock(path, { ...options, retries: 0 }).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== 'ELOCKED') throw e;
    onWait?.();
    return lockfile.lock(path, { ...options, retries: { forever: true, minTimeout: 500, maxTimeout: 1000, factor: 1 } });
  });
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}

/** `fn` under the lock when no one holds it; `{ ran: false }` at once when someone does. */
export async function tryWithLock<T>(path: string, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, '', { flag: 'a' });
  const release = await lockfile.lock(path, { ...options, retries: 0 }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ELOCKED') return undefined;
    throw e;
  });
  if (!release) return { ran: false };
  try {
    return { ran: true, value: await fn() };
  } finally {
    await release().catch(() => undefined);
  }
}
