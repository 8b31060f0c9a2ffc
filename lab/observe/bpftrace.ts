/** Parser for bpftrace's exit output: printed lines and the maps it dumps. */

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
  const out: BpftraceOutput = { maps: {}, lostEvents: 0, attached: false, traced: {}, lines: [] };
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (!line) continue;
    let m: RegExpExecArray | null;
    if ((m = /^@(\w*)(?:\[(.*)\])?: (-?\d+)$/.exec(line))) {
      const map = (out.maps[m[1]!] ??= {});
      map[m[2] ?? ''] = Number(m[3]);
    } else if ((m = /^Lost (\d+) events/.exec(line))) {
      out.lostEvents += Number(m[1]);
    } else if ((m = /^page_owner info \{([\w ]+)\}: timestamp=\d+ pid=\d+(?: proc_name=.*)?$/.exec(line))) {
      const event = m[1]!.replace(/ /g, '_');
      out.traced[event] = (out.traced[event] ?? 0) + 1;
    } else {
      if (line === 'lab: probes attached') out.attached = true;
      out.lines.push(line);
    }
  }
  return out;
}
