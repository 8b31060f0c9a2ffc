/**
 * The command line: parses argv and calls the same functions that are the
 * programmatic API (lab/pipeline.ts, lab/exec.ts, lab/artifacts.ts ...), one
 * file per command in lab/cli/commands/.
 * Exit codes: 0 all expectations passed, 1 an expectation failed, 2 bad
 * usage or input, 3 infrastructure failure (build, boot, SSH), 4 host set-up
 * needed (not root), 130 interrupted.
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, isLabError } from '../core/errors.ts';
import { bisectCommand } from './commands/bisect.ts';
import { buildCommand } from './commands/build.ts';
import { cacheCommand } from './commands/cache.ts';
import { compareCommand } from './commands/compare.ts';
import { execCommand } from './commands/exec.ts';
import { doctorCommand, setupCommand } from './commands/host.ts';
import { runCommand } from './commands/run.ts';
import { environmentHelp } from './options.ts';

function program(): Command {
  const cmd = new Command('lab')
    .description('page-owner-lab: build, boot and trace Linux kernels, and judge how they allocate pages')
    .showHelpAfterError()
    .exitOverride()
    .addHelpText(
      'after',
      `
Exit codes: 0 pass, 1 an expectation failed, 2 bad usage or input, 3 infrastructure
failure (build, boot, SSH), 4 host set-up needed, 130 interrupted.
Configuration: flags, then the environment, then lab.config.json or lab.config.yaml
in the working directory, then defaults (lab doctor prints the result):
${environmentHelp()}`,
    );
  for (const add of [runCommand, execCommand, bisectCommand, setupCommand, doctorCommand, buildCommand, compareCommand, cacheCommand]) add(cmd);
  return cmd;
}

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

await main(process.argv);
