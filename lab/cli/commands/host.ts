/** `lab setup` and `lab doctor`: the host's packages and what the lab finds on this machine. */
import type { Command } from 'commander';
import { consoleReporter, doctor, ensureHost, ExitCode, hostRequirements } from '../../api.ts';
import { configFrom } from '../options.ts';

export function setupCommand(program: Command): void {
  program
    .command('setup')
    .description('install the Debian packages of the programs the lab runs (as root), check the programs again, or print the command to run')
    .action(async () => {
      const r = await ensureHost(consoleReporter());
      process.stdout.write(
        r.installed.length
          ? `installed: ${r.installed.join(' ')}; every required program is present\n`
          : `nothing to install: every required program is present (${hostRequirements.filter((q) => !q.optional).length} programs and files, ${r.alreadyPresent.length} packages)\n`,
      );
    });
}

export function doctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('check this host for what the lab needs, and print the resolved configuration (reads only)')
    .option('--json', 'print JSON for scripts')
    .action(async (o: { json?: boolean }) => {
      const checks = await doctor(configFrom());
      if (o.json) process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
      else for (const c of checks) process.stdout.write(`${c.level.padEnd(4)}  ${c.name.padEnd(15)} ${c.detail}\n`);
      process.exitCode = checks.some((c) => c.level === 'fail') ? ExitCode.setupNeeded : ExitCode.ok;
    });
}
