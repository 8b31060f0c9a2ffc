import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../../lab/core/paths.ts';
import { ackStatement, attachedStatement, cutWindow, isAttachedLine, markCommand, markProbe, windowLine, type WindowMark } from '../../../lab/guest/protocol/window.ts';
import { parseBpftrace } from '../../../lab/observe/bpftrace.ts';
import { toolUpload } from '../../../lab/prepare/tools.ts';
import { fixture } from '../../helpers/fixtures.ts';
import { tempDir } from '../../helpers/temp.ts';

/** What a bpftrace `printf("FORMAT", arg0);` statement prints for arg0 = n, through the printf(1) of this host (bpftrace's printf takes C formats). */
async function printed(statement: string, n?: number): Promise<string> {
  const m = /^printf\("(.*)"(, arg0)?\);$/.exec(statement);
  if (!m) throw new Error(`not a printf statement: ${statement}`);
  return (await execa('printf', [m[1]!, ...(m[2] ? [String(n)] : [])], { stripFinalNewline: false })).stdout;
}

const kinds: WindowMark[] = ['begin', 'trace', 'end'];

describe('the window marks, written by the guest command, read by the uprobes', () => {
  const source = readFileSync(join(repoRoot, 'bpf', 'marker', 'lab_mark.c'), 'utf8');

  it('the command runs the marker program where the lab uploads it, and each probe names its function there', () => {
    const guestPath = toolUpload({ name: 'lab_mark', path: '' }).guestPath;
    for (const kind of kinds) {
      expect(markCommand(kind, 12)).toBe(`${guestPath} ${kind} 12`);
      expect(markProbe(kind)).toBe(`uprobe:${guestPath}:lab_window_${kind}`);
      // main() calls the function of this kind
      expect(source).toContain(`\tlab_window_${kind}(n);\n`);
    }
  });

  it('the marker program, built as the lab builds it, takes each command and has each probed function as a symbol', async () => {
    const dir = tempDir('lab-mark-');
    const binary = join(dir, 'lab_mark');
    await execa('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', binary, join(repoRoot, 'bpf', 'marker', 'lab_mark.c')]);
    const symbols = (await execa('nm', [binary])).stdout;
    for (const kind of kinds) {
      const fn = markProbe(kind).split(':').at(-1)!;
      expect(symbols).toMatch(new RegExp(`^[0-9a-f]+ T ${fn}$`, 'm'));
      const [, ...args] = markCommand(kind, 3).split(' ');
      expect((await execa(binary, args, { reject: false })).exitCode, markCommand(kind, 3)).toBe(0);
    }
    // what it is not given is refused (a typo in a command would otherwise mark nothing, silently)
    expect((await execa(binary, ['open', '3'], { reject: false })).exitCode).toBe(2);
    expect((await execa(binary, ['begin', '-1'], { reject: false })).exitCode).toBe(2);
  });
});

describe('the acknowledgements, written by the script, read by the host', () => {
  it('each ack statement prints the line the host waits for, for any window number', async () => {
    for (const n of [0, 7, 12345]) {
      expect(await printed(ackStatement('begin'), n)).toBe(`${windowLine('begin', n)}\n`);
      expect(await printed(ackStatement('end'), n)).toBe(`${windowLine('end', n)}\n`);
    }
  });

  it('the attach statement prints a line the host takes for attached, and the parser too', async () => {
    const line = (await printed(attachedStatement)).trimEnd();
    expect(isAttachedLine(line)).toBe(true);
    expect(isAttachedLine('lab: window 1 begin')).toBe(false);
    expect(parseBpftrace(`${line}\n`).attached).toBe(true);
  });

  it('a stream printed by the statements is cut into its windows', async () => {
    const stream = [
      await printed(attachedStatement),
      await printed(ackStatement('begin'), 1),
      '@set[1, 0]: 5\n',
      await printed(ackStatement('end'), 1),
      await printed(ackStatement('begin'), 11),
      '@set[11, 0]: 6\n',
      await printed(ackStatement('end'), 11),
    ].join('');
    const lines = stream.split('\n');
    expect(cutWindow(lines, 1)).toEqual(['@set[1, 0]: 5']);
    expect(cutWindow(lines, 11)).toEqual(['@set[11, 0]: 6']);
  });
});

describe('cutWindow on a recorded 6.12.117 stream', () => {
  const lines = fixture('6.12.117', 'windows', 'bpftrace.txt').split('\n');

  it('takes only a whole window, by its exact number', () => {
    expect(() => cutWindow(lines, 7)).toThrow(/no whole window 7/);
    // window 1's acknowledgements do not stand for window 11's, nor 0's
    expect(() => cutWindow([...lines, 'lab: window 11 begin'], 11)).toThrow(/no whole window 11/);
    expect(() => cutWindow(lines, 0)).toThrow(/no whole window 0/);
    // a stream cut off after a begin has no window
    const truncated = lines.slice(0, lines.indexOf('lab: window 2 end'));
    expect(() => cutWindow(truncated, 2)).toThrow(/no whole window 2/);
  });

  it('the recorded script says what the generated one says', () => {
    const script = fixture('6.12.117', 'windows', 'probes.bt');
    expect(script).toContain(`\t${attachedStatement}\n`);
    for (const kind of kinds) expect(script).toContain(`${markProbe(kind)}\n{`);
    expect(script).toContain(`\t${ackStatement('begin')}\n`);
    expect(script).toContain(`\t${ackStatement('end')}\n`);
  });
});
