import { chmodSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SetupNeededError } from '../../lab/core/errors.ts';
import { probeAccel } from '../../lab/guest/accel.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * The accelerator probe against a stand-in qemu-system-x86_64 first on PATH:
 * one that prints a kernel's first console line under `-kernel` (a host
 * where KVM runs guests), one that prints nothing (the nested host of
 * another kind this sandbox is: /dev/kvm opens, the kernel hangs after the
 * BIOS). The real probe on this host is in tests/e2e/setup.test.ts.
 */
describe('probeAccel', () => {
  const dir = tempDir('lab-accel-');
  const devKvm = join(dir, 'kvm');
  const kernel = join(dir, 'bzImage');
  const cpuinfo = join(dir, 'cpuinfo');
  const savedPath = process.env.PATH;
  beforeAll(() => {
    writeFileSync(devKvm, '');
    writeFileSync(kernel, '');
    writeFileSync(cpuinfo, 'processor\t: 0\nflags\t\t: fpu vme de pse tsc msr pae\n');
    writeFileSync(
      join(dir, 'qemu-system-x86_64'),
      [
        '#!/bin/sh',
        'case " $* " in *" --version "*) echo "QEMU emulator version 0.0.0 (stand-in)"; exit 0;; esac',
        'case " $* " in *" -kernel "*) ;; *) exit 0;; esac',
        '[ "$FAKE_KVM" = works ] && echo "[    0.000000] Linux version 6.12.117 (lab@page-owner-lab)"',
        'exec sleep 30',
      ].join('\n'),
    );
    chmodSync(join(dir, 'qemu-system-x86_64'), 0o755);
    process.env.PATH = `${dir}${delimiter}${savedPath}`;
  });
  afterAll(() => {
    process.env.PATH = savedPath;
  });
  const opts = (cacheDir = tempDir('lab-accel-cache-')) => ({ devKvm, kernel, cpuinfo, cacheDir, timeoutMs: 1500 });

  it('configured tcg: no probe at all', async () => {
    expect(await probeAccel('tcg', { devKvm: join(dir, 'absent') })).toEqual({ accel: 'tcg', reason: 'configured: accel tcg' });
  });

  it('no device node: TCG under auto, exit 4 under accel kvm', async () => {
    const absent = { ...opts(), devKvm: join(dir, 'absent') };
    expect(await probeAccel('auto', absent)).toEqual({ accel: 'tcg', reason: `${join(dir, 'absent')} does not exist` });
    const e = await probeAccel('kvm', absent).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(SetupNeededError);
    expect((e as SetupNeededError).exitCode).toBe(4);
    expect((e as SetupNeededError).message).toMatch(/^accel kvm \(LAB_ACCEL or lab\.config\): KVM cannot run a guest here: .* does not exist; use accel auto or tcg$/);
  });

  it('a device node that opens and a kernel that prints nothing under KVM: TCG, and the reason says so', async () => {
    process.env.FAKE_KVM = 'hangs';
    const r = await probeAccel('auto', opts());
    expect(r.accel).toBe('tcg');
    expect(r.reason).toMatch(/^a kernel started under KVM printed nothing in 1\.\d s \(the CPU shows no vmx\/svm flag\): a nested host of another kind/);
    const e = await probeAccel('kvm', { ...opts(), kernel: `${kernel}-2` }).catch((err: unknown) => err as SetupNeededError);
    expect((e as SetupNeededError).exitCode).toBe(4);
    expect((e as SetupNeededError).message).toMatch(/printed nothing/);
  });

  it('a kernel that prints its first line under KVM: KVM, whatever the flags say', async () => {
    process.env.FAKE_KVM = 'works';
    const r = await probeAccel('auto', { ...opts(), kernel: `${kernel}-3` });
    expect(r.accel).toBe('kvm');
    expect(r.reason).toMatch(/^a kernel started under KVM printed its first console line in \d+ ms \(the CPU shows no vmx\/svm flag\)$/);
  });

  it('the verdict is kept for this host boot: a later probe reads it instead of starting QEMU', async () => {
    process.env.FAKE_KVM = 'works';
    const cacheDir = tempDir('lab-accel-cache-');
    expect((await probeAccel('auto', { ...opts(cacheDir), kernel: `${kernel}-4` })).accel).toBe('kvm');
    process.env.FAKE_KVM = 'hangs';
    const again = await probeAccel('auto', { ...opts(cacheDir), kernel: `${kernel}-5` });
    expect(again).toEqual({ accel: 'kvm', reason: expect.stringMatching(/printed its first console line .*\(probed earlier in this host boot\)$/) as string });
  });
});
