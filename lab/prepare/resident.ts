/**
 * Resident kprobes: one tracefs kprobe on every page_owner hook the guest probes, armed when
 * the guest is prepared and kept for its life. Every later probe on those functions (the
 * page_order module's, each bpftrace's) then joins a kprobe that is already armed, and kernel
 * text is never written again: the kernel arms an address once and adds or removes the
 * handlers of an aggregate kprobe without touching its int3 (register_aggr_kprobe,
 * __disable_kprobe in kernel/kprobes.c; kprobe optimization is off in lab guests).
 *
 * Why: QEMU 7.2's multi-threaded TCG can keep a stale translation of kernel text that one
 * vCPU patches while another runs it: probes that see nothing, or an int3 that traps forever
 * (docs/reliability.md). So under multi-threaded TCG the other vCPUs are taken offline while
 * the resident probes are armed, the one moment the lab patches kernel text, and brought back
 * after. They are armed under every accelerator, so the probes behave the same everywhere.
 *
 * Their trace events go nowhere: tracing_on is 0, so a hit costs the int3 (paid anyway by the
 * lab's own probes) and a refused ring-buffer reserve.
 */
import { InfraError } from '../core/errors.ts';
import type { GuestShell } from '../guest/ssh.ts';

const RESIDENT_GROUP = 'lab_resident';
const CPUS = '/sys/devices/system/cpu';
const OTHER_CPUS = `${CPUS}/cpu[1-9]*/online`;
const KPROBES_LIST = '/sys/kernel/debug/kprobes/list';

/**
 * The guest command: (the other vCPUs offline,) the resident kprobes registered and enabled,
 * (the vCPUs back,) then what the host checks: the online CPUs and the kernel's kprobe list.
 */
export function residentCommand(functions: readonly string[], quiesce: boolean): string {
  return [
    'T=/sys/kernel/tracing; [ -e $T/kprobe_events ] || T=/sys/kernel/debug/tracing',
    ...(quiesce ? [`for f in ${OTHER_CPUS}; do [ -e "$f" ] && echo 0 > "$f"; done`, `echo "offline: $(cat ${CPUS}/online)"`] : []),
    'echo 0 > $T/tracing_on',
    ...functions.map((f) => `echo 'p:${RESIDENT_GROUP}/${f} ${f}' >> $T/kprobe_events`),
    `echo 1 > $T/events/${RESIDENT_GROUP}/enable`,
    ...(quiesce ? [`for f in ${OTHER_CPUS}; do [ -e "$f" ] && echo 1 > "$f"; done`] : []),
    `echo "online: $(cat ${CPUS}/online) of $(cat ${CPUS}/present)"`,
    `echo '--- kprobes'`,
    `cat ${KPROBES_LIST}`,
  ].join('\n');
}

export interface ResidentProbes {
  functions: string[];
  /** Whether the other vCPUs were offline while they were armed. */
  quiesced: boolean;
  /** The CPUs online before and after, as the kernel prints them ("0-1"). */
  online: string;
}

/**
 * What the command printed, checked: the other vCPUs were offline (when asked), every vCPU is
 * back, and each function has an enabled kprobe in the kernel's list.
 */
export function checkResident(functions: readonly string[], quiesce: boolean, output: string): ResidentProbes {
  const [head = '', list = ''] = output.split('--- kprobes\n');
  const offline = /^offline: (\S+)$/m.exec(head)?.[1];
  const online = /^online: (\S+) of (\S+)$/m.exec(head);
  if (quiesce && offline !== '0') {
    throw new InfraError(
      'RESIDENT_PROBES_FAILED',
      `the other vCPUs could not be taken offline to arm the resident kprobes (online: ${offline ?? 'unknown'}): the kernel needs CONFIG_HOTPLUG_CPU, or run with tcgThreads single (LAB_TCG_THREADS=single)`,
      { output },
    );
  }
  if (!online || online[1] !== online[2]) {
    throw new InfraError('RESIDENT_PROBES_FAILED', `not every vCPU came back online after the resident kprobes were armed (online ${online?.[1] ?? 'unknown'} of ${online?.[2] ?? 'unknown'})`, { output });
  }
  const armed = new Set(
    list
      .split('\n')
      .filter((l) => !/\[(DISABLED|GONE)\]/.test(l))
      .map((l) => /\s(\S+)\+0x0\b/.exec(l)?.[1])
      .filter(Boolean),
  );
  const missing = functions.filter((f) => !armed.has(f));
  if (missing.length) {
    throw new InfraError('RESIDENT_PROBES_FAILED', `no enabled kprobe on ${missing.join(', ')} in ${KPROBES_LIST} after arming the resident kprobes`, { output });
  }
  return { functions: [...functions], quiesced: quiesce, online: online[1]! };
}

/** Arm the resident kprobes on these functions (the probed hooks of the guest's probe map). */
export async function armResident(shell: GuestShell, functions: readonly string[], quiesce: boolean): Promise<ResidentProbes> {
  const r = await shell.exec(residentCommand(functions, quiesce), { timeoutMs: 60_000, allowFailure: true });
  return checkResident(functions, quiesce, r.stdout);
}
