import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEPT_STDOUT, type GuestShell } from '../../lab/guest/ssh.ts';
import { standInGuest } from '../helpers/ssh-guest.ts';

/** GuestShell.exec on both transports, against a stand-in guest that runs the commands in bash. */
describe('guest commands: bounded output, logs, timeouts', () => {
  let guest: Awaited<ReturnType<typeof standInGuest>>;
  let shell: GuestShell;
  beforeAll(async () => {
    guest = await standInGuest();
    shell = guest.shell;
  }, 30_000);
  afterAll(() => guest?.close());

  // 40 MB of numbered lines: first "line 1", last "last 40000000"
  const big = "awk 'BEGIN { for (i = 1; i <= 1000000; i++) printf \"line %034d\\n\", i; print \"last 40000000\" }'";
  const bigBytes = 1_000_000 * 40 + 'last 40000000\n'.length;

  it.each([
    ['the shared framed shell', {}],
    ['a channel of its own', { ownChannel: true }],
  ])('%s: a 40 MB output keeps its head and tail in memory, the whole in the log', async (_, how) => {
    const logFile = join(guest.dir, `big-${Object.keys(how).length}.log`);
    const r = await shell.exec(`${big}; echo err-line >&2`, { ...how, logFile, timeoutMs: 60_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stdoutBytes).toBe(bigBytes);
    expect(r.truncated).toBe(true);
    expect(r.stdout.length).toBeLessThan(KEPT_STDOUT.head + KEPT_STDOUT.tail + 500);
    expect(r.stdout.length).toBeGreaterThan(KEPT_STDOUT.head + KEPT_STDOUT.tail - 100);
    expect(r.stdout.startsWith(`line ${'1'.padStart(34, '0')}\n`)).toBe(true);
    expect(/^last (\d+)$/m.exec(r.stdout)?.[1]).toBe('40000000');
    // the note says how much was left out and where the whole is; the lines around it are whole
    const note = /^\[lab: (\d+) bytes of output left out here, of (\d+); the whole output is in (.+)\]$/m.exec(r.stdout);
    expect(note?.slice(2)).toEqual([String(bigBytes), logFile]);
    expect(r.stdout.length - note![0].length - 1 + Number(note![1])).toBe(bigBytes);
    for (const l of r.stdout.split('\n').slice(0, -1)) expect(l).toMatch(/^(line \d{34}|last 40000000|\[lab: .*\])$/);
    // the log: stdout whole, and stderr without any status of the transport's
    expect(statSync(logFile).size).toBe(bigBytes + 'err-line\n'.length);
    expect(r.stderr).toBe('err-line\n');
  }, 120_000);

  it('a log that cannot be written fails the command with RESULTS_WRITE_FAILED, naming the file, instead of an unhandled stream error', async () => {
    const logFile = join(guest.dir, 'no-such-folder', 'step.log');
    const e = await shell.exec('echo hello', { logFile }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'RESULTS_WRITE_FAILED', context: { path: logFile } });
    expect((e as Error).message).toMatch(/could not write the output of "echo hello" to .*no-such-folder\/step\.log: ENOENT/);
    expect((await shell.exec('echo after')).stdout).toBe('after\n');
  });

  it('an output within the bound is kept whole and not marked', async () => {
    const r = await shell.exec('seq 1 100000');
    expect(r.truncated).toBeUndefined();
    expect(r.stdout.split('\n').length).toBe(100001);
    expect(r.stdoutBytes).toBe(r.stdout.length);
  });

  it('a command that names no timeout gets the shell default, and the error says it', async () => {
    const before = shell.commandTimeoutMs;
    shell.commandTimeoutMs = 700;
    try {
      const started = Date.now();
      const e = await shell.exec('echo started; sleep 30').catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'GUEST_COMMAND_TIMEOUT', context: { timeoutMs: 700 } });
      expect((e as Error).message).toBe('guest command timed out after 0.7 s (its timeout): echo started; sleep 30');
      expect((e as { context: { outputTail: string } }).context.outputTail).toContain('started');
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      shell.commandTimeoutMs = before;
    }
    // the shell that timed out is not used again: the next command still runs
    expect((await shell.exec('echo after')).stdout).toBe('after\n');
  }, 20_000);

  it('a timeout on a channel of its own ends the same way', async () => {
    const e = await shell.exec('sleep 30', { ownChannel: true, timeoutMs: 500 }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'GUEST_COMMAND_TIMEOUT', context: { timeoutMs: 500 } });
  }, 20_000);

  it('a line without a newline longer than 1 MiB reaches onLine in pieces instead of growing without end', async () => {
    const sizes: number[] = [];
    await shell.exec("head -c 3000000 /dev/zero | tr '\\0' x", { onLine: (l) => sizes.push(l.length), keepStdout: false });
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(3_000_000);
    expect(Math.max(...sizes)).toBeLessThanOrEqual((1 << 20) + 65536);
  }, 30_000);

  it('the transcript says how much stdout it did not keep', async () => {
    shell.transcript = join(guest.dir, 'transcript.log');
    try {
      await shell.exec('seq 1 200000');
    } finally {
      shell.transcript = undefined;
    }
    expect(readFileSync(join(guest.dir, 'transcript.log'), 'utf8')).toMatch(/^\[\.\.\. \d+ more bytes of stdout not kept here\]$/m);
  });
});
