import { execaSync } from 'execa';
import { LAB_CLI } from './cli.ts';
import { repoRoot } from '../../lab/core/paths.ts';

/**
 * The debug flavor (KASAN, DEBUG_VM, DEBUG_PAGEALLOC) takes 30-40 min to build
 * on two cores: its end-to-end tests run when the lab cache already holds the
 * build (`lab build --flavor debug` made it), or when LAB_E2E_DEBUG=1 asks
 * for it, building it if needed. Never a rebuild the test does not need.
 */
export function debugKernelCached(series: string): boolean {
  return process.env.LAB_E2E_DEBUG === '1' || kernelCached(series, 'debug');
}

/** Whether the lab cache holds a build of that series (or exact release) and flavor (`lab cache ls`). */
export function kernelCached(series: string, flavor = 'lab', release?: string): boolean {
  const r = execaSync(LAB_CLI[0], [LAB_CLI[1], 'cache', 'ls', '--json'], { cwd: repoRoot, reject: false });
  if (r.exitCode !== 0) return false;
  const entries = JSON.parse(String(r.stdout)) as { kind: string; name: string }[];
  return entries.some((e) => e.kind === 'kernel' && e.name.startsWith(release ? `${release}-` : `${series}.`) && e.name.includes(`-${flavor}-`));
}
