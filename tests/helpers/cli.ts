import { execa } from 'execa';
import { join } from 'node:path';
import { repoRoot } from '../../lab/core/paths.ts';
import { tempDir } from './temp.ts';

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The lab's CLI as `npm run lab` starts it: node and the launcher (which bundles lab/ when it changed). */
export const LAB_CLI = [process.execPath, join(repoRoot, 'lab', 'cli', 'launch.mjs')] as const;

/** Run the lab's CLI as a user would (npm run lab -- ...), results into a temporary folder. */
export async function lab(args: string[], env: Record<string, string> = {}): Promise<CliResult & { resultsDir: string }> {
  const resultsDir = env.LAB_RESULTS_DIR ?? tempDir('lab-results-');
  const r = await execa(LAB_CLI[0], [LAB_CLI[1], ...args], {
    cwd: repoRoot,
    env: { LAB_RESULTS_DIR: resultsDir, ...env },
    reject: false,
    stdin: 'ignore',
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), resultsDir };
}
