/** What a kernel log line looks like when the kernel is in trouble: read by the console watcher and the dmesg parser. */

/** Console lines that mean the kernel is in trouble (syzkaller's and BPF CI's denylist). */
export const KERNEL_ERROR_PATTERNS: readonly RegExp[] = [
  /Kernel panic - not syncing/,
  /\bBUG: /,
  // VM_BUG_ON / BUG_ON (DEBUG_VM): "kernel BUG at mm/...!"
  /\bkernel BUG at /,
  /\bOops: /,
  /\bWARNING: CPU: /,
  /general protection fault/,
  /Unable to handle kernel/,
  /\bRCU stall\b|rcu_sched self-detected stall/,
  /hung_task|blocked for more than \d+ seconds/,
  /soft lockup|hard LOCKUP/,
];

/**
 * The whole report that starts at a kernel error line on the console: the
 * error, registers and Call Trace, up to the end-of-trace or panic line (at
 * most `max` lines), so a result carries the frames without a rerun.
 */
export function kernelReport(consoleLines: readonly string[], firstErrorLine: string, max = 200): string[] {
  const start = consoleLines.lastIndexOf(firstErrorLine);
  if (start < 0) return [firstErrorLine];
  const out: string[] = [];
  for (const line of consoleLines.slice(start, start + max)) {
    out.push(line);
    // oopses and panics end with a marker; KASAN and KFENCE reports with a rule of '='
    if (/---\[ end (trace|Kernel panic)/.test(line) || (out.length > 1 && /^(\[\s*[\d.]+\] )?={40,}\s*$/.test(line))) break;
  }
  return out;
}
