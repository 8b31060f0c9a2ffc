import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchError, batchFailure, batchScript, execBatch, section, sections } from '../../../lab/guest/protocol/batch.ts';
import { standInGuest } from '../../helpers/ssh-guest.ts';
import { tempDir } from '../../helpers/temp.ts';

/** A batch run by a real shell, as the guest's would run it. */
const sh = (script: string) => execa('bash', ['-c', script], { reject: false });

describe('commands batched into one round trip', () => {
  const commands = ['echo one', 'echo two; exit 3', 'echo three'];

  it('stops at the first command that fails and names it, with its status', async () => {
    const r = await sh(batchScript(commands));
    expect(r.stdout).toBe('one\ntwo');
    expect(r.exitCode).toBe(3);
    expect(batchFailure(commands, String(r.stderr))).toEqual({ command: 'echo two; exit 3', exitCode: 3 });
  });

  it('with failures allowed, runs them all and still says which failed', async () => {
    const r = await sh(batchScript(commands, true));
    expect(r.stdout).toBe('one\ntwo\nthree');
    expect(r.exitCode).toBe(0);
    expect(batchFailure(commands, String(r.stderr))).toEqual({ command: 'echo two; exit 3', exitCode: 3 });
  });

  it('what follows a batch runs only when every command of it succeeded (set-up, then the table)', async () => {
    const ok = await sh(`${batchScript(['true', 'echo set'])}\necho table`);
    expect(ok.stdout).toBe('set\ntable');
    expect(batchFailure(['true', 'echo set'], String(ok.stderr))).toBeUndefined();
    const failed = await sh(`${batchScript(['false', 'echo set'])}\necho table`);
    expect(failed.stdout).toBe('');
    expect(batchFailure(['false', 'echo set'], String(failed.stderr))).toEqual({ command: 'false', exitCode: 1 });
  });

  it('an empty batch does nothing', async () => {
    const r = await sh(`${batchScript([])}\necho after`);
    expect(r.stdout).toBe('after');
  });

  it('finds the failure of a command whose stderr does not end in a newline, and the first of several', async () => {
    const r = await sh(batchScript(['printf warning >&2; exit 4', 'exit 5'], true));
    expect(String(r.stderr)).toMatch(/^warning__lab_command_failed 0 4$/m);
    expect(batchFailure(['printf warning >&2; exit 4', 'exit 5'], String(r.stderr))).toEqual({ command: 'printf warning >&2; exit 4', exitCode: 4 });
  });

  it('a failed command is a GUEST_COMMAND_FAILED naming it, with the output tail', () => {
    const e = batchError({ stdout: 'out', stderr: 'err' }, { command: 'false', exitCode: 1 });
    expect(e).toMatchObject({ code: 'GUEST_COMMAND_FAILED', message: 'guest command exited with 1: false', context: { command: 'false', exitCode: 1, outputTail: 'out\nerr' } });
  });
});

describe('sections of a batch\'s stdout', () => {
  it('reads back what section() starts, in a real shell, with what came before under ""', async () => {
    const r = await execa('bash', ['-c', ['echo head', section('knobs'), 'echo a; echo b', section('empty'), section('dmesg'), 'printf "last"'].join('; ')], { stripFinalNewline: false });
    expect(sections(r.stdout)).toEqual({ '': 'head\n', knobs: 'a\nb\n', dmesg: 'last\n' });
    // every line is given back with a newline: output that ends in one ends its last section with an empty line
    expect(sections('--- lab: a\nx\n')).toEqual({ a: 'x\n\n' });
  });

  it('a line that only looks like a section start is output', () => {
    expect(sections('--- lab: two words\n x--- lab: y\n')).toEqual({ '': '--- lab: two words\n x--- lab: y\n\n' });
  });
});

describe('execBatch on a stand-in guest', () => {
  let guest: Awaited<ReturnType<typeof standInGuest>>;
  beforeAll(async () => {
    guest = await standInGuest();
  });
  afterAll(() => guest?.close());

  it('runs the commands, then `then`, in one round trip: every status 0 and stdout by section', async () => {
    const dir = tempDir('lab-batch-');
    guest.shell.transcript = join(dir, 'transcript.log');
    try {
      const r = await execBatch(guest.shell, ['echo one', 'echo two'], { timeoutMs: 10_000, then: `${section('table')}; echo row` });
      expect(r).toMatchObject({ statuses: [0, 0], sections: { '': 'one\ntwo\n', table: 'row\n\n' }, exitCode: 0 });
      expect(r.failed).toBeUndefined();
      expect(readFileSync(guest.shell.transcript, 'utf8').match(/^\$ /gm)).toHaveLength(1);
    } finally {
      guest.shell.transcript = undefined;
    }
  });

  it('stops at a failed command and throws naming it; what follows does not run', async () => {
    const dir = tempDir('lab-batch-');
    const err = await execBatch(guest.shell, ['true', 'echo bad >&2; exit 3', `touch ${dir}/after`], { timeoutMs: 10_000, then: `touch ${dir}/then` }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'GUEST_COMMAND_FAILED', context: { command: 'echo bad >&2; exit 3', exitCode: 3 } });
    expect((err as { context: { outputTail: string } }).context.outputTail).toContain('bad');
    expect(existsSync(join(dir, 'after'))).toBe(false);
    expect(existsSync(join(dir, 'then'))).toBe(false);
  });

  it('with failures allowed, runs everything and gives each command its status', async () => {
    const r = await execBatch(guest.shell, ['exit 2', 'echo two', 'exit 7'], { timeoutMs: 10_000, allowFailure: true, then: `${section('after')}; echo ran` });
    expect(r).toMatchObject({ statuses: [2, 0, 7], failed: { command: 'exit 2', exitCode: 2 }, sections: { '': 'two\n', after: 'ran\n\n' }, exitCode: 0 });
  });

  it('a failure of `then` itself throws naming it, unless failures are allowed', async () => {
    await expect(execBatch(guest.shell, ['true'], { timeoutMs: 10_000, then: 'exit 6' })).rejects.toMatchObject({ context: { command: 'exit 6', exitCode: 6 } });
    expect(await execBatch(guest.shell, ['true'], { timeoutMs: 10_000, then: 'exit 6', allowFailure: true })).toMatchObject({ statuses: [0], exitCode: 6 });
  });

  it('no commands and nothing after them: no round trip', async () => {
    const dir = tempDir('lab-batch-');
    guest.shell.transcript = join(dir, 'transcript.log');
    try {
      expect(await execBatch(guest.shell, [], { timeoutMs: 10_000 })).toEqual({ statuses: [], sections: {}, stdout: '', stderr: '', exitCode: 0 });
      expect(existsSync(guest.shell.transcript)).toBe(false);
      // `then` alone runs
      expect((await execBatch(guest.shell, [], { timeoutMs: 10_000, then: 'echo only' })).sections).toEqual({ '': 'only\n\n' });
    } finally {
      guest.shell.transcript = undefined;
    }
  });

  it('gives the batch each command\'s timeout once per command', async () => {
    const started = Date.now();
    // 1.2 s in all: more than one command's timeout, within two
    const r = await execBatch(guest.shell, ['sleep 0.6', 'sleep 0.6'], { timeoutMs: 1000 });
    expect(r.statuses).toEqual([0, 0]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1200);
    await expect(execBatch(guest.shell, ['sleep 2'], { timeoutMs: 300 })).rejects.toMatchObject({ code: 'GUEST_COMMAND_TIMEOUT' });
  });
});
