/**
 * A cross-process lock (proper-lockfile: a lock folder whose mtime the owner
 * keeps fresh): concurrent runs that need the same cache entry wait for the
 * first one instead of building twice. A lock whose owner died goes stale
 * and is taken over; a live owner's lock never is, however long it holds it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import { InfraError } from './errors.ts';

const STALE_MS = 20_000;

/**
 * A lock can be lost while held: its folder removed, or its mtime not refreshed in time (the
 * machine suspended, an overloaded or shared file system). proper-lockfile then throws out of a
 * timer, which ended the process with exit 1 ("an expectation failed"). Here the loss is kept
 * and `fn`'s end turns into LOCK_LOST, infrastructure (exit 3): another process may have used
 * the same entry meanwhile.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, onWait?: () => void, o: { staleMs?: number } = {}): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  // proper-lockfile locks an existing file; the lock itself is the folder `${path}.lock`
  await writeFile(path, '', { flag: 'a' });
  let lost: Error | undefined;
  const options = { stale: o.staleMs ?? STALE_MS, realpath: false, onCompromised: (e: Error) => (lost ??= e) };
  const release = await lockfile.lock(path, { ...options, retries: 0 }).catch(async (e: NodeJS.ErrnoException) => {
    if (e.code !== 'ELOCKED') throw e;
    onWait?.();
    return lockfile.lock(path, { ...options, retries: { forever: true, minTimeout: 500, maxTimeout: 1000, factor: 1 } });
  });
  let value: T;
  try {
    value = await fn();
  } finally {
    await release().catch(() => undefined);
  }
  if (lost) throw new InfraError('LOCK_LOST', `lost the lock ${path}.lock while holding it (${lost.message}): another lab process may have used the same cache entry meanwhile; run again`, { path });
  return value;
}

/** `fn` under the lock when no one holds it; `{ ran: false }` at once when someone does. */
export async function tryWithLock<T>(path: string, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, '', { flag: 'a' });
  const release = await lockfile.lock(path, { stale: STALE_MS, realpath: false, retries: 0, onCompromised: () => undefined }).catch((e: NodeJS.ErrnoException) => {
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
