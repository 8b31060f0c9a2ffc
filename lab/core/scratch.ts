/**
 * Scratch folders of one lab process, and the sweep that finds those whose
 * process is gone. A scratch folder is named `<prefix>-<pid>-<hex>` (unique
 * even between two kernels of one run) and held by a lock beside it
 * (`<path>.lock`, proper-lockfile), whose time stamp its process refreshes
 * every few seconds. A folder whose lock is free or stale is a leftover: its
 * process died (kill -9, an OOM kill, a crash). The lock says so for a
 * process in another PID namespace too (a container sharing the cache),
 * where asking the kernel about its pid would answer for a different process.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import lockfile from 'proper-lockfile';
import { InfraError } from './errors.ts';

/** A booted guest's disk overlay and QMP socket (private: 0700), in the host's temporary folder. */
export const GUEST_SCRATCH = 'lab-guest';
/** Files staged for an upload into the guest, in the host's temporary folder. */
export const UPLOAD_SCRATCH = 'lab-upload';

/**
 * Every place scratch folders are made, with their prefixes: what a sweep
 * (the start of a run, `lab cache prune`) and `lab cache ls` look at.
 */
export function scratchAreas(cacheDir: string): { dir: string; prefixes: string[] }[] {
  return [
    // an extraction under way
    { dir: join(cacheDir, 'sources'), prefixes: ['.tmp'] },
    // a saved guest being written
    { dir: join(cacheDir, 'snapshots'), prefixes: ['.tmp'] },
    // a download under way (mirror.ts), a Debian package being unpacked (debian.ts)
    { dir: join(cacheDir, 'downloads'), prefixes: ['.part'] },
    { dir: join(cacheDir, 'apt', 'debs'), prefixes: ['deb'] },
    // builds from scratch, module builds, image builds; trash-/bisect-: trees being deleted in the background
    { dir: join(cacheDir, 'tmp'), prefixes: ['kbuild', 'kmod', 'image', 'trash', 'bisect'] },
    { dir: hostScratchDir(), prefixes: [GUEST_SCRATCH, UPLOAD_SCRATCH] },
  ];
}

/**
 * This user's folder in the host's temporary folder, for what must not live
 * in the cache (QMP's socket: a socket path has at most 107 bytes):
 * page-owner-lab-<uid>, made 0700 and refused unless it is a folder of this
 * user's that no one else can enter (another user could have made it first).
 */
export function hostScratchDir(): string {
  const uid = process.getuid?.() ?? 0;
  const dir = join(tmpdir(), `page-owner-lab-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o077) !== 0) {
    throw new InfraError('UNSAFE_TEMP_DIR', `${dir} is not a folder of this user's that only this user can enter (owner ${st.uid}, mode ${(st.mode & 0o777).toString(8)}); remove it or set TMPDIR`, { path: dir });
  }
  return dir;
}

/** Unrefreshed for this long, a lock is stale: its holder is gone (refreshed every STALE_MS / 2). */
const STALE_MS = 20_000;
const LOCK_SUFFIX = '.lock';

interface Scratch {
  path: string;
  /** Give up the lock (the folder stays: renamed into place, or a log the user reads). */
  release(): Promise<void>;
  /** Remove the folder, then give up the lock. */
  remove(): Promise<void>;
}

const lockOptions = (path: string) => ({ realpath: false, stale: STALE_MS, lockfilePath: `${path}${LOCK_SUFFIX}` });

/**
 * A new scratch folder `<parent>/<prefix>-<pid>-<hex>` (0700 when private),
 * locked before it exists: a sweep never sees it unlocked.
 */
export async function scratch(parent: string, prefix: string, o: { private?: boolean } = {}): Promise<Scratch> {
  await mkdir(parent, { recursive: true });
  const path = join(parent, `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`);
  // a lost lock (the machine suspended for longer than STALE_MS) is not an error here: at worst a
  // sweep removes the folder of a live process, whose next step then fails on a missing file
  const unlock = await lockfile.lock(path, { ...lockOptions(path), retries: 0, onCompromised: () => undefined });
  await mkdir(path, o.private ? { mode: 0o700 } : {});
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await unlock().catch(() => undefined);
  };
  return {
    path,
    release,
    remove: async () => {
      await rm(path, { recursive: true, force: true });
      await release();
    },
  };
}

/** `fn` with a scratch folder, removed afterwards whatever happens (gone already when `fn` renamed it into place). */
export async function withScratch<T>(parent: string, prefix: string, fn: (path: string) => Promise<T>): Promise<T> {
  const s = await scratch(parent, prefix);
  try {
    return await fn(s.path);
  } finally {
    await s.remove();
  }
}

export interface ScratchFolder {
  path: string;
  /** The pid in its name: only a hint (another PID namespace's pids mean nothing here). */
  pid?: number;
  modifiedAt: string;
  /** A live process holds its lock. */
  inUse: boolean;
}

/**
 * Entries of `parent` named `<prefix>-...` for one of `prefixes` (never their
 * locks), in use or not; stale locks whose folder is gone are removed.
 */
export async function scratchFolders(parent: string, prefixes: readonly string[]): Promise<ScratchFolder[]> {
  const names = await readdir(parent).catch(() => [] as string[]);
  const out: ScratchFolder[] = [];
  for (const name of names) {
    if (name.endsWith(LOCK_SUFFIX) || !prefixes.some((p) => name.startsWith(`${p}-`))) continue;
    const path = join(parent, name);
    const st = await stat(path).catch(() => undefined);
    if (!st) continue;
    const pid = Number(/-(\d+)-[0-9a-f]+$/.exec(name)?.[1]) || undefined;
    out.push({ path, pid, modifiedAt: st.mtime.toISOString(), inUse: await inUse(path) });
  }
  // a stale lock whose folder went (removed by hand, or the process died between the two)
  for (const name of names) {
    if (!name.endsWith(LOCK_SUFFIX) || names.includes(name.slice(0, -LOCK_SUFFIX.length))) continue;
    const path = join(parent, name.slice(0, -LOCK_SUFFIX.length));
    if (prefixes.some((p) => basename(path).startsWith(`${p}-`)) && !(await inUse(path))) await rm(join(parent, name), { recursive: true, force: true });
  }
  return out;
}

/** The scratch folders of `parent` whose process is gone. */
export async function leftovers(parent: string, prefixes: readonly string[]): Promise<ScratchFolder[]> {
  return (await scratchFolders(parent, prefixes)).filter((f) => !f.inUse);
}

/** Whether a live process holds the scratch folder's lock. */
export async function inUse(path: string): Promise<boolean> {
  return lockfile.check(path, lockOptions(path)).catch(() => false);
}

/** Remove a leftover and its lock (names are unique: no process takes a dead one's folder back). */
export async function removeLeftover(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
  await rm(`${path}${LOCK_SUFFIX}`, { recursive: true, force: true });
}
