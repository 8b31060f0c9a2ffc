import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { gzippedWithInBandStatus, inflate, InBandStatus, MAX_COMMAND_BYTES, sourcedCommand, splitInBandStatus, withInBandStatus } from '../../../lab/guest/protocol/status.ts';
import { tempDir } from '../../helpers/temp.ts';

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

  it('a command too long for one exec request runs from a file the same way, and the file goes', async () => {
    const dir = tempDir('lab-ssh-');
    const file = join(dir, 'command');
    const command = `x='${'a'.repeat(MAX_COMMAND_BYTES)}'; echo \${#x}; echo err >&2; exit 4`;
    writeFileSync(file, command);
    const r = await sh(sourcedCommand(file));
    expect(r.stdout).toBe(`${MAX_COMMAND_BYTES}\n`);
    expect(splitInBandStatus(String(r.stderr))).toEqual({ stderr: 'err\n', code: 4 });
    expect(existsSync(file)).toBe(false);
  });

  it('a stderr without the marker is left alone', () => {
    expect(splitInBandStatus('__lab_exit_status=3 in the middle\n')).toEqual({ stderr: '__lab_exit_status=3 in the middle\n' });
  });
});

describe('InBandStatus, the reader of a channel\'s stderr', () => {
  /** Feed stderr as a channel would, in chunks of `size` bytes: what was passed on as it came, then what end() gave. */
  const read = (stderr: Buffer, size: number) => {
    const reader = new InBandStatus();
    const passed: Buffer[] = [];
    for (let i = 0; i < stderr.length; i += size) passed.push(reader.push(stderr.subarray(i, i + size)));
    const end = reader.end();
    return { stderr: Buffer.concat(passed).toString() + end.stderr, code: end.code, passedEarly: Buffer.concat(passed).length };
  };

  it('gives back the stderr and the status bash wrote, however the stream is cut', async () => {
    const long = 'e'.repeat(300);
    const r = await sh(`echo ${long} >&2; echo out; exit 7`);
    const stderr = Buffer.from(String(r.stderr));
    for (const size of [1, 2, 7, 39, 40, 41, stderr.length]) expect(read(stderr, size), `chunks of ${size}`).toMatchObject({ stderr: `${long}\n`, code: 7 });
    // only the bytes that could be the status line wait for the end
    expect(read(stderr, 5).passedEarly).toBe(stderr.length - 40);
  });

  it('a command killed before its status (no status line) leaves its stderr whole and no code', () => {
    expect(read(Buffer.from('partial error output, then the channel went\n'), 3)).toMatchObject({ stderr: 'partial error output, then the channel went\n', code: undefined });
  });

  it('the status of a command with no stderr at all', async () => {
    expect(read(Buffer.from(String((await sh('exit 0')).stderr)), 4)).toMatchObject({ stderr: '', code: 0 });
  });
});

describe('gzip\'ed stdout (the page_owner dump)', () => {
  /** Run the wrapped command in a real shell with gzip, as the guest does, and inflate its stdout as the shell's channel would. */
  async function gz(command: string) {
    const r = await execa('bash', ['-c', gzippedWithInBandStatus(command)], { reject: false, encoding: 'buffer', stripFinalNewline: false });
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    const done = inflate(stream, (d) => chunks.push(d));
    stream.end(r.stdout);
    await done;
    return { stdout: Buffer.concat(chunks).toString(), compressed: r.stdout.length, ...splitInBandStatus(Buffer.from(r.stderr).toString()) };
  }

  it('inflates to exactly what the command wrote, and the status and stderr stay in band', async () => {
    const r = await gz("for i in $(seq 2000); do printf 'Page allocated via order 0, mask 0x%x\\n PFN %d\\n\\n' $i $i; done; echo err >&2; exit 5");
    const expected = Array.from({ length: 2000 }, (_, k) => `Page allocated via order 0, mask 0x${(k + 1).toString(16)}\n PFN ${k + 1}\n\n`).join('');
    expect(r.stdout).toBe(expected);
    expect(r.compressed).toBeLessThan(expected.length / 4);
    expect(r).toMatchObject({ stderr: 'err\n', code: 5 });
  });

  it('an empty stdout inflates to nothing', async () => {
    expect(await gz('true')).toMatchObject({ stdout: '', stderr: '', code: 0 });
  });

  it('a stream that is not gzip (no gzip in the guest) rejects instead of passing garbage on', async () => {
    const stream = new PassThrough();
    const done = inflate(stream, () => undefined);
    stream.end('sh: 1: gzip: not found\n');
    await expect(done).rejects.toThrow(/incorrect header/);
  });
});

