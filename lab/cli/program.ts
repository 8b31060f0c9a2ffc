/**
 * The command tree: every command, its options and the help texts. `lab
 * --help` lists every command's options, generated from the commands
 * themselves; every command's help ends with the environment variables.
 */
import { Command, Help } from 'commander';
import { baselineCommand } from './commands/baseline.ts';
import { bisectCommand } from './commands/bisect.ts';
import { buildCommand } from './commands/build.ts';
import { cacheCommand } from './commands/cache.ts';
import { compareCommand } from './commands/compare.ts';
import { execCommand } from './commands/exec.ts';
import { doctorCommand, setupCommand } from './commands/host.ts';
import { keysCommand } from './commands/keys.ts';
import { matrixCommand } from './commands/matrix.ts';
import { mergeCommand } from './commands/merge.ts';
import { noiseProfileCommand } from './commands/noise.ts';
import { reportCommand } from './commands/report.ts';
import { runCommand } from './commands/run.ts';
import { shellCommand } from './commands/shell.ts';
import { environmentHelp } from './options.ts';

const CONFIGURATION = `Configuration: flags, then the environment, then lab.config.json or lab.config.yaml
in the working directory, then defaults (lab doctor prints the result):
${environmentHelp()}`;

/** Every command with its path (`cache prune`), depth first. */
export function allCommands(root: Command): { path: string; cmd: Command }[] {
  const walk = (cmd: Command, prefix: string): { path: string; cmd: Command }[] =>
    cmd.commands.flatMap((c) => {
      const path = `${prefix}${c.name()}`;
      return [{ path, cmd: c }, ...walk(c, `${path} `)];
    });
  return walk(root, '');
}

/** Each command's options as its own help prints them (term, description, default, env). */
function optionsOfEveryCommand(root: Command): string {
  const help = new Help();
  return allCommands(root)
    .filter(({ cmd }) => cmd.options.length)
    .map(({ path, cmd }) => {
      const width = Math.max(...cmd.options.map((o) => help.optionTerm(o).length));
      return `lab ${path}:\n${cmd.options.map((o) => `  ${help.optionTerm(o).padEnd(width)}  ${help.optionDescription(o)}`).join('\n')}`;
    })
    .join('\n');
}

export function program(): Command {
  const cmd = new Command('lab')
    .description('page-owner-lab: build, boot and trace Linux kernels, and judge how they allocate pages')
    .showHelpAfterError()
    .exitOverride();
  for (const add of [runCommand, execCommand, shellCommand, setupCommand, doctorCommand, buildCommand, keysCommand, compareCommand, reportCommand, noiseProfileCommand, baselineCommand, bisectCommand, matrixCommand, mergeCommand, cacheCommand]) add(cmd);
  for (const { cmd: sub } of allCommands(cmd)) sub.addHelpText('after', `\n${CONFIGURATION}`);
  cmd.addHelpText(
    'after',
    `
Every command's options (lab <command> --help for one):
${optionsOfEveryCommand(cmd)}

Exit codes: 0 pass, 1 an expectation failed, 2 bad usage or input, 3 infrastructure
failure (build, boot, SSH), 4 host set-up needed, 130 interrupted; several kernels: the worst.
${CONFIGURATION}`,
  );
  return cmd;
}
