/** The lab process's own memory, recorded with every run (the harness must stay small beside its guests). */
import { readFileSync } from 'node:fs';

/**
 * Peak resident memory of this process so far, in MiB: VmHWM of
 * /proc/self/status (the kernel's high-water mark; children such as QEMU,
 * make or ssh are separate processes and not counted), else getrusage's
 * maxRSS where there is no procfs.
 */
export function peakRssMb(status = '/proc/self/status'): number {
  let kb: number;
  try {
    kb = Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(status, 'utf8'))?.[1] ?? NaN);
  } catch {
    kb = NaN;
  }
  if (!Number.isFinite(kb)) kb = process.resourceUsage().maxRSS;
  return Math.round((kb / 1024) * 10) / 10;
}
