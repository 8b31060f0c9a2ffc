import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { EndMarker, framedCommand, shQuote } from '../../../lab/guest/protocol/framing.ts';

/** A long-lived shell reading framed commands on stdin, as the guest's runs on its SSH channel. */
function longLivedShell(shell: string) {
  const p: ChildProcessWithoutNullStreams = spawn(shell, [], { stdio: 'pipe' });
  let n = 0;
  let current: { out: EndMarker; err: EndMarker; stdout: Buffer[]; stderr: Buffer[]; resolve: () => void } | undefined;
  const take = (d: Buffer, which: 'out' | 'err') => {
    const c = current;
    if (!c) return;
    const data = (which === 'out' ? c.out : c.err).push(d);
    (which === 'out' ? c.stdout : c.stderr).push(data);
    if (c.out.status !== undefined && c.err.status !== undefined) c.resolve();
  };
  p.stdout.on('data', (d: Buffer) => take(d, 'out'));
  p.stderr.on('data', (d: Buffer) => take(d, 'err'));
  return {
    process: p,
    run(command: string) {
      const nonce = `n${n++}x`;
      const c = { out: new EndMarker(nonce, true), err: new EndMarker(nonce, false), stdout: [] as Buffer[], stderr: [] as Buffer[], resolve: () => {} };
      const done = new Promise<void>((r) => (c.resolve = r));
      current = c;
      p.stdin.write(framedCommand(command, nonce));
      return done.then(() => ({ stdout: Buffer.concat(c.stdout).toString(), stderr: Buffer.concat(c.stderr).toString(), code: c.out.status }));
    },
  };
}

describe.each(['bash', 'dash'])('commands framed on one long-lived %s', (shell) => {
  const sh = longLivedShell(shell);
  afterAll(() => void sh.process.kill());

  it('gives each command its own stdout, stderr and status', async () => {
    expect(await sh.run('echo out; echo err >&2; exit 3')).toEqual({ stdout: 'out\n', stderr: 'err\n', code: 3 });
    expect(await sh.run('printf x')).toEqual({ stdout: 'x', stderr: '', code: 0 });
    expect(await sh.run('printf "a\\n\\n"')).toEqual({ stdout: 'a\n\n', stderr: '', code: 0 });
  });

  it('an exit, a cd or a variable does not reach the next command; the shell goes on', async () => {
    await sh.run('cd /; X=1; exit 0');
    expect(await sh.run('pwd; echo "${X:-unset}"')).toMatchObject({ stdout: `${process.cwd()}\nunset\n`, code: 0 });
  });

  it('a command that does not parse fails alone (status 2) and the next one runs', async () => {
    const r = await sh.run("echo 'unclosed");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unterminated|unexpected|matching/i);
    expect(await sh.run('echo next')).toEqual({ stdout: 'next\n', stderr: '', code: 0 });
  });

  it('a command reading stdin reads nothing (not the commands after it)', async () => {
    expect(await sh.run('cat; echo "read $?"')).toEqual({ stdout: 'read 0\n', stderr: '', code: 0 });
    expect(await sh.run("printf '%s\\n' \"it's\" 'a \"quoted\" $HOME'")).toMatchObject({ stdout: `it's\na "quoted" $HOME\n`, code: 0 });
  });

  it('a megabyte of output in many chunks arrives whole, and a marker of another command is just text', async () => {
    const r = await sh.run('head -c 1048576 /dev/zero | tr "\\0" "a"; echo; printf "\\n__lab_end_other 0\\n"');
    expect(r.stdout).toBe(`${'a'.repeat(1048576)}\n\n__lab_end_other 0\n`);
    expect(r.code).toBe(0);
  });

  it('statuses up to 255, and of a command killed by a signal', async () => {
    expect((await sh.run('exit 255')).code).toBe(255);
    // ($$ in the subshell is the long-lived shell's pid, as in any subshell: a command of its own here)
    expect((await sh.run("sh -c 'kill -9 $$'")).code).toBe(137);
  });
});

describe('EndMarker', () => {
  const stream = (nonce: string, body: string, code: number) => Buffer.from(`${body}\n__lab_end_${nonce} ${code}\n`);

  it('finds the marker however the stream is cut, and passes the rest on unchanged', () => {
    const whole = stream('abc', 'line 1\nline 2 __lab_end_ab\n', 42);
    for (let cut = 1; cut < whole.length; cut++) {
      for (const size of [1, 3, cut]) {
        const m = new EndMarker('abc', true);
        const got: Buffer[] = [];
        for (let i = 0; i < whole.length; i += size) got.push(m.push(whole.subarray(i, i + size)));
        expect(Buffer.concat(got).toString()).toBe('line 1\nline 2 __lab_end_ab\n');
        expect(m.status).toBe(42);
      }
    }
  });

  it('holds back only what could be the marker', () => {
    const m = new EndMarker('abc', true);
    const first = m.push(Buffer.from('x'.repeat(100)));
    expect(first.length).toBe(100 - '\n__lab_end_abc '.length - 4);
    expect(m.status).toBeUndefined();
    expect(m.rest().toString()).toBe('x'.repeat('\n__lab_end_abc '.length + 4));
  });

  it('the stderr marker carries no status', () => {
    const m = new EndMarker('n1', false);
    expect(m.push(Buffer.from('warning\n\n__lab_end_n1\n')).toString()).toBe('warning\n');
    expect(m.status).toBe(0);
  });
});

describe('shQuote', () => {
  it('quotes single quotes', () => expect(shQuote("it's")).toBe(`'it'\\''s'`));
});
