/**
 * git for lab bisect: revisions checked as input, a linked worktree in the
 * lab's cache (the user's working tree and HEAD are never touched), and
 * `git bisect` driven in it, its answers parsed from git's own messages
 * (LC_ALL=C, so they are the English ones).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../core/errors.ts';
import { removeInBackground, run, type RunOptions } from '../core/proc.ts';

/** The user's hooks do not run on the lab's checkouts, and git speaks English. */
const GIT_ENV = { LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0' };

export function git(dir: string, args: string[], opts: RunOptions = {}) {
  return run('git', ['-c', 'core.hooksPath=/dev/null', '-c', 'advice.detachedHead=false', '-C', dir, ...args], { ...opts, env: { ...GIT_ENV, ...opts.env } });
}

/** The top of a git tree, or an error naming the option. */
export async function gitTop(path: string, option = '--kernel-src'): Promise<string> {
  if (!existsSync(path)) throw new InputError('NOT_A_GIT_TREE', `${option} ${path}: no such directory`, { value: path });
  const r = await git(path, ['rev-parse', '--show-toplevel'], { okExitCodes: [128] });
  if (r.exitCode !== 0) {
    throw new InputError('NOT_A_GIT_TREE', `${option} ${path}: not a git tree (${r.stderr.trim().split('\n')[0]}); lab bisect needs the kernel's git repository`, { value: path });
  }
  return resolve(r.stdout.trim());
}

/** A revision as a full commit hash, or an error naming the option and the value. */
export async function resolveRevision(tree: string, rev: string, option: string): Promise<string> {
  const r = await git(tree, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], { okExitCodes: [1, 128] });
  if (r.exitCode !== 0 || !/^[0-9a-f]{40}$/.test(r.stdout.trim())) {
    throw new InputError('UNKNOWN_REVISION', `${option} ${rev}: no such commit in ${tree}`, { value: rev });
  }
  return r.stdout.trim();
}

/** Whether the tree has the revision (a tag such as v6.12.113); a folder that is no git tree has none. */
export async function revisionExists(tree: string, rev: string): Promise<boolean> {
  return resolveRevision(tree, rev, 'revision').then(
    () => true,
    () => false,
  );
}

/** good must be a proper ancestor of bad: anything else is a range git bisect cannot search. */
export async function checkRange(tree: string, good: { rev: string; commit: string }, bad: { rev: string; commit: string }): Promise<void> {
  const range = `--good ${good.rev} --bad ${bad.rev}`;
  if (good.commit === bad.commit) throw new InputError('BAD_RANGE', `${range}: both are commit ${good.commit.slice(0, 12)}; there is nothing between them`, { value: good.rev });
  const isAncestor = async (a: string, b: string) => (await git(tree, ['merge-base', '--is-ancestor', a, b], { okExitCodes: [1] })).exitCode === 0;
  if (await isAncestor(good.commit, bad.commit)) return;
  const swapped = await isAncestor(bad.commit, good.commit);
  throw new InputError(
    'BAD_RANGE',
    swapped
      ? `${range}: good and bad are swapped: --bad ${bad.rev} is an ancestor of --good ${good.rev} (the good revision comes first)`
      : `${range}: --good ${good.rev} is not an ancestor of --bad ${bad.rev}; give a good revision the bad one descends from`,
    { value: good.rev },
  );
}

interface CommitInfo {
  commit: string;
  subject: string;
  /** Files the commit changed against its first parent. */
  files: string[];
}

export async function commitInfo(tree: string, commit: string): Promise<CommitInfo> {
  const subject = (await git(tree, ['show', '--no-patch', '--format=%s', commit])).stdout.trim();
  const files = (await git(tree, ['diff', '--name-only', `${commit}^`, commit], { okExitCodes: [128] })).stdout.split('\n').filter(Boolean);
  return { commit, subject, files };
}

/** A file at a revision, without a checkout. */
export async function showFile(tree: string, commit: string, path: string): Promise<string | undefined> {
  const r = await git(tree, ['show', `${commit}:${path}`], { okExitCodes: [128] });
  return r.exitCode === 0 ? r.stdout : undefined;
}

/** Where git bisect stands after a command: a revision to test, the answer, or only skipped revisions left. */
export type BisectState = { kind: 'test'; commit: string } | { kind: 'found'; commit: string } | { kind: 'only-skipped'; candidates: string[] };

function parseBisectOutput(stdout: string): Exclude<BisectState, { kind: 'test' }> | undefined {
  const found = /^([0-9a-f]{40}) is the first bad commit$/m.exec(stdout);
  if (found) return { kind: 'found', commit: found[1]! };
  const skipped = /The first bad commit could be any of:\n((?:[0-9a-f]{40}\n?)+)/.exec(stdout);
  if (skipped) return { kind: 'only-skipped', candidates: skipped[1]!.trim().split('\n') };
  return undefined;
}

/** `git bisect` in a linked worktree of the user's repository. */
export class Bisector {
  constructor(
    readonly repo: string,
    readonly worktree: string,
    /** Where a removed worktree goes to be deleted in the background: inside `root` (the cache, same file system). */
    private readonly trash: { root: string; next: () => string },
  ) {}

  /** A fresh detached worktree at `commit` (one an interrupted run left behind is removed first). */
  async addWorktree(commit: string): Promise<void> {
    await this.removeWorktree();
    await git(this.repo, ['worktree', 'add', '--detach', this.worktree, commit]);
  }

  /** Gone from git at once (moved away, then pruned); its files are deleted in the background. */
  async removeWorktree(): Promise<void> {
    await removeInBackground(this.trash.root, this.worktree, this.trash.next());
    await git(this.repo, ['worktree', 'prune']);
  }

  async start(bad: string, good: string): Promise<BisectState> {
    return this.next(await this.bisect(['start', bad, good]));
  }

  async mark(mark: 'good' | 'bad' | 'skip', commit: string): Promise<BisectState> {
    return this.next(await this.bisect([mark, commit]));
  }

  /** Replays a log of `git bisect log`: the marks of an interrupted run. */
  async replay(logFile: string): Promise<BisectState> {
    return this.next(await this.bisect(['replay', logFile]));
  }

  async log(): Promise<string> {
    return (await git(this.worktree, ['bisect', 'log'])).stdout;
  }

  async reset(): Promise<void> {
    if (existsSync(this.worktree)) await git(this.worktree, ['bisect', 'reset'], { okExitCodes: [1, 128] });
  }

  private async bisect(args: string[]): Promise<string> {
    // exit 2: only skipped commits are left (the output says which)
    return (await git(this.worktree, ['bisect', ...args], { okExitCodes: [2] })).stdout;
  }

  private async next(stdout: string): Promise<BisectState> {
    const done = parseBisectOutput(stdout);
    if (done) return done;
    return { kind: 'test', commit: (await git(this.worktree, ['rev-parse', 'HEAD'])).stdout.trim() };
  }
}
