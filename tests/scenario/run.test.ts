import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { batchFailure, batchScript } from '../../lab/scenario/run.ts';

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
});
