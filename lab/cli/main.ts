/**
 * The command line: parses argv and calls the same functions that are the
 * programmatic API (lab/api.ts: runLab, runExec, prepareArtifacts ...), one
 * file per command in lab/cli/commands/.
 * Exit codes: 0 all expectations passed, 1 an expectation failed, 2 bad
 * usage or input, 3 infrastructure failure (build, boot, SSH), 4 host set-up
 * needed (not root), 130 interrupted.
 */
import { CommanderError } from 'commander';
import { ExitCode, isLabError } from '../api.ts';
import { program } from './program.ts';

async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? 0 : ExitCode.badInput;
      return;
    }
    if (isLabError(e)) {
      process.stderr.write(`lab: ${e.message}\n`);
      if (e.context.results) process.stderr.write(`lab: logs in ${e.context.results}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    process.stderr.write(`lab: internal error: ${(e as Error).stack ?? e}\n`);
    process.exitCode = ExitCode.infrastructure;
  }
}

// output piped into a reader that stops early (lab --help | head): the rest is not wanted, which is no error
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
}
await main(process.argv);
