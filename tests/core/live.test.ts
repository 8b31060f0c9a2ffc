import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { liveReporter, progressLine, progressReporter, type TermStream } from '../../lab/core/live.ts';
import { tempDir } from '../helpers/temp.ts';

/** A terminal that records what was written, and the screen once the cursor moves are applied. */
class FakeTerm implements TermStream {
  isTTY = true;
  columns = 100;
  written = '';
  write(chunk: string) {
    this.written += chunk;
    return true;
  }
  /** The visible lines: "ESC[nA CR ESC[J" erases the last n lines, colours and cursor hiding stripped. */
  screen(): string[] {
    const lines: string[] = [];
    const parts = this.written.replace(/\x1b\[\?25[lh]/g, '').split(/(\x1b\[\d+A\r\x1b\[J)/);
    for (const part of parts) {
      const up = /^\x1b\[(\d+)A/.exec(part);
      if (up) lines.splice(lines.length - Number(up[1]));
      else lines.push(...part.replace(/\x1b\[[0-9;]*m/g, '').split('\n').slice(0, -1));
    }
    return lines;
  }
}

describe('renderer selection', () => {
  const tty = () => new FakeTerm();
  const pipe = () => Object.assign(new FakeTerm(), { isTTY: false });

  it('live on a terminal, plain timestamped lines when stdout or stderr is not one, or TERM=dumb, or --quiet', () => {
    const cases: [TermStream, TermStream, NodeJS.ProcessEnv, boolean, boolean][] = [
      [tty(), tty(), { TERM: 'xterm' }, false, true],
      [pipe(), tty(), { TERM: 'xterm' }, false, false],
      [tty(), pipe(), { TERM: 'xterm' }, false, false],
      [tty(), tty(), { TERM: 'dumb' }, false, false],
      [tty(), tty(), { TERM: 'xterm' }, true, false],
    ];
    for (const [stdout, stderr, env, quiet, live] of cases) {
      const r = progressReporter({ quiet }, { stdout, stderr }, env);
      r.stage('kernel', 'building 6.12.117');
      r.close();
      const out = (stderr as FakeTerm).written;
      if (live) expect(out).toContain('\x1b[?25l');
      else if (quiet) expect(out).toBe('');
      else expect(out).toMatch(/^ +\d+\.\ds \[kernel\] building 6\.12\.117\n$/);
    }
  });

  it('plain lines: --verbose adds the stage output, the log file gets the same lines', () => {
    const stderr = Object.assign(new FakeTerm(), { isTTY: false });
    const r = progressReporter({ verbose: true }, { stdout: stderr, stderr }, {});
    r.stage('kernel', 'building');
    r.progress('kernel', { done: 3, total: 10, unit: 'files' });
    r.detail('kernel', '  CC      mm/page_owner.o');
    const dir = tempDir('lab-live-');
    r.attachLog(join(dir, 'lab.log'));
    expect(stderr.written.split('\n').slice(1)).toEqual(['kernel|   CC      mm/page_owner.o', '']);
    expect(readFileSync(join(dir, 'lab.log'), 'utf8')).toMatch(/^ +\d+\.\ds \[kernel\] building\n$/);
  });
});

describe('live view', () => {
  it('one line per running stage, finished stages printed once above, a bar with estimate and ETA', () => {
    let t = 0;
    const term = new FakeTerm();
    const r = liveReporter({}, term, () => t);
    r.stage('source', 'extracting linux-6.12.117.tar.xz');
    t = 20_000;
    r.stage('kernel', 'building 6.12.117 with make -j2');
    r.progress('kernel', { done: 100, total: 1447, unit: 'files', basis: 'from the previous build of 6.12.117-lab' });
    t = 120_000;
    r.progress('kernel', { done: 300, total: 1447, unit: 'files', basis: 'from the previous build of 6.12.117-lab' });
    r.stage('kernel', 'still building: 300 files compiled, 1m40s');
    const screen = term.screen();
    expect(screen[0]).toMatch(/^✔ source {2}extracting linux-6\.12\.117\.tar\.xz \(20\.0s\)$/);
    expect(screen[1]).toMatch(/^\S kernel {2}still building: 300 files compiled, 1m40s \(1m40s\)$/);
    // 200 files in 100 s: 2 files/s, 1147 left
    // cut to the terminal's width, the estimate's basis last
    expect(screen[2]).toBe('    █████░░░░░░░░░░░░░░░░░░░  300/1447 files  20%  2.0 files/s  ETA 9m34s  (total from the previou…');
    expect(screen).toHaveLength(3);
  });

  it("a scenario's steps under it, its verdict ends it; warnings and --verbose lines stay above", () => {
    let t = 0;
    const term = new FakeTerm();
    const r = liveReporter({ verbose: true }, term, () => t);
    r.stage('hugetlb', 'Grow the hugetlb pool');
    r.event('hugetlb', { kind: 'step', step: 'grow the pool by 32 pages' });
    r.detail('console', '[    1.0] page_owner is enabled');
    r.event('hugetlb', { kind: 'step', step: 'shrink it' });
    r.stage('hugetlb', 'reading /sys/kernel/debug/page_owner');
    let screen = term.screen();
    expect(screen[0]).toBe('console| [    1.0] page_owner is enabled');
    expect(screen.slice(1).map((l) => l.slice(2))).toEqual([
      'hugetlb  Grow the hugetlb pool (0.0s)',
      '  ✔ grow the pool by 32 pages',
      '  ✔ shrink it',
      `  ${screen[4]!.slice(4)}`,
    ]);
    expect(screen[4]).toMatch(/^ {4}\S reading \/sys\/kernel\/debug\/page_owner$/);
    r.warn('module', '1 compiler warning(s)');
    t = 31_000;
    r.event('hugetlb', { kind: 'outcome', status: 'FAIL', durationMs: 31_000 });
    r.stage('idle-baseline', 'No dump hits');
    screen = term.screen();
    expect(screen).toEqual([
      'console| [    1.0] page_owner is enabled',
      '⚠ module  1 compiler warning(s)',
      '✖ hugetlb  FAIL in 31.0s (31.0s)',
      expect.stringMatching(/^\S idle-baseline {2}No dump hits \(0\.0s\)$/),
    ]);
    r.close();
    expect(term.screen().at(-1)).toBe('✔ idle-baseline  No dump hits (0.0s)');
    // after close, the terminal belongs to someone else: plain lines
    r.stage('exec', 'done');
    expect(term.written).toMatch(/\[exec\] done\n$/);
  });

  it('a message is text: one that starts like a verdict neither ends its stage nor marks it, only a typed outcome or error does', () => {
    let t = 0;
    const term = new FakeTerm();
    const r = liveReporter({}, term, () => t);
    r.stage('failover', 'FAIL-safe mode: the second disk');
    r.stage('failover', 'error budget: 3 retries');
    r.event('failover', { kind: 'step', step: 'pull the first disk' });
    r.stage('failover', 'FAILOVER to the second disk');
    r.stage('failover', 'PASS 1 of 2: the dump still reads');
    r.stage('failover', 'step: not a step, a message');
    expect(term.screen().map((l) => l.slice(2))).toEqual([
      'failover  error budget: 3 retries (0.0s)',
      '  ✔ pull the first disk',
      '  ✔ FAILOVER to the second disk',
      '  ✔ PASS 1 of 2: the dump still reads',
      `  ${term.screen()[4]!.slice(4)}`,
    ]);
    expect(term.screen()[4]).toMatch(/^ {4}\S step: not a step, a message$/);
    r.stage('skipped', 'SKIP list: none');
    r.stage('erred', 'ERROR counters read');
    // none of them ended by its text: each ended by the next stage, with a tick
    expect(term.screen().slice(0, 2)).toEqual(['✔ failover  error budget: 3 retries (0.0s)', '✔ skipped  SKIP list: none (0.0s)']);
    t = 2000;
    r.event('erred', { kind: 'outcome', status: 'SKIP', message: 'needs 2 GiB' });
    r.event('timed', { kind: 'outcome', status: 'ERROR', durationMs: 1500, message: 'guest gone' });
    r.event('boot', { kind: 'error', code: 'BOOT_TIMEOUT', message: 'no login prompt' });
    expect(term.screen().slice(2)).toEqual([
      '↓ erred  SKIP: needs 2 GiB (2.0s)',
      '✖ timed  ERROR in 1.5s: guest gone (0.0s)',
      '✖ boot  error BOOT_TIMEOUT: no login prompt (0.0s)',
    ]);
    r.close();
  });

  it('an event is logged as the plain line it always was', () => {
    const stderr = Object.assign(new FakeTerm(), { isTTY: false });
    const r = progressReporter({}, { stdout: stderr, stderr }, {});
    r.event('hugetlb', { kind: 'step', step: 'grow the pool' });
    r.event('hugetlb', { kind: 'outcome', status: 'FAIL', durationMs: 31_000, message: 'nr_hugepages is 0' });
    r.event('idle', { kind: 'outcome', status: 'SKIP', message: 'needs CONFIG_HUGETLBFS' });
    r.event('idle', { kind: 'outcome', status: 'PASS', durationMs: 75_000 });
    r.scope('6.1').event('boot', { kind: 'error', code: 'BOOT_TIMEOUT', message: 'no login prompt' });
    expect(stderr.written.split('\n').map((l) => l.replace(/^ +\d+\.\ds /, ''))).toEqual([
      '[hugetlb] step: grow the pool',
      '[hugetlb] FAIL in 31.0s: nr_hugepages is 0',
      '[idle] SKIP: needs CONFIG_HUGETLBFS',
      '[idle] PASS in 1m15s',
      '[6.1: boot] error BOOT_TIMEOUT: no login prompt',
      '',
    ]);
  });

  it('pipelines at once (lab run --jobs): lines carry the kernel, a stage ends only its own pipeline\'s', () => {
    let t = 0;
    const term = new FakeTerm();
    const r = liveReporter({}, term, () => t);
    const a = r.scope('6.1');
    const b = r.scope('6.12');
    a.stage('boot', 'under TCG');
    b.stage('kernel', 'cache hit');
    t = 5000;
    b.stage('boot', 'under TCG');
    a.stage('hugetlb', 'Grow the hugetlb pool');
    expect(term.screen()).toEqual([
      '✔ 6.12: kernel  cache hit (5.0s)',
      '✔ 6.1: boot  under TCG (5.0s)',
      expect.stringMatching(/^\S 6\.12: boot {2}under TCG \(0\.0s\)$/),
      expect.stringMatching(/^\S 6\.1: hugetlb {2}Grow the hugetlb pool \(0\.0s\)$/),
    ]);
  });

  it('plain lines of a scope: labelled on screen and in the run\'s log, plain in its own lab.log', () => {
    const stderr = Object.assign(new FakeTerm(), { isTTY: false });
    const r = progressReporter({}, { stdout: stderr, stderr }, {});
    const dir = tempDir('lab-scope-');
    r.attachLog(join(dir, 'run.log'));
    const a = r.scope('6.1');
    a.attachLog(join(dir, 'lab.log'));
    a.stage('boot', 'guest ready');
    expect(stderr.written).toMatch(/^ +\d+\.\ds \[6\.1: boot\] guest ready\n$/);
    expect(readFileSync(join(dir, 'run.log'), 'utf8')).toMatch(/^ +\d+\.\ds \[6\.1: boot\] guest ready\n$/);
    expect(readFileSync(join(dir, 'lab.log'), 'utf8')).toMatch(/^ +\d+\.\ds \[boot\] guest ready\n$/);
  });

  it('downloads in MiB with rate and ETA; without a total, the amount and rate', () => {
    const p = { unit: 'bytes' as const, firstAt: 0, firstDone: 0 };
    expect(progressLine({ ...p, done: 50 * 2 ** 20, total: 150 * 2 ** 20 }, 10_000)).toBe('████████░░░░░░░░░░░░░░░░  50.0/150.0 MiB  33%  5.0 MiB/s  ETA 20.0s');
    expect(progressLine({ ...p, done: 50 * 2 ** 20 }, 10_000)).toBe('50.0 MiB, 5.0 MiB/s');
  });
});
