/** /proc/vmstat snapshots (their deltas are metrics: lab/metrics/registry.ts). */
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
