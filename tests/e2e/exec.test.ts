import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { guestCommandLine } from '../../lab/interactive/exec.ts';
import { lab } from '../helpers/cli.ts';

/** One command in a freshly booted 6.12 guest, virtme-ng style: its output, its exit status. */
describe('lab exec', () => {
  it.each([0, 1, 42])('passes stdout and stderr through apart and exits with the command status (%i), reported in band', async (status) => {
    const r = await lab(['exec', '--kernel', '6.12', '-q', '--', `uname -r; grep -o page_owner=on /proc/cmdline; echo to-stderr >&2; exit ${status}`]);
    expect(r.exitCode).toBe(status);
    expect(r.stdout).toMatch(/^6\.12\.\d+\npage_owner=on$/);
    // the in-band status line never reaches the user (execa strips the final newline)
    expect(r.stderr).toBe('to-stderr');
  });

  it('a program and its arguments are quoted for the guest shell', async () => {
    expect(guestCommandLine(['echo', 'a b', "it's"])).toBe(`echo 'a b' 'it'\\''s'`);
    const r = await lab(['exec', '--kernel', '6.12', '-q', '--', 'cat', '/proc/sys/vm/nr_hugepages']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('0');
  });

  it('a command longer than the guest SSH server takes in one request runs whole, with its status', async () => {
    // dropbear closes the channel of an exec request over 9000 bytes: that once read as "the guest died"
    const long = 'b'.repeat(20_000);
    const r = await lab(['exec', '--kernel', '6.12', '-q', '--', `x='${long}'; echo \${#x}; ls /tmp | grep -c lab-command- ; exit 3`]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(3);
    // the length arrived whole; the file it came through is gone once it ran (only its own name was listed)
    expect(r.stdout).toBe('20000\n1');
  });

  it('a guest that panics under the command gives 255 and a console with the panic', async () => {
    const r = await lab(['exec', '--kernel', '6.12', '--', 'echo c > /proc/sysrq-trigger']);
    expect(r.exitCode).toBe(255);
    // the panic's first line on stderr
    expect(r.stderr).toMatch(/lab: the guest died under the command: .*Kernel panic - not syncing: sysrq triggered crash/);
    const dir = /\(console: (\S+)\/console\.log\)/.exec(r.stderr)?.[1];
    expect(dir, r.stderr).toBeDefined();
    expect(readFileSync(join(dir!, 'console.log'), 'utf8')).toMatch(/Kernel panic - not syncing: sysrq triggered crash/);
    expect(JSON.parse(readFileSync(join(dir!, 'exec.json'), 'utf8'))).toMatchObject({ exitCode: 255, command: 'echo c > /proc/sysrq-trigger' });
  });
});
