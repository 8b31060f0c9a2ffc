import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { consoleReporter } from '../../lab/core/reporter.ts';
import { testRequirements } from '../../lab/host/requirements.ts';
import { ensureHost } from '../../lab/host/setup.ts';
import { qemuLeft } from '../helpers/qemu.ts';
import { tempDir } from '../helpers/temp.ts';

/** `lab shell` on a real terminal: tmux runs it detached, the test types and reads the screen. */
const session = `lab-shell-${process.pid}`;
const tmux = (...args: string[]) => execa('tmux', args);
const screen = async () => (await tmux('capture-pane', '-p', '-J', '-t', session)).stdout;

async function waitFor(pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await screen();
    if (pattern.test(text)) return text;
    await sleep(500);
  }
  throw new Error(`no ${pattern} on the screen within ${timeoutMs / 1000} s:\n${text}`);
}

/** Start the lab in tmux; the pane stays after it exits, showing its status. */
async function startLab(args: string, resultsDir: string) {
  await tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '50', `cd ${repoRoot} && LAB_RESULTS_DIR=${resultsDir} npm run lab -- ${args}; echo "LAB-EXIT=$?"; sleep 600`);
}

async function type(line: string) {
  await tmux('send-keys', '-t', session, '-l', line);
  await tmux('send-keys', '-t', session, 'Enter');
}
const prompt = /root@lab:~# $/m;

describe('lab shell', () => {
  beforeAll(() => ensureHost(consoleReporter({ quiet: true }), { requirements: testRequirements }));
  afterEach(() => tmux('kill-session', '-t', session).catch(() => undefined));

  it('a shell on a real terminal: commands, window size, Ctrl-C to the guest, exit tears the guest down', async () => {
    const results = tempDir('lab-shell-');
    await startLab('shell --kernel 6.12', results);
    // on a terminal, progress is the live view: finished stages with a tick and their time
    expect(await waitFor(prompt, 300_000)).toMatch(/^✔ boot {2}guest (?:ready|restored) in [\d.]+s, ssh in [\d.]+s: uname -r = 6\.12\.\d+ \([\d.]+s\)$/m);
    await type('cat /proc/version');
    expect(await waitFor(/Linux version 6\.12\.\d+ \(lab@page-owner-lab\)/, 30_000)).toMatch(prompt);
    await type('stty size');
    await waitFor(/^50 120$/m, 30_000);
    await tmux('resize-window', '-t', session, '-x', '100', '-y', '30');
    await type('clear; stty size');
    await waitFor(/^30 100$/m, 30_000);
    // Ctrl-C reaches the guest's sleep, not the lab
    await type('sleep 100');
    await sleep(1000);
    await tmux('send-keys', '-t', session, 'C-c');
    await type('echo "after Ctrl-C: $?"');
    await waitFor(/^after Ctrl-C: 130$/m, 30_000);
    await type('exit');
    const end = await waitFor(/LAB-EXIT=\d+/, 60_000);
    expect(end).toMatch(/LAB-EXIT=0/);
    const [run] = readdirSync(results);
    const dir = join(results, run!);
    expect(readFileSync(join(dir, 'console.log'), 'utf8')).toMatch(/LAB-READY token=/);
    expect(readFileSync(join(dir, 'session.log'), 'utf8')).toMatch(/cat \/proc\/version[\s\S]*Linux version 6\.12/);
    const record = JSON.parse(readFileSync(join(dir, 'shell.json'), 'utf8'));
    expect(record).toMatchObject({ exitCode: 0, observers: false, release: expect.stringMatching(/^6\.12\./) });
    // the guest is gone: no QEMU of this boot
    expect(await qemuLeft(record.qemu)).toBe(0);
  });

  it('--observers: module and probes loaded, the probe map printed, their counts kept', async () => {
    const results = tempDir('lab-shell-');
    await startLab('shell --kernel 6.12 --observers', results);
    const first = await waitFor(prompt, 400_000);
    expect(first).toMatch(/probe map \(bpf\/hooks\.yaml on 6\.12\.\d+\):\n\s+set\s+probed\s+__set_page_owner/);
    await type('cat /proc/page_order');
    expect(await waitFor(/^nmissed \d+$/m, 30_000)).toMatch(/^order participation seen recorded\n0 100 [1-9]\d* /m);
    await type('exit');
    expect(await waitFor(/LAB-EXIT=\d+/, 120_000)).toMatch(/LAB-EXIT=0/);
    const [run] = readdirSync(results);
    const dir = join(results, run!);
    for (const f of ['console.log', 'session.log', 'probes.bt', 'page_order.txt']) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(readFileSync(join(dir, 'bpftrace.txt'), 'utf8')).toMatch(/^@set\[0\]: [1-9]/m);
  });
});
