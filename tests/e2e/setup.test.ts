import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../lab/core/config.ts';
import { SetupNeededError } from '../../lab/core/errors.ts';
import { consoleReporter } from '../../lab/core/reporter.ts';
import { existsSync, readFileSync } from 'node:fs';
import { InfraError } from '../../lab/core/errors.ts';
import { probeAccel } from '../../lab/guest/accel.ts';
import { ensureHost, ensurePackages, missingPackages } from '../../lab/host/setup.ts';
import { lab } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';

describe('host set-up', () => {
  it('is idempotent: after a setup, a second one installs nothing', async () => {
    const first = await lab(['setup']);
    expect(first.exitCode, first.stderr).toBe(0);
    const second = await lab(['setup']);
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toMatch(/^nothing to install: every required program is present \(\d+ programs and files, \d+ packages\)$/m);
  });

  it('doctor reports every check and passes on a set-up host', async () => {
    const r = await lab(['doctor', '--json']);
    expect(r.exitCode, r.stdout).toBe(0);
    const checks = JSON.parse(r.stdout) as { name: string; level: string; detail: string }[];
    // the resolved configuration first, every key with its source, then the host checks
    expect(checks.filter((c) => c.name === 'config').map((c) => c.detail.split(' = ')[0])).toEqual(Object.keys(CONFIG_KEYS));
    expect(checks.find((c) => c.detail.startsWith('cacheDir = '))!.detail).toMatch(/\((default|env LAB_CACHE_DIR|file)\)$/);
    expect(checks.filter((c) => !['config', 'optional'].includes(c.name)).map((c) => c.name)).toEqual(['node', 'user', 'host programs', 'kernel sources', 'accelerator', 'disk', 'cache', 'ccache', 'ssh key']);
    expect(checks.find((c) => c.name === 'host programs')!.level).toBe('ok');
    expect(checks.find((c) => c.name === 'host programs')!.detail).toMatch(/qemu-system-x86_64 qemu-img mmdebstrap mkfs\.ext4/);
    expect(checks.find((c) => c.name === 'accelerator')!.detail).toMatch(/^(KVM|TCG): /);
  });

  it('picks TCG where /dev/kvm opens but a kernel hangs under it (this sandbox), from a real boot probe', async () => {
    const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
    if (!existsSync('/dev/kvm') || /\b(vmx|svm)\b/.test(flags)) return; // a host without KVM, or one where it may work: nothing to show here
    // the probe boots a kernel of the cache: make sure there is one
    const warm = await lab(['build', '--kernel', '6.12', '--json']);
    expect(warm.exitCode, warm.stderr).toBe(0);
    const cacheDir = tempDir('lab-accel-');
    const kernel = (JSON.parse(warm.stdout) as { bzImage: string }).bzImage;
    const r = await probeAccel('auto', { kernel, cacheDir });
    expect(r.accel).toBe('tcg');
    expect(r.reason).toMatch(/^a kernel started under KVM printed nothing in \d+(\.\d)? s \(the CPU shows no vmx\/svm flag/);
    const forced = await lab(['doctor'], { LAB_ACCEL: 'kvm' });
    expect(forced.exitCode).toBe(4);
    expect(forced.stdout).toMatch(/^fail\s+accelerator\s+accel kvm \(LAB_ACCEL or lab\.config\): KVM cannot run a guest here: /m);
    // before any build: the set-up stage stops the run
    const run = await lab(['exec', '--kernel', '6.12', '--', 'true'], { LAB_ACCEL: 'kvm' });
    expect(run.exitCode).toBe(4);
    expect(run.stderr).toMatch(/KVM cannot run a guest here/);
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
      'missing Debian packages: page-owner-lab-no-such-package; run: sudo apt-get update && sudo apt-get install -y --no-install-recommends page-owner-lab-no-such-package',
    );
  });

  it('a missing program stops the run naming the program, its package and the command, before anything is built', async () => {
    const reqs = [
      { program: 'sh', pkg: 'dash', why: 'present everywhere' },
      { program: 'lab-no-such-program', pkg: 'lab-no-such-package', why: 'the test' },
      { file: '/lab/no/such/header.h', pkg: 'lab-no-such-dev', why: 'the test' },
    ];
    const e = await ensureHost(consoleReporter({ quiet: true }), { isRoot: false, requirements: reqs }).catch((err: unknown) => err as SetupNeededError);
    expect(e).toBeInstanceOf(SetupNeededError);
    expect((e as SetupNeededError).exitCode).toBe(4);
    expect((e as SetupNeededError).message).toBe(
      'missing lab-no-such-program (Debian package lab-no-such-package), /lab/no/such/header.h (Debian package lab-no-such-dev); run: sudo apt-get update && sudo apt-get install -y --no-install-recommends lab-no-such-package lab-no-such-dev',
    );
    // as root, apt-get is asked, and a program still missing afterwards is named with its package
    const asRoot = await ensureHost(consoleReporter({ quiet: true }), { isRoot: true, requirements: reqs.slice(0, 2) }).catch((err: unknown) => err as InfraError);
    expect(asRoot).toBeInstanceOf(InfraError);
    expect((asRoot as InfraError).message).toMatch(/lab-no-such-package/);
  });
});
