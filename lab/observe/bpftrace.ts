/** Parser for bpftrace's exit output: printed lines and the maps it dumps. */
import { dict } from '../core/data.ts';

/**
 * The line the lab's bpftrace scripts print once every probe is attached
 * (printed and waited for through lab/guest/protocol/window.ts; its text is
 * here, where the parser that reports it is, as observe/ cannot import guest/).
 */
export const ATTACHED_LINE = 'lab: probes attached';

export interface BpftraceOutput {
  /** map name without "@" -> key ("" for a scalar map) -> value */
  maps: Record<string, Record<string, number>>;
  /** "Lost N events" lines, summed. */
  lostEvents: number;
  attached: boolean;
  /** Trace mode: lines per event in the seed's format ("set migrate" counted as set_migrate). */
  traced: Record<string, number>;
  lines: string[];
}

export function parseBpftrace(text: string): BpftraceOutput {
  const out: BpftraceOutput = { maps: dict(), lostEvents: 0, attached: false, traced: dict(), lines: [] };
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (!line) continue;
    let m: RegExpExecArray | null;
    if ((m = /^@(\w*)(?:\[(.*)\])?: (-?\d+)$/.exec(line))) {
      const map = (out.maps[m[1]!] ??= dict());
      map[m[2] ?? ''] = Number(m[3]);
    } else if ((m = /^Lost (\d+) events/.exec(line))) {
      out.lostEvents += Number(m[1]);
    } else if ((m = /^page_owner info \{([\w ]+)\}: timestamp=\d+ pid=\d+(?: proc_name=.*)?$/.exec(line))) {
      const event = m[1]!.replace(/ /g, '_');
      out.traced[event] = (out.traced[event] ?? 0) + 1;
    } else {
      if (line === ATTACHED_LINE) out.attached = true;
      out.lines.push(line);
    }
  }
  return out;
}

/**
 * Window n's view of a shared bpftrace's maps, whose every key starts with
 * the window's number (`@set[3, 0]`, `@split[3]`, lab/observers/probes.ts):
 * window n's entries with that number taken off (`@set[0]`, `@split`), the
 * other windows' dropped (a key a probe brought back after its window ended).
 */
export function forWindow(out: BpftraceOutput, n: number): BpftraceOutput {
  const maps: BpftraceOutput['maps'] = dict();
  for (const [name, entries] of Object.entries(out.maps)) maps[name] = under(entries, String(n));
  return { ...out, maps };
}

/** A map's entries whose key begins with `first` (`first, ...`, or `first` alone: ''), with it taken off. */
function under(entries: Record<string, number>, first: string): Record<string, number> {
  const own = dict<number>();
  for (const [key, value] of Object.entries(entries)) {
    if (key === first) own[''] = value;
    else if (key.startsWith(`${first}, `)) own[key.slice(first.length + 2)] = value;
  }
  return own;
}

/**
 * One workload's view of the `_comm` maps, which count per task-name prefix and
 * order (`@set_comm[stress-ng, 0]`): that prefix's counts keyed by order, as
 * the metrics read them; other prefixes' counts dropped.
 */
export function forComm(out: BpftraceOutput, prefix: string | undefined): BpftraceOutput {
  const maps: BpftraceOutput['maps'] = dict();
  for (const [name, entries] of Object.entries(out.maps)) {
    if (!name.endsWith('_comm')) {
      maps[name] = entries;
      continue;
    }
    if (prefix === undefined) continue;
    maps[name] = under(entries, prefix);
  }
  return { ...out, maps };
}
