/** /proc/vmstat snapshots and their deltas. */
import { dict } from '../core/data.ts';

export type Vmstat = Record<string, number>;

export function parseVmstat(text: string): Vmstat {
  const out: Vmstat = dict();
  for (const line of text.split('\n')) {
    const m = /^(\w+) (\d+)$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** after - before for every counter present in both. */
export function vmstatDelta(before: Vmstat, after: Vmstat): Vmstat {
  const out: Vmstat = dict();
  for (const [k, v] of Object.entries(after)) if (k in before) out[k] = v - before[k]!;
  return out;
}
