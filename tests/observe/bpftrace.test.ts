import { describe, expect, it } from 'vitest';
import { cutWindow } from '../../lab/guest/protocol/window.ts';
import { forComm, forWindow, parseBpftrace } from '../../lab/observe/bpftrace.ts';
import { fixture } from '../helpers/fixtures.ts';

/**
 * One bpftrace on a 6.12.117 guest (a thread per vCPU) serving six windows,
 * the shared script of tests/fixtures/6.12.117/windows/probes.bt, every count
 * keyed by its window (recorded 2026-11-27 by the lab's own attachBpftrace
 * and markers): 1: 8 hugetlb pages grown and freed; between 1 and 2, 4 more
 * pages grown and freed outside any window; 2: stress-ng for 1 s and 2 MB of
 * the page_owner dump read; 3: nothing; 4: fragment 16 MiB for 1 s; 5: trace
 * mode (lab_mark trace 5 once "begin" was seen), 1 s of sleep; 6: 1 s of
 * sleep, summary again. Then SIGINT: bpftrace's exit prints its maps again.
 */
describe('windows cut out of one bpftrace stream (6.12.117)', () => {
  const lines = fixture('6.12.117', 'windows', 'bpftrace.txt').split('\n');
  const window = (n: number, comm?: string) => forComm(forWindow(parseBpftrace(cutWindow(lines, n).join('\n')), n), comm);

  it('counts what happened inside a window, not before or after it', () => {
    const w1 = window(1);
    expect(w1.maps.set?.['9']).toBe(8);
    // the 4 pages grown and freed between the windows counted under window 1's keys after its end:
    // printed with window 2's maps, and not window 2's
    expect(cutWindow(lines, 2)).toContain('@set[1, 9]: 4');
    expect(window(2).maps.set?.['9']).toBeUndefined();
    expect(window(2).maps.reset?.['9']).toBeUndefined();
    expect(window(2).maps.read).toEqual({ '': 4128 });
    expect(window(1).maps.read).toBeUndefined();
  });

  it("keeps only the window's own keys, with the window's number taken off", () => {
    const raw = parseBpftrace(cutWindow(lines, 3).join('\n'));
    // the window before's keys, brought back after its end, are in the printed maps ...
    expect(raw.maps.set?.['2, 0']).toBe(101);
    // ... and not in window 3's view, which an idle window leaves to the lab's own work
    expect(window(3).maps.set).toEqual({ '0': 121, '1': 11, '2': 2 });
    expect(window(3).maps.split).toBeUndefined();
    expect(window(3).maps.copy).toBeUndefined();
    expect(window(3).lostEvents).toBe(0);
    // a scalar map keyed by the window alone
    expect(forWindow({ ...raw, maps: { split: { '3': 5, '2': 9 } } }, 3).maps.split).toEqual({ '': 5 });
  });

  it("agrees with itself: each window's per-order counts add up to its per-CPU counts of the same events", () => {
    for (let n = 1; n <= 6; n++) {
      const w = window(n);
      const total = (m: string) => Object.values(w.maps[m] ?? {}).reduce((a, b) => a + b, 0);
      // read one map after the other while the guest runs: a few apart, never a window's worth
      expect(Math.abs(total('set') - total('set_cpu')), `window ${n}`).toBeLessThanOrEqual(10);
      expect(Math.abs(total('reset') - total('reset_cpu')), `window ${n}`).toBeLessThanOrEqual(10);
    }
  });

  it('gives each workload its own prefix of the _comm maps, keyed by order as the metrics read them', () => {
    expect(window(2, 'stress-ng').maps.set_comm).toEqual({ '0': 10992, '1': 245, '2': 2 });
    expect(window(2, 'fragment').maps.set_comm).toEqual({});
    expect(window(4, 'fragment').maps.set_comm).toEqual({ '0': 4129, '1': 2 });
    expect(window(4, 'fragment').maps.reset_comm).toEqual({ '0': 4133, '1': 3 });
    // a scenario without a workload name sees no _comm map at all
    expect(window(2).maps.set_comm).toBeUndefined();
    expect(window(2).maps.set_lab).toEqual({ '1': 15 });
  });

  it('prints trace lines only in a window that turned them on, each for an event its maps counted', () => {
    const w5 = window(5);
    const sets = Object.values(w5.maps.set ?? {}).reduce((a, b) => a + b, 0);
    const resets = Object.values(w5.maps.reset ?? {}).reduce((a, b) => a + b, 0);
    expect(w5.traced.set).toBe(1052);
    expect(w5.traced.reset).toBe(1047);
    // counted but not printed: the events before the command that turned the lines on
    expect(sets - w5.traced.set!).toBe(152);
    expect(resets - w5.traced.reset!).toBe(210);
    for (const n of [1, 2, 3, 4, 6]) expect(window(n).traced, `window ${n}`).toEqual({});
    expect(w5.lostEvents).toBe(0);
  });
});
