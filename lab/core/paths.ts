/** Where the lab keeps things: the repository, the cache outside it, results. */
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
