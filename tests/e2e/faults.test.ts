import { execa } from 'execa';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import type { RunResult } from '../../lab/report/result.ts';
import { LAB_CLI, lab } from '../helpers/cli.ts';
import { qemuLeft as qemuLeftOf } from '../helpers/qemu.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * Failure modes injected into real guests of the cached 6.12 kernel: each ends
 * with its own exit code, a result.json that says what happened, and the
 * console log to read, and never leaves a QEMU behind.
 */
function result(stdout: string): { r: RunResult; dir: string } {
  const dir = /results in (\S+)/.exec(stdout)?.[1];
  expect(dir, stdout).toBeDefined();
  return { r: JSON.parse(readFileSync(join(dir!, 'result.json'), 'utf8')) as RunResult, dir: dir! };
}

/** QEMU processes still running for this run's guests. */
async function qemuLeft(r: RunResult): Promise<number> {
  expect(r.boots.length).toBeGreaterThan(0);
  let n = 0;
  for (const b of r.boots) n += await qemuLeftOf(b.qemu.join(' '));
  return n;
}

describe('failure modes', () => {
  it('page_owner off: the module refuses to load, naming the cause', async () => {
    const run = await lab(['--kernel', '6.12', '--scenario', 'idle-baseline', '--append', 'page_owner=off']);
    expect(run.exitCode, run.stdout).toBe(3);
    const { r } = result(run.stdout);
    const s = r.scenarios[0]!;
    expect(s.status).toBe('ERROR');
    expect(s.error!.code).toBe('MODULE_LOAD_FAILED');
    expect(String(s.error!.context!.dmesg)).toContain('page_order: page_owner is not enabled (boot with page_owner=on)');
    expect(run.stdout).toMatch(/idle-baseline: MODULE_LOAD_FAILED: insmod page_order failed/);
  });

  it('a kernel that panics at boot is an infrastructure error with the panic in the console log', async () => {
    const run = await lab(['--kernel', '6.12', '--scenario', 'idle-baseline', '--append', 'init=/nonexistent']);
    expect(run.exitCode, run.stdout).toBe(3);
    const { r, dir } = result(run.stdout);
    expect(r.error).toMatchObject({ stage: 'boot', code: 'GUEST_PANIC' });
    expect(await qemuLeft(r)).toBe(0);
    expect(String(r.error!.context!.consoleTail)).toMatch(/Kernel panic - not syncing/);
    expect(readFileSync(join(dir, 'console.log'), 'utf8')).toMatch(/Kernel panic - not syncing/);
    expect(existsSync(join(dir, 'junit.xml'))).toBe(true);
  });

  it('a guest that never gets ready times out', async () => {
    // init reads the console forever: no readiness marker
    const run = await lab(['--kernel', '6.12', '--scenario', 'idle-baseline', '--append', 'init=/usr/bin/tail'], { LAB_READY_TIMEOUT_S: '20' });
    expect(run.exitCode, run.stdout).toBe(3);
    const { r } = result(run.stdout);
    expect(r.error).toMatchObject({ stage: 'boot', code: 'BOOT_TIMEOUT', message: 'no readiness marker on the console after 20 s' });
    expect(await qemuLeft(r)).toBe(0);
  });

  it('a step that prints 200 MB: the harness stays under 300 MiB, the log has it whole, the capture sees its end', async () => {
    // before the output was bounded, 200 MB took the harness to 840 MiB and 600 MB ended the run (ERR_STRING_TOO_LONG)
    const dir = tempDir('lab-loud-');
    try {
      const file = join(dir, 'loud.yaml');
      writeFileSync(
        file,
        [
          'description: A step that prints 200 MB.',
          'steps:',
          '  - name: print 200 MB',
          `    run: "yes 0123456789012345678901234567890123456789012345678 | head -c 200000000; echo 'done 42'"`,
          '    timeout_s: 900',
          '    capture:',
          "      done: '^done (\\d+)$'",
          'expect:',
          '  - done == 42',
          '',
        ].join('\n'),
      );
      const run = await lab(['--kernel', '6.12', '-s', file]);
      expect(run.exitCode, run.stdout).toBe(0);
      const { r, dir: results } = result(run.stdout);
      const s = r.scenarios[0]!;
      expect(s.captured).toEqual({ done: 42 });
      expect(s.steps).toEqual([{ name: 'print 200 MB', log: 'steps/01-print-200-MB.log', stdoutBytes: 200_000_008, truncated: true }]);
      expect(statSync(join(results, 'scenarios', 'loud', s.steps![0]!.log)).size).toBe(200_000_008);
      expect(r.harness!.peakRssMb).toBeLessThan(300);
      expect(`${run.stdout}${run.stderr}`).toMatch(/step "print 200 MB" printed 200000008 bytes: memory kept its first and last part/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a guest lost in the middle of a scenario is discarded; the next scenario boots a new one', async () => {
    const dir = tempDir('lab-scenario-');
    const crash = join(dir, 'crash.yaml');
    writeFileSync(crash, 'description: crash the kernel mid-scenario\nsteps:\n  - name: crash\n    run: echo c > /proc/sysrq-trigger\n    timeout_s: 60\nexpect:\n  - bpf.set >= 0\n');
    const run = await lab(['--kernel', '6.12', '--scenario', crash, '--scenario', join(repoRoot, 'scenarios', 'hugetlb.yaml')]);
    expect(run.exitCode, run.stdout).toBe(3);
    const { r } = result(run.stdout);
    expect(r.scenarios.map((s) => [s.name, s.status])).toEqual([
      ['crash', 'ERROR'],
      ['hugetlb', 'PASS'],
    ]);
    expect(r.scenarios[0]!.error!.code).toMatch(/^GUEST_LOST|GUEST_COMMAND_TIMEOUT$/);
    expect(r.guest!.boots).toBe(2);
    expect(r.guest!.kernelErrors.join('\n')).toMatch(/Kernel panic - not syncing: sysrq triggered crash/);
    // the scenario carries the kernel's report, also in its folder
    expect(r.scenarios[0]!.kernelReport!.join('\n')).toMatch(/sysrq triggered crash/);
    expect(existsSync(join(r.scenarios[0]!.resultsDir, 'kernel-report.txt'))).toBe(true);
  });

  it('--isolate boots a guest per scenario; a scenario whose precondition is absent is skipped', async () => {
    const dir = tempDir('lab-scenario-');
    const future = join(dir, 'future.yaml');
    writeFileSync(future, 'description: needs a kernel from the future\nrequires:\n  kernel: ">= 99.0"\nsteps:\n  - name: x\n    run: "true"\nexpect:\n  - bpf.set >= 0\n');
    const run = await lab(['--kernel', '6.12', '--isolate', '--scenario', future, '--scenario', 'module-filter', '--scenario', 'idle-baseline']);
    expect(run.exitCode, run.stdout).toBe(0);
    const { r } = result(run.stdout);
    expect(r.scenarios.map((s) => [s.name, s.status])).toEqual([
      ['future', 'SKIP'],
      ['module-filter', 'PASS'],
      ['idle-baseline', 'PASS'],
    ]);
    expect(r.scenarios[0]!.skipReason).toMatch(/^kernel 6\.12\.\d+ does not match ">= 99\.0"$/);
    expect(r.guest!.boots).toBe(3);
    expect(run.stdout).toMatch(/future\s+\(scenario\)\s+-\s+kernel 6\.12\.\d+ does not match ">= 99\.0"\s+SKIP/);
    expect(await qemuLeft(r)).toBe(0);
  });

  it('Ctrl-C stops the guest, writes the results and exits 130', async () => {
    const resultsDir = tempDir('lab-results-');
    const child = execa(LAB_CLI[0], [LAB_CLI[1], '--kernel', '6.12', '--scenario', 'idle-baseline'], {
      env: { LAB_RESULTS_DIR: resultsDir },
      reject: false,
      stdin: 'ignore',
    });
    await new Promise<void>((resolve) => {
      child.stderr!.on('data', (d: Buffer) => {
        if (/\[idle-baseline\]/.test(d.toString())) resolve();
      });
    });
    child.kill('SIGINT');
    const done = await child;
    expect(done.exitCode).toBe(130);
    const { r } = result(String(done.stdout));
    expect(r.status).toBe('ERROR');
    expect(r.error?.code ?? r.scenarios[0]?.error?.code).toMatch(/INTERRUPTED|GUEST_LOST/);
    expect(await qemuLeft(r)).toBe(0);
  });

  it('kill -9 of the lab (no handler can run): QEMU dies with it, at once; the next run removes what it left', async () => {
    const resultsDir = tempDir('lab-results-');
    const child = execa(LAB_CLI[0], [LAB_CLI[1], 'exec', '--kernel', '6.12', '--', 'sleep 300'], { env: { LAB_RESULTS_DIR: resultsDir }, reject: false, stdin: 'ignore' });
    // the QEMU this lab process started: a descendant of it
    const qemuOf = async (root: number): Promise<number | undefined> => {
      const rows = String((await execa('ps', ['-e', '-o', 'pid=,ppid=,comm='])).stdout)
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .map(([pid, ppid, comm]) => ({ pid: Number(pid), ppid: Number(ppid), comm }));
      const below = new Set([root]);
      for (let changed = true; changed; ) {
        changed = false;
        for (const r of rows) {
          if (!below.has(r.ppid) || below.has(r.pid)) continue;
          below.add(r.pid);
          changed = true;
        }
      }
      return rows.find((r) => below.has(r.pid) && r.comm?.startsWith('qemu-system'))?.pid;
    };
    let qemu: number | undefined;
    for (let i = 0; i < 600 && !qemu; i++) {
      qemu = await qemuOf(child.pid!);
      if (!qemu) await new Promise((r) => setTimeout(r, 200));
    }
    expect(qemu, 'no QEMU under the lab process within 120 s').toBeDefined();
    await new Promise((r) => setTimeout(r, 3000));
    const killed = Date.now();
    process.kill(child.pid!, 'SIGKILL');
    await child;
    const alive = () => {
      try {
        process.kill(qemu!, 0);
        return true;
      } catch {
        return false;
      }
    };
    while (alive() && Date.now() - killed < 10_000) await new Promise((r) => setTimeout(r, 20));
    const ms = Date.now() - killed;
    writeFileSync(join(resultsDir, 'kill-9.txt'), `QEMU ${qemu} gone ${ms} ms after kill -9 of the lab\n`);
    expect(alive(), `QEMU ${qemu} still runs ${ms} ms after kill -9 of the lab`).toBe(false);
    expect(ms).toBeLessThan(5000);

    // what the killed run left: its guest's private folder (overlay, QMP socket). Once its lock is stale (no
    // refresh for 20 s), `cache ls` shows it as left by a process that is gone, and the next run removes it.
    type Entry = { kind: string; path: string; detail: string };
    const guestDirs = async () =>
      (JSON.parse((await lab(['cache', 'ls', '--json'])).stdout) as Entry[]).filter((e) => e.kind === 'tmp' && /\/lab-guest-\d+-[0-9a-f]+$/.test(e.path));
    let left: Entry[] = [];
    for (const started = Date.now(); Date.now() - started < 60_000; await new Promise((r) => setTimeout(r, 2000))) {
      left = (await guestDirs()).filter((e) => e.detail.startsWith('left by a lab process that is gone'));
      if (left.length) break;
    }
    expect(left, 'the killed run left no guest folder that cache ls reports').toHaveLength(1);
    expect(existsSync(join(left[0]!.path, 'qmp.sock')) || existsSync(left[0]!.path)).toBe(true);
    const next = await lab(['exec', '--kernel', '6.12', '--', 'true']);
    expect(next.exitCode, next.stderr).toBe(0);
    expect(`${next.stdout}${next.stderr}`).toMatch(/removed 1 leftover\(s\) of lab processes that are gone \(.*\): .*lab-guest-/);
    expect(existsSync(left[0]!.path)).toBe(false);
    expect(await guestDirs()).toEqual([]);
  });
});
