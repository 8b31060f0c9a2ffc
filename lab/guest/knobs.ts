/**
 * Guest state that scenarios change and must give back: sysctls, THP modes,
 * hugetlb pools. Scenario order must not change verdicts, so the runner reads
 * these knobs before a scenario's set-up, writes back whatever differs after
 * its teardown, and checks the guest's boot-time values before each scenario
 * (the clean-state check).
 */
import type { GuestShell } from './ssh.ts';

/**
 * Knobs every scenario starts from at their boot-time values. Not
 * min_free_kbytes: the kernel derives it from the THP mode (khugepaged raises
 * it), so it follows the knobs here.
 */
export const GUEST_KNOBS: readonly string[] = [
  '/proc/sys/vm/compaction_proactiveness',
  '/proc/sys/vm/watermark_boost_factor',
  '/proc/sys/vm/nr_hugepages',
  '/proc/sys/vm/overcommit_memory',
  '/proc/sys/debug/kprobes-optimization',
  '/sys/kernel/mm/transparent_hugepage/enabled',
  '/sys/kernel/mm/transparent_hugepage/defrag',
  '/sys/kernel/mm/transparent_hugepage/khugepaged/defrag',
  '/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages',
];

export type KnobValues = Record<string, string>;

/** Files a command writes with `> /proc/sys/...` or `> /sys/...` (knobs beyond the list above). */
export function writtenKnobs(commands: readonly string[]): string[] {
  const out = new Set<string>();
  for (const c of commands) for (const m of c.matchAll(/>\s*((?:\/proc\/sys|\/sys)\/[^\s;&|)]+)/g)) out.add(m[1]!);
  return [...out].sort();
}

/** The value of a knob as written back: THP's "always [madvise] never" is "madvise". */
export function knobValue(text: string): string {
  const line = text.split('\n')[0]!.trim();
  return /\[(\w+)\]/.exec(line)?.[1] ?? line;
}

/**
 * The guest command that prints "path:first line" for every readable knob (write-only ones, such
 * as drop_caches, print nothing), and its parser. One process for all of them: a `head` per knob
 * cost 1-2 s per read under TCG, and the shell's own `read` cannot serve (dash reads a byte at a
 * time, and a sysctl file answers a read at an offset with end of file: "15000" read as "1").
 */
export function readKnobsCommand(files: readonly string[]): string {
  return `grep -m1 -H '' -- ${files.join(' ')} 2>/dev/null; true`;
}

export function parseKnobs(text: string): KnobValues {
  const out: KnobValues = {};
  for (const line of text.split('\n')) {
    // knob paths have no colon: the first one ends the path
    const colon = line.indexOf(':');
    if (colon > 0) out[line.slice(0, colon)] = knobValue(line.slice(colon + 1));
  }
  return out;
}

export async function readKnobs(shell: GuestShell, files: readonly string[]): Promise<KnobValues> {
  return parseKnobs((await shell.exec(readKnobsCommand(files))).stdout);
}

/** Knobs whose value differs from `want` (only those present in both). */
export function knobDiff(want: KnobValues, got: KnobValues): { file: string; want: string; got: string }[] {
  return Object.keys(want)
    .filter((f) => f in got && got[f] !== want[f])
    .map((f) => ({ file: f, want: want[f]!, got: got[f]! }));
}

/** Write back every knob that differs from `want` (read now, unless `current` was just read); returns what was restored. */
export async function restoreKnobs(shell: GuestShell, want: KnobValues, current?: KnobValues): Promise<string[]> {
  const diff = knobDiff(want, current ?? (await readKnobs(shell, Object.keys(want))));
  // one round trip: each write on its own, a failed one does not stop the others
  if (diff.length) await shell.exec(diff.map((d) => `echo ${d.want} > ${d.file}`).join('; '), { allowFailure: true, timeoutMs: 120_000 * diff.length });
  return diff.map((d) => `${d.file}: ${d.got} -> ${d.want}`);
}
