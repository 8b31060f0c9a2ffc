import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lab } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';

/** Bad input fails fast through the real CLI, with exit code 2 and a one-line reason. */
describe('lab CLI on bad input', () => {
  it('--kernel banana', async () => {
    const r = await lab(['--kernel', 'banana']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toBe(
      'lab: --kernel "banana": not a kernel version; accepted: a series like 6.12, an exact release like 6.6.58, lts (6.1, 6.6, 6.12) or newest',
    );
    expect(readdirSync(r.resultsDir)).toEqual([]);
  });

  it('--kernel 9.99 says what was tried and what is available offline, in seconds; a mirror that does not answer is exit 3', async () => {
    // a mirror on a closed local port: the test sends nothing off this machine
    const started = Date.now();
    const r = await lab(['--kernel', '9.99'], { LAB_KERNEL_MIRROR: 'http://127.0.0.1:2' });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(
      /--kernel 9\.99: no source found \(tried: cache: no extracted 9\.99; Debian package linux-source-9\.99: Debian ships no such package; \/usr\/src\/linux-source-9\.99\.tar\.xz: missing; Debian's archive: no linux-source-9\.99 of 9\.99 in [^;]+; mirror: http:\/\/127\.0\.0\.1:2\/v9\.x\/: fetch failed \(ECONNREFUSED\)\); available offline: 6\.1, (.*, )?6\.12/,
    );
  });

  it('a missing --kernel-tarball or --config-fragment, a bad --kconfig', async () => {
    expect((await lab(['--kernel-tarball', '/nonexistent/linux.tar.xz'])).stderr).toMatch(/--kernel-tarball \/nonexistent\/linux\.tar\.xz: no such file/);
    const frag = await lab(['--config-fragment', '/nonexistent.config']);
    expect(frag.exitCode).toBe(2);
    expect(frag.stderr).toMatch(/--config-fragment \/nonexistent\.config: cannot read file/);
    const kc = await lab(['--kconfig', 'KASAN=y']);
    expect(kc.exitCode).toBe(2);
    expect(kc.stderr).toMatch(/--kconfig "KASAN=y": expected CONFIG_NAME=value/);
  });

  it('a missing scenario lists the available ones', async () => {
    const r = await lab(['--scenario', 'hugetbl']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--scenario "hugetbl": no such scenario; did you mean "hugetlb"\?/);
  });

  it('a scenario file with a typo names file, line and key', async () => {
    const dir = tempDir('lab-scenario-');
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, 'description: x\nstep:\n  - name: a\n    run: "true"\nexpect:\n  - bpf.set[9] >= 1\n');
    const r = await lab(['--scenario', file]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${file}:2: step: unknown key "step"; did you mean "steps"?`);
  });

  it('an expression nested 3000 deep, one of 30,000 terms, a YAML alias bomb: exit 2 naming file and key, at once', async () => {
    // before: exit 3 with a stack (call stack exceeded in the parser, the evaluator; the yaml library's alias count)
    const dir = tempDir('lab-scenario-');
    try {
      const scenario = (expectation: string) => `description: x\nsteps:\n  - name: a\n    run: "true"\nexpect:\n  - ${expectation}\n`;
      writeFileSync(join(dir, 'deep.yaml'), scenario(`${'('.repeat(3000)}1${')'.repeat(3000)} == 1`));
      writeFileSync(join(dir, 'long.yaml'), scenario(`${Array(30000).fill('1').join('+')} == 30000`));
      const bomb = ['description: x', 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
      for (let i = 1; i < 9; i++) bomb.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
      writeFileSync(join(dir, 'bomb.yaml'), `${bomb.join('\n')}\nsteps:\n  - name: a\n    run: "true"\n`);
      for (const [name, message] of [
        ['deep', /deep\.yaml:6: expect\[0\]: an expression of 6003 tokens; at most 1000 are accepted at column 1001 of "\(+\.\.\."/],
        ['long', /long\.yaml:6: expect\[0\]: an expression of 60001 tokens; at most 1000 are accepted/],
        ['bomb', /bomb\.yaml: Excessive alias count .* \(aliases that expand to more than 100 times their own size are refused\)/],
      ] as const) {
        const started = Date.now();
        const r = await lab(['--kernel', '6.12', '--scenario', join(dir, `${name}.yaml`)]);
        expect(r.exitCode, `${name}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(/^\s+at /m);
        expect(Date.now() - started).toBeLessThan(30_000);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a bad option value', async () => {
    const r = await lab(['--memory', 'lots']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--memory "lots": expected a positive whole number/);
  });

  it('lab bisect: not a git tree, a revision that does not exist, good and bad swapped (exit 2, naming option and value)', async () => {
    const notGit = tempDir('lab-not-git-');
    const bisect = (tree: string, good: string, bad: string) => lab(['bisect', '--kernel-src', tree, '--good', good, '--bad', bad, '--scenario', 'hugetlb']);
    const r = await bisect(notGit, 'v6.11', 'v6.12');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^lab: --kernel-src ${notGit}: not a git tree`));
    // a git tree of two commits (CI's clone of this repository may be shallow)
    const here = tempDir('lab-git-');
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=lab', '-c', 'user.email=lab@example.invalid', '-C', here, ...args], { stdio: 'pipe' });
    git('init', '-q');
    git('commit', '-q', '--allow-empty', '-m', 'one');
    git('commit', '-q', '--allow-empty', '-m', 'two');
    expect((await bisect(here, 'no-such-rev', 'HEAD')).stderr).toBe(`lab: --good no-such-rev: no such commit in ${here}`);
    const swapped = await bisect(here, 'HEAD', 'HEAD~1');
    expect(swapped.exitCode).toBe(2);
    expect(swapped.stderr).toMatch(/^lab: --good HEAD --bad HEAD~1: good and bad are swapped/);
    expect(readdirSync(r.resultsDir)).toEqual([]);
  });

  it('--help documents the exit codes', async () => {
    const r = await lab(['--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Exit codes: 0 pass, 1 an expectation failed, 2 bad usage or input, 3 infrastructure/);
  });
});
