/** Where the lab keeps things: the repository, the cache outside it, results. */
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface LabPaths {
  repo: string;
  cache: string;
  results: string;
}

export function resolvePaths(env: NodeJS.ProcessEnv = process.env): LabPaths {
  const xdg = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return {
    repo: repoRoot,
    cache: resolve(env.LAB_CACHE_DIR || join(xdg, 'page-owner-lab')),
    results: resolve(env.LAB_RESULTS_DIR || join(repoRoot, 'results')),
  };
}

/** A results folder name: UTC time, what ran, and a few random characters so parallel runs never collide. */
export function runId(label: string, at = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${label.replace(/[^\w.-]+/g, '_')}-${randomBytes(2).toString('hex')}`;
}

/** What a run is labelled by: the kernel spec, or "local" for a tree or tarball of the user's. */
export function kernelLabel(input: { kernel: string; kernelSrc?: string; kernelTarball?: string }): string {
  return input.kernelSrc || input.kernelTarball ? 'local' : input.kernel;
}
