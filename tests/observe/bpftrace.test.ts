import { describe, expect, it } from 'vitest';
import { cutWindow, forComm, parseBpftrace } from '../../lab/observe/bpftrace.ts';
import { fixture } from '../helpers/fixtures.ts';

/**
 * One bpftrace on a 6.12.117 guest serving four windows (the shared script of
 * tests/fixtures/6.12.117/windows/probes.bt): 1: 8 hugetlb pages grown and
 * freed; between 1 and 2, 4 more pages grown and freed outside any window;
 * 2: stress-ng for 1 s and part of the page_owner dump read; 3: nothing;
 * 4: fragment 16 MiB; 5: trace mode (lab_mark trace 5 once "begin" was seen),
 * 1 s of sleep; 6: 1 s of sleep, summary again. Then SIGINT: bpftrace's exit
 * prints its maps again.
 */
describe('windows cut out of one bpftrace stream (6.12.117)', () => {
  const lines = fixture('6.12.117', 'windows', 'bpftrace.txt').split('\n');
  const window = (n: number, comm?: string) => forComm(parseBpftrace(cutWindow(lines, n).join('\n')), comm);

  it('counts what happened inside a window, not before or after it', () => {
    const w1 = window(1);
    expect(w1.maps.set?.['9']).toBe(8);
    expect(w1.maps.reset?.['9']).toBe(8);
    // the 4 pages grown and freed between the windows are in neither
    expect(window(2).maps.set?.['9']).toBeUndefined();
    expect(window(2).maps.reset?.['9']).toBeUndefined();
    expect(window(2).maps.read?.['']).toBeGreaterThan(0);
    expect(window(1).maps.read?.['']).toBe(0);
  });

  it('prints every map at each window end, cleared at its begin: an idle window counts only the lab', () => {
    const w3 = window(3);
    expect(w3.maps.split).toEqual({ '': 0 });
    expect(w3.maps.copy).toEqual({ '': 0 });
    expect(w3.maps.set?.['9']).toBeUndefined();
    expect(Number(w3.maps.set?.['0'])).toBeLessThan(1000);
    expect(w3.lostEvents).toBe(0);
  });

  it('gives each workload its own prefix of the _comm maps, keyed by order as the metrics read them', () => {
    expect(window(2, 'stress-ng').maps.set_comm).toEqual({ '0': 10559, '1': 243, '2': 3 });
    expect(window(2, 'fragment').maps.set_comm).toEqual({});
    expect(window(4, 'fragment').maps.set_comm).toEqual({ '0': 4131 });
    expect(window(4, 'fragment').maps.reset_comm).toEqual({ '0': 4133 });
    // a scenario without a workload name sees no _comm map at all
    expect(window(2).maps.set_comm).toBeUndefined();
    expect(window(2).maps.set_lab?.['0']).toBe(112);
  });

  it('prints trace lines only in a window that turned them on, each for an event its maps counted', () => {
    const w5 = window(5);
    const sets = Object.values(w5.maps.set ?? {}).reduce((a, b) => a + b, 0);
    const resets = Object.values(w5.maps.reset ?? {}).reduce((a, b) => a + b, 0);
    expect(w5.traced.set).toBe(1385);
    expect(w5.traced.reset).toBe(1362);
    // counted but not printed: the command that turned the lines on (idle-baseline allows 512)
    expect(sets - w5.traced.set!).toBe(271);
    expect(resets - w5.traced.reset!).toBe(277);
    for (const n of [1, 2, 3, 4, 6]) expect(window(n).traced, `window ${n}`).toEqual({});
    expect(w5.lostEvents).toBe(0);
  });

  it('takes only a whole window, by its exact number', () => {
    expect(() => cutWindow(lines, 7)).toThrow(/no whole window 7/);
    // window 1's acknowledgements do not stand for window 11's, nor 0's
    expect(() => cutWindow([...lines, 'lab: window 11 begin'], 11)).toThrow(/no whole window 11/);
    expect(() => cutWindow(lines, 0)).toThrow(/no whole window 0/);
    // a stream cut off after a begin has no window
    const truncated = lines.slice(0, lines.indexOf('lab: window 2 end'));
    expect(() => cutWindow(truncated, 2)).toThrow(/no whole window 2/);
  });
});
