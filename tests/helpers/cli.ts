import { execa } from 'execa';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../lab/core/paths.ts';

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Run the lab's CLI as a user would (npm run lab -- ...), results into a temporary folder. */
export async function lab(args: string[], env: Record<string, string> = {}): Promise<CliResult & { resultsDir: string }> {
  const resultsDir = env.LAB_RESULTS_DIR ?? mkdtempSync(join(tmpdir(), 'lab-results-'));
  const r = await execa(join(repoRoot, 'node_modules', '.bin', 'tsx'), [join(repoRoot, 'lab', 'cli', 'main.ts'), ...args], {
    cwd: repoRoot,
    env: { LAB_RESULTS_DIR: resultsDir, ...env },
    reject: false,
    stdin: 'ignore',
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), resultsDir };
}
