/**
 * Kept build trees: one `make O=` tree per kernel source, flavor, compiler
 * and build revision, under trees/ of the cache, that every cache miss of
 * that source and flavor builds in. A one-option change then recompiles only
 * the files that depend on the options that changed (kbuild's fixdep records
 * the CONFIG_ symbols of every object) instead of every file: a new
 * autoconf.h makes ccache miss them all.
 *
 * A tree is trusted only when its record (trees/<name>.json, beside the tree
 * so that copying the tree into a cache entry leaves it out) says the last
 * build in it finished, for this source, flavor, compiler and revision. A
 * build that did not finish, a record that does not match, or an incremental
 * build that fails sends the tree back to scratch.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { writeFileAtomic } from '../core/files.ts';
import { removeInBackground } from '../core/proc.ts';
import type { KernelSource } from './source.ts';

const TreeRecordSchema = z.object({
  schemaVersion: z.literal(1),
  sourceId: z.string(),
  sourceVersion: z.string(),
  flavor: z.string(),
  compiler: z.string(),
  revision: z.number().int(),
  /** `building` from the start of a make until it succeeded: a tree left in it is not trusted. */
  state: z.enum(['building', 'ready']),
  /** sha256 of the .config the last finished build was made with. */
  configSha256: z.string().optional(),
  builds: z.number().int().nonnegative(),
  seededAt: z.string(),
  usedAt: z.string(),
});
type TreeRecord = z.infer<typeof TreeRecordSchema>;

type TreeIdentity = Pick<TreeRecord, 'sourceId' | 'sourceVersion' | 'flavor' | 'compiler' | 'revision'>;

export interface KeptTree {
  name: string;
  /** The O= folder: two levels under the cache root, as tmp/kbuild-* is, so ccache hits the clean builds' objects (CCACHE_BASEDIR). */
  dir: string;
  record: string;
  lock: string;
  identity: TreeIdentity;
}

/**
 * Sources whose identity is their content (a tarball's sha256: the lab's
 * cached sources and --kernel-tarball) get a kept tree. A --kernel-src tree
 * (id `git:...` or `tree:...`) does not: it changes under the lab, each edit
 * would be a new tree, and make would judge its files by their times.
 */
export function keptTree(cacheDir: string, source: KernelSource, identity: Omit<TreeIdentity, 'sourceId' | 'sourceVersion'>): KeptTree | undefined {
  if (!/^[0-9a-f]{64}$/.test(source.id)) return undefined;
  const full: TreeIdentity = { sourceId: source.id, sourceVersion: source.version, ...identity };
  const hash = createHash('sha256')
    .update(JSON.stringify([full.sourceId, full.flavor, full.compiler, full.revision]))
    .digest('hex')
    .slice(0, 16);
  const name = `${source.version}-${full.flavor}-${hash}`;
  return { name, dir: join(cacheDir, 'trees', name), record: join(cacheDir, 'trees', `${name}.json`), lock: join(cacheDir, 'locks', `tree-${name}`), identity: full };
}

export async function readTreeRecord(path: string): Promise<TreeRecord | undefined> {
  try {
    return TreeRecordSchema.parse(JSON.parse(await readFile(path, 'utf8')));
  } catch {
    return undefined;
  }
}

/** Build incrementally in the tree as it is, or from scratch; `discard` says why a tree that is there cannot be trusted. */
export type TreeChoice = { build: 'incremental'; record: TreeRecord } | { build: 'scratch'; discard?: string };

export async function chooseTreeBuild(tree: KeptTree): Promise<TreeChoice> {
  const record = await readTreeRecord(tree.record);
  if (!existsSync(tree.dir)) return record ? { build: 'scratch', discard: 'its folder is gone' } : { build: 'scratch' };
  if (!record) return { build: 'scratch', discard: 'it has no valid record (trees/*.json)' };
  const differs = (Object.keys(tree.identity) as (keyof TreeIdentity)[]).filter((k) => record[k] !== tree.identity[k]);
  if (differs.length) return { build: 'scratch', discard: `its record names another ${differs.join(', ')}` };
  if (record.state !== 'ready') return { build: 'scratch', discard: 'the last build in it did not finish' };
  for (const f of ['.config', 'include/config/auto.conf', 'Makefile']) {
    if (!existsSync(join(tree.dir, f))) return { build: 'scratch', discard: `${f} is missing` };
  }
  return { build: 'incremental', record };
}

export async function writeTreeRecord(tree: KeptTree, previous: TreeRecord | undefined, change: Pick<TreeRecord, 'state'> & Partial<TreeRecord>): Promise<TreeRecord> {
  const now = new Date().toISOString();
  const record: TreeRecord = {
    schemaVersion: 1,
    ...tree.identity,
    builds: previous?.builds ?? 0,
    seededAt: previous?.seededAt ?? now,
    configSha256: previous?.configSha256,
    ...change,
    usedAt: now,
  };
  await mkdir(dirname(tree.record), { recursive: true });
  // a crash mid-write must not leave a half record that parses
  await writeFileAtomic(tree.record, JSON.stringify(record, null, 2));
  return record;
}

/** The tree and its record go; the files are deleted in the background (thousands of objects). */
export async function discardTree(cacheDir: string, tree: Pick<KeptTree, 'dir' | 'record'>): Promise<void> {
  await rm(tree.record, { force: true });
  await removeInBackground(cacheDir, tree.dir, join(cacheDir, 'tmp', `trash-${process.pid}-${randomBytes(4).toString('hex')}`));
}
