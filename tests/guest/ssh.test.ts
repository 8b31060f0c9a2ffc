import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { splitInBandStatus, withInBandStatus } from '../../lab/guest/ssh.ts';

/** The exit status printed in band, run through a real shell as the guest's would run it. */
const sh = (command: string) => execa('bash', ['-c', withInBandStatus(command)], { reject: false, stripFinalNewline: false });

describe('the in-band exit status', () => {
  it('carries the status of a command that exits, and leaves its stderr as it was', async () => {
    const r = await sh('echo out; echo err >&2; exit 3');
    expect(r.stdout).toBe('out\n');
    expect(r.exitCode).toBe(0);
    expect(splitInBandStatus(String(r.stderr))).toEqual({ stderr: 'err\n', code: 3 });
  });

  it('works for a command ending in a comment, without a newline, and with no stderr', async () => {
    expect(splitInBandStatus(String((await sh('true # done')).stderr))).toEqual({ stderr: '', code: 0 });
    expect(splitInBandStatus(String((await sh('printf x >&2; false')).stderr))).toEqual({ stderr: 'x', code: 1 });
  });

  it('a stderr without the marker is left alone', () => {
    expect(splitInBandStatus('__lab_exit_status=3 in the middle\n')).toEqual({ stderr: '__lab_exit_status=3 in the middle\n' });
  });
});
