/**
 * Host set-up: find which Debian packages are missing and install them when
 * running as root; otherwise say the exact command to run (exit 4).
 * Idempotent: with nothing missing it installs nothing.
 */
import { SetupNeededError, InfraError } from '../core/errors.ts';
import { run } from '../core/proc.ts';
import type { Reporter } from '../core/reporter.ts';
import { hostPackages } from './requirements.ts';

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

export interface SetupResult {
  installed: string[];
  alreadyPresent: string[];
}

export async function ensurePackages(
  pkgs: readonly string[],
  reporter: Reporter,
  opts: { log?: string; isRoot?: boolean } = {},
): Promise<SetupResult> {
  const missing = await missingPackages(pkgs);
  const alreadyPresent = pkgs.filter((p) => !missing.includes(p));
  if (missing.length === 0) return { installed: [], alreadyPresent };
  const command = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (!(opts.isRoot ?? process.getuid?.() === 0)) {
    throw new SetupNeededError(`missing Debian packages: ${missing.join(', ')}; run as root: ${command}`, {
      command,
    });
  }
  reporter.stage('setup', `installing ${missing.join(' ')}`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update'], { env, log: opts.log, errorCode: 'APT_FAILED' });
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], {
    env,
    log: opts.log,
    errorCode: 'APT_FAILED',
  });
  const still = await missingPackages(missing);
  if (still.length) throw new InfraError('APT_FAILED', `apt-get did not install: ${still.join(', ')}`, { log: opts.log });
  return { installed: missing, alreadyPresent };
}

export function labPackages(extra: readonly string[] = []): string[] {
  return [...hostPackages.map((p) => p.pkg), ...extra];
}
