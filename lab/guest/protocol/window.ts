/**
 * The bpftrace window markers: one bpftrace serves many scenarios, each
 * between a begin and an end marker (lab/observers/probes.ts generates the
 * script, lab/observers/bpftrace.ts runs it). The guest command that marks a
 * window calls a function of the marker program (bpf/marker/lab_mark.c) that
 * bpftrace has a uprobe on; the probe acknowledges begin and end with a line
 * on bpftrace's stream, which the host waits for and cuts the window's lines
 * by. The line bpftrace prints once every probe is attached is read here too
 * (its text is lab/observe/bpftrace.ts's, whose parser reports it: observe/
 * cannot import guest/).
 */
import { ATTACHED_LINE } from '../../observe/bpftrace.ts';

/** The marker program (bpf/marker/lab_mark.c) as uploaded to the guest (by its name, to /usr/local/bin: lab/prepare/tools.ts). */
const MARKER_PATH = '/usr/local/bin/lab_mark';

/** begin and end open and close a window; trace turns trace mode's lines on in it, until its end. */
export type WindowMark = 'begin' | 'trace' | 'end';

/** The guest command that marks window n. */
export const markCommand = (kind: WindowMark, n: number) => `${MARKER_PATH} ${kind} ${n}`;

/** The probe of the marker program's function that a mark calls, with the window's number as arg0. */
export const markProbe = (kind: WindowMark) => `uprobe:${MARKER_PATH}:lab_window_${kind}`;

/** The acknowledgement's text with the window's number as `n`: bpftrace's format ('%d') or a number. */
const ack = (kind: 'begin' | 'end', n: string) => `lab: window ${n} ${kind}`;

/** The bpftrace statement that acknowledges a mark (in its probe, after the maps are printed or cleared): prints windowLine(kind, arg0). */
export const ackStatement = (kind: 'begin' | 'end') => `printf("${ack(kind, '%d')}\\n", arg0);`;

/** The line bpftrace prints once a marker's maps are cleared (begin) or printed (end). */
export const windowLine = (kind: 'begin' | 'end', n: number) => ack(kind, String(n));

/** The bpftrace statement (in its BEGIN probe) that says every probe is attached. */
export const attachedStatement = `printf("${ATTACHED_LINE}\\n");`;

/** A line of bpftrace's stream that says every probe is attached. */
export const isAttachedLine = (line: string) => line.includes(ATTACHED_LINE);

/**
 * The lines of window n in the output of a bpftrace that serves many scenarios:
 * between its "lab: window n begin" and "lab: window n end" acknowledgements.
 * Window numbers never repeat within one bpftrace, so an acknowledgement
 * cannot be taken for another's.
 */
export function cutWindow(lines: readonly string[], n: number): string[] {
  const begin = lines.indexOf(windowLine('begin', n));
  const end = lines.indexOf(windowLine('end', n), begin + 1);
  if (begin < 0 || end < 0) throw new Error(`bpftrace's output has no whole window ${n} (begin at ${begin}, end at ${end})`);
  return lines.slice(begin + 1, end);
}
