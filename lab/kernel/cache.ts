/** `lab cache ls` and `lab cache prune`: what the cache holds, and removing old kernel builds and kept build trees. */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../core/errors.ts';
import { jsonOrUndefined, removeInside } from '../core/files.ts';
import { tryWithLock } from '../core/lock.ts';
import { run } from '../core/proc.ts';
import { leftovers, removeLeftover, scratchAreas, scratchFolders, type ScratchFolder } from '../core/scratch.ts';
import { KernelBuildSchema } from './build.ts';
import { discardTree, readTreeRecord } from './tree.ts';

interface CacheEntry {
  kind: 'kernel' | 'tree' | 'image' | 'source' | 'download' | 'module' | 'tool' | 'bisect' | 'snapshot' | 'tmp' | 'log';
  name: string;
  path: string;
  bytes: number;
  /** When it was made (build time, a kept tree's last build, or the folder's modification time). */
  createdAt: string;
  detail: string;
  /** A scratch folder or a log: whether a live process holds its lock (false: what a process that is gone left). */
  inUse?: boolean;
}

const KINDS: Record<string, CacheEntry['kind']> = {
  kernels: 'kernel',
  /** Kept build trees (lab/kernel/tree.ts), with their objects: what the next build of the same source and flavor starts from. */
  trees: 'tree',
  images: 'image',
  sources: 'source',
  downloads: 'download',
  modules: 'module',
  tools: 'tool',
  /** An interrupted bisection: its marks and build tree, until --resume or a new bisection of the same range. */
  bisect: 'bisect',
  /** A saved ready guest (lab/guest/snapshot.ts): migration stream and disk, restored instead of booting. */
  snapshots: 'snapshot',
};

/** The kernel and image files a saved guest was booted from (its meta.json's command line). */
async function snapshotInputs(path: string): Promise<string[] | undefined> {
  // a record that is not JSON is a broken entry, never an error of the tools meant to clean up
  const meta = jsonOrUndefined(await readFile(join(path, 'meta.json'), 'utf8').catch(() => undefined)) as { identity?: unknown } | undefined;
  const args = meta?.identity;
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) return undefined;
  const kernel = args[args.indexOf('-kernel') + 1];
  const drive = /(?:^|,)file=([^,]+)/.exec(args[args.indexOf('-drive') + 1] ?? '')?.[1];
  return [kernel, drive].filter((f): f is string => !!f);
}

/** How `cache ls` marks an entry whose record fails its schema: skipped by lookups (loadEntry), removed by `cache prune`. */
const BROKEN = 'broken record';

async function du(path: string): Promise<number> {
  const r = await run('du', ['-sb', path], { okExitCodes: [1] });
  return Number(r.stdout.split(/\s/)[0] ?? 0);
}

export async function listCache(cacheDir: string): Promise<CacheEntry[]> {
  const out: CacheEntry[] = [];
  for (const [folder, kind] of Object.entries(KINDS)) {
    const dir = join(cacheDir, folder);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (name === 'index' || name.startsWith('.') || name.endsWith('.json') || name.endsWith('.tmp')) continue;
      const path = join(dir, name);
      let createdAt = (await stat(path)).mtime.toISOString();
      let detail = '';
      if (kind === 'snapshot') {
        const inputs = await snapshotInputs(path);
        detail = inputs ? `of ${inputs.map((f) => f.split('/').slice(-4, -3).join('') || f).join(', ')}` : 'broken record (meta.json missing, not JSON or without the command line it was booted with): removed by the next prune';
      }
      if (kind === 'kernel') {
        const text = await readFile(join(path, 'lab-build.json'), 'utf8').catch(() => undefined);
        const meta = text === undefined ? undefined : KernelBuildSchema.safeParse(jsonOrUndefined(text));
        if (!meta) detail = 'incomplete (no lab-build.json)';
        else if (!meta.success) detail = `${BROKEN} (lab-build.json fails its schema: ${meta.error.issues[0]?.path.join('.') || 'not JSON'}): removed by the next prune`;
        else {
          const m = meta.data;
          createdAt = m.builtAt;
          detail = `${m.release} config ${m.configSha256.slice(0, 12)} built in ${Math.round(m.buildSeconds)} s${m.tree?.incremental ? ` incrementally (${m.tree.compiled} files)` : ''}`;
        }
      }
      if (kind === 'tree') {
        const record = await readTreeRecord(join(dir, `${name}.json`));
        if (!record) detail = 'no record: removed by the next prune';
        else {
          createdAt = record.usedAt;
          detail = `${record.state === 'ready' ? `config ${record.configSha256?.slice(0, 12)}` : 'a build did not finish: rebuilt from scratch on next use'}, ${record.builds} build${record.builds === 1 ? '' : 's'} since ${record.seededAt.slice(0, 10)}`;
        }
      }
      out.push({ kind, name, path, bytes: await du(path), createdAt, detail });
    }
  }
  return [...out, ...(await scratchEntries(cacheDir)), ...(await logEntries(cacheDir))];
}

/** "7d", "12h", "30m" -> milliseconds. */
export function parseAge(text: string): number {
  const m = /^(\d+)\s*([dhm])$/.exec(text.trim());
  if (!m) throw new InputError('BAD_OPTION', `--older-than ${JSON.stringify(text)}: expected a number with d, h or m (e.g. 7d)`, { value: text });
  return Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
}

/** A scratch folder or a log as `cache ls` lists it. */
async function folderEntry(cacheDir: string, kind: 'tmp' | 'log', f: ScratchFolder, detail: string): Promise<CacheEntry> {
  const name = f.path.startsWith(cacheDir) ? f.path.slice(cacheDir.length + 1) : f.path;
  return { kind, name, path: f.path, bytes: await du(f.path), createdAt: f.modifiedAt, detail, inUse: f.inUse };
}

const scratchDetail = (f: ScratchFolder) => {
  const was = f.pid ? ` (pid ${f.pid} in its PID namespace)` : '';
  return f.inUse ? `in use by a running lab process${was}` : `left by a lab process that is gone${was}: removed by the next run or cache prune`;
};

/**
 * Scratch folders in every area (lab/core/scratch.ts): a build, an
 * extraction, a download, a guest's private folder under way, or what a
 * process that died left. In use is told by a lock, not a pid, so a lab in
 * another PID namespace sharing the cache is seen as alive.
 */
async function scratchEntries(cacheDir: string): Promise<CacheEntry[]> {
  const out: CacheEntry[] = [];
  for (const area of scratchAreas(cacheDir)) {
    for (const f of await scratchFolders(area.dir, area.prefixes)) out.push(await folderEntry(cacheDir, 'tmp', f, scratchDetail(f)));
  }
  return out;
}

/** Logs of `lab build` and `lab keys` (logs/): kept until the next prune once their command has ended. */
async function logEntries(cacheDir: string): Promise<CacheEntry[]> {
  const out: CacheEntry[] = [];
  for (const f of await scratchFolders(join(cacheDir, 'logs'), LOG_PREFIXES)) {
    out.push(await folderEntry(cacheDir, 'log', f, f.inUse ? 'its command is running' : 'its command ended: removed by the next cache prune'));
  }
  return out;
}
/** The commands that keep logs in the cache (cli/commands/build.ts, keys.ts). */
const LOG_PREFIXES = ['build', 'keys'];

/**
 * Remove what lab processes that are gone left in the scratch areas (the
 * start of every run, and cache prune). Only those are measured: a build
 * under way holds a tree whose size no run should wait for.
 */
export async function sweepLeftovers(cacheDir: string): Promise<CacheEntry[]> {
  const dead: CacheEntry[] = [];
  for (const area of scratchAreas(cacheDir)) {
    for (const f of await leftovers(area.dir, area.prefixes)) {
      dead.push(await folderEntry(cacheDir, 'tmp', f, scratchDetail(f)));
      await removeLeftover(f.path);
    }
  }
  return dead;
}

/**
 * Remove kernel builds: all but the newest `keep`, and/or those older than `olderThanMs`. Index files
 * pointing at them go too, and so do the leftovers of interrupted builds. Kept build trees follow the
 * same rule by their last use (a tree is only a head start for the next build), and a tree without a
 * record goes whatever the rule; a tree a build holds is left alone.
 */
export async function pruneKernels(cacheDir: string, opts: { keep?: number; olderThanMs?: number; now?: number }): Promise<CacheEntry[]> {
  if (opts.keep === undefined && opts.olderThanMs === undefined) {
    throw new InputError('BAD_OPTION', 'cache prune: give --keep N and/or --older-than AGE');
  }
  const orphans = await sweepLeftovers(cacheDir);
  const endedLogs = (await logEntries(cacheDir)).filter((e) => !e.inUse);
  for (const e of endedLogs) await removeLeftover(e.path);
  const listed = await listCache(cacheDir);
  const now = opts.now ?? Date.now();
  const doomedOf = (entries: CacheEntry[]) =>
    entries
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .filter((e, i) => (opts.keep !== undefined && i >= opts.keep) || (opts.olderThanMs !== undefined && now - Date.parse(e.createdAt) > opts.olderThanMs));
  const kernels = listed.filter((e) => e.kind === 'kernel');
  const doomed = [...new Set([...kernels.filter((e) => e.detail.startsWith(BROKEN)), ...doomedOf(kernels)])];
  const indexDir = join(cacheDir, 'kernels', 'index');
  const index = await readdir(indexDir).catch(() => [] as string[]);
  for (const e of doomed) {
    await removeInside(cacheDir, e.path);
    for (const f of index) {
      if ((await readFile(join(indexDir, f), 'utf8').catch(() => '')).trim() === e.name) await rm(join(indexDir, f), { force: true });
    }
  }
  const trees = listed.filter((e) => e.kind === 'tree');
  const doomedTrees = [...new Set([...trees.filter((e) => e.detail.startsWith('no record')), ...doomedOf(trees)])];
  const removedTrees: CacheEntry[] = [];
  for (const e of doomedTrees) {
    const removed = await tryWithLock(join(cacheDir, 'locks', `tree-${e.name}`), () => discardTree(cacheDir, { dir: e.path, record: `${e.path}.json` }));
    if (removed.ran) removedTrees.push(e);
  }
  // saved guests of kernels (or images) that are gone: they could never be restored again
  const stale: CacheEntry[] = [];
  for (const e of (await listCache(cacheDir)).filter((x) => x.kind === 'snapshot')) {
    const inputs = await snapshotInputs(e.path);
    if (!inputs || (await Promise.all(inputs.map((f) => stat(f).then(() => true, () => false)))).includes(false)) {
      await removeInside(cacheDir, e.path);
      stale.push(e);
    }
  }
  return [...doomed, ...removedTrees, ...stale, ...orphans, ...endedLogs];
}

export function formatBytes(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(0)} MiB` : `${(n / 2 ** 10).toFixed(0)} KiB`;
}
