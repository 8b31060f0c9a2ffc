/**
 * Host set-up: find which required programs and files are missing, install
 * their Debian packages when running as root, then check the programs
 * themselves again; as another user, say the exact command to run (exit 4).
 * Idempotent: with nothing missing it installs nothing.
 */
import { SetupNeededError, InfraError } from '../core/errors.ts';
import { run, which } from '../core/proc.ts';
import type { ProgressReporter } from '../core/reporter.ts';
import { existsSync } from 'node:fs';
import { describeRequirement, hostRequirements, packagesOf, type HostRequirement } from './requirements.ts';

export async function missingPackages(pkgs: readonly string[]): Promise<string[]> {
  const r = await run('dpkg-query', ['-W', '-f=${Package} ${db:Status-Abbrev}\n', ...pkgs], { okExitCodes: [1] });
  const installed = new Set(
    r.stdout
      .split('\n')
      .filter((l) => /^\S+ ii/.test(l))
      .map((l) => l.split(' ')[0]),
  );
  return pkgs.filter((p) => !installed.has(p));
}

/** The requirements whose program is not on PATH (nor in the system's sbin folders) or whose file does not exist. */
export async function missingRequirements(reqs: readonly HostRequirement[]): Promise<HostRequirement[]> {
  const present = await Promise.all(reqs.map(async (r) => (r.program ? (await which(r.program)) !== undefined : existsSync(r.file!))));
  return reqs.filter((_, i) => !present[i]);
}

interface SetupResult {
  installed: string[];
  alreadyPresent: string[];
}

const isRootUser = () => process.getuid?.() === 0;

/** The command a person runs to install these packages: as root as it is, else through sudo. */
export function installCommand(pkgs: readonly string[], root = isRootUser()): string {
  const sudo = root ? '' : 'sudo ';
  return `${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
}

async function aptInstall(pkgs: readonly string[], reporter: ProgressReporter, log?: string): Promise<void> {
  reporter.stage('setup', `installing ${pkgs.join(' ')}`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update'], { env, log, errorCode: 'APT_FAILED' });
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { env, log, errorCode: 'APT_FAILED' });
}

/** Install Debian packages by name (kernel source packages, test tools), checked in dpkg's database. */
export async function ensurePackages(
  pkgs: readonly string[],
  reporter: ProgressReporter,
  opts: { log?: string; isRoot?: boolean } = {},
): Promise<SetupResult> {
  const missing = await missingPackages(pkgs);
  const alreadyPresent = pkgs.filter((p) => !missing.includes(p));
  if (missing.length === 0) return { installed: [], alreadyPresent };
  const root = opts.isRoot ?? isRootUser();
  if (!root) {
    const command = installCommand(missing, false);
    throw new SetupNeededError(`missing Debian packages: ${missing.join(', ')}; run: ${command}`, { command });
  }
  await aptInstall(missing, reporter, opts.log);
  const still = await missingPackages(missing);
  if (still.length) throw new InfraError('APT_FAILED', `apt-get did not install: ${still.join(', ')}`, { log: opts.log });
  return { installed: missing, alreadyPresent };
}

/**
 * Make sure every required program and file is there: install the packages of
 * the missing ones (as root), then look for the programs again. Without root,
 * or when a program is still missing after apt-get, stop naming each program,
 * its package and the command that installs it.
 */
export async function ensureHost(
  reporter: ProgressReporter,
  opts: { log?: string; isRoot?: boolean; requirements?: readonly HostRequirement[] } = {},
): Promise<SetupResult> {
  const reqs = (opts.requirements ?? hostRequirements).filter((r) => !r.optional);
  const missing = await missingRequirements(reqs);
  const alreadyPresent = packagesOf(reqs).filter((p) => !missing.some((m) => m.pkg === p));
  if (missing.length === 0) return { installed: [], alreadyPresent };
  const pkgs = packagesOf(missing);
  const root = opts.isRoot ?? isRootUser();
  if (!root) {
    const command = installCommand(pkgs, false);
    throw new SetupNeededError(`missing ${missing.map(describeRequirement).join(', ')}; run: ${command}`, {
      command,
      missing: missing.map((m) => m.program ?? m.file).join(' '),
    });
  }
  await aptInstall(pkgs, reporter, opts.log);
  const still = await missingRequirements(missing);
  if (still.length) {
    throw new InfraError(
      'APT_FAILED',
      `after apt-get installed ${pkgs.join(' ')}, still missing: ${still.map(describeRequirement).join(', ')}`,
      { log: opts.log, command: installCommand(packagesOf(still), true) },
    );
  }
  return { installed: pkgs, alreadyPresent };
}
