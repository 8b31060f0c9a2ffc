import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../lab/core/config.ts';
import { SetupNeededError } from '../../lab/core/errors.ts';
import { consoleReporter } from '../../lab/core/reporter.ts';
import { ensurePackages, missingPackages } from '../../lab/host/setup.ts';
import { lab } from '../helpers/cli.ts';

describe('host set-up', () => {
  it('is idempotent: after a setup, a second one installs nothing', async () => {
    const first = await lab(['setup']);
    expect(first.exitCode, first.stderr).toBe(0);
    const second = await lab(['setup']);
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toMatch(/^nothing to install: all \d+ packages present$/m);
  });

  it('doctor reports every check and passes on a set-up host', async () => {
    const r = await lab(['doctor', '--json']);
    expect(r.exitCode, r.stdout).toBe(0);
    const checks = JSON.parse(r.stdout) as { name: string; level: string; detail: string }[];
    // the resolved configuration first, every key with its source, then the host checks
    expect(checks.filter((c) => c.name === 'config').map((c) => c.detail.split(' = ')[0])).toEqual(Object.keys(CONFIG_KEYS));
    expect(checks.find((c) => c.detail.startsWith('cacheDir = '))!.detail).toMatch(/\((default|env LAB_CACHE_DIR|file)\)$/);
    expect(checks.filter((c) => c.name !== 'config').map((c) => c.name)).toEqual(['node', 'user', 'host packages', 'kernel sources', 'accelerator', 'disk', 'cache', 'ccache', 'ssh key']);
    expect(checks.find((c) => c.name === 'host packages')!.level).toBe('ok');
    expect(checks.find((c) => c.name === 'accelerator')!.detail).toMatch(/^(KVM|TCG): /);
  });

  it('asks dpkg what is missing', async () => {
    expect(await missingPackages(['dpkg', 'page-owner-lab-no-such-package'])).toEqual(['page-owner-lab-no-such-package']);
  });

  it('without root, names the exact command and exits 4', async () => {
    const e = await ensurePackages(['dpkg', 'page-owner-lab-no-such-package'], consoleReporter({ quiet: true }), { isRoot: false }).catch(
      (err: unknown) => err as SetupNeededError,
    );
    expect(e).toBeInstanceOf(SetupNeededError);
    expect((e as SetupNeededError).exitCode).toBe(4);
    expect((e as SetupNeededError).message).toBe(
      'missing Debian packages: page-owner-lab-no-such-package; run as root: apt-get update && apt-get install -y --no-install-recommends page-owner-lab-no-such-package',
    );
  });
});
