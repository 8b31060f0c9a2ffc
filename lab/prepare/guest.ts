/**
 * Prepare a booted guest for scenarios: kprobe optimization off, the
 * page_order module and the workload tools copied in, the probe map read from
 * the guest (kallsyms, kprobe blacklist, dmesg), the resident kprobes armed on
 * its hooks (resident.ts: kernel text is not written after this), and the
 * guest's knobs recorded as the baseline every scenario starts from.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TcgThreads } from '../core/config.ts';
import { InterruptedError } from '../core/errors.ts';
import { formatCommand } from '../core/proc.ts';
import type { ProgressReporter, Stage } from '../core/reporter.ts';
import { qemuArgs, type Accel } from '../guest/qemu.ts';
import { startSession, type GuestSession } from '../guest/session.ts';
import type { GuestShell } from '../guest/ssh.ts';
import { probedFunctions, probeMap, type Hooks, type ProbeMapEntry } from '../observe/hooks.ts';
import { GUEST_KNOBS, readKnobs, type KnobValues } from '../guest/knobs.ts';
import { GuestObservers, type SharedBpftrace } from '../observers/guest-observers.ts';
import { GUEST_MODULE_PATH } from '../observers/module.ts';
import { discoveryCommand, generateScript } from '../observers/probes.ts';
import type { ModuleArtifact } from './module.ts';
import { armResident, type ResidentProbes } from './resident.ts';
import { toolUpload, type Tool } from './tools.ts';
import { uploadFiles } from './upload.ts';
import type { LaunchSpec } from '../guest/launch.ts';

/** What every guest of a run gets: built once on the host. */
interface GuestKit {
  module: ModuleArtifact;
  tools: Tool[];
  hooks: Hooks;
}

interface PreparedGuest {
  probes: ProbeMapEntry[];
  baseline: KnobValues;
  resident: ResidentProbes;
}

/**
 * Whether the other vCPUs go offline while kernel text is patched: under TCG with a host
 * thread per vCPU (QEMU's default when no thread= is given), not under KVM or single-threaded TCG.
 */
const quiescesForPatching = (c: { accel: Accel; tcgThreads?: TcgThreads }) => c.accel === 'tcg' && c.tcgThreads !== 'single';

async function prepareGuest(shell: GuestShell, kit: GuestKit, resultsDir: string, o: { quiesce: boolean }): Promise<PreparedGuest> {
  // Optimized (jump) kprobes run their handlers with interrupts on: an interrupt that allocates
  // a page while a handler runs is missed by every probe on __set_page_owner. int3 kprobes are exact.
  await shell.exec('echo 0 > /proc/sys/debug/kprobes-optimization');
  // the module and the tools in one command
  await uploadFiles(shell, [{ guestPath: GUEST_MODULE_PATH, hostPath: kit.module.path }, ...kit.tools.map(toolUpload)]);
  const discovery = await shell.exec(discoveryCommand(kit.hooks));
  await writeFile(join(resultsDir, 'probe-discovery.txt'), discovery.stdout);
  const probes = probeMap(kit.hooks, discovery.stdout, (await shell.exec('dmesg')).stdout);
  const resident = await armResident(shell, probedFunctions(probes), o.quiesce);
  return { probes, resident, baseline: await readKnobs(shell, GUEST_KNOBS) };
}

export interface ReadyGuestOptions {
  /** How the guest is launched (lab/guest/launch.ts). */
  spec: LaunchSpec;
  kit: GuestKit;
  /** The run's results folder: console-N.log, guest-commands.log, probe-discovery.txt. */
  dir: string;
  /** One bpftrace for the guest's scenarios, started once it is prepared (the kit's tools include lab_mark). */
  sharedBpftrace?: SharedBpftrace;
  reporter: ProgressReporter;
  signal?: AbortSignal;
  stage: Stage;
}

/** A booted and prepared guest, with what the run records about it. */
export interface ReadyGuest extends PreparedGuest {
  session: GuestSession;
  boot: { token: string; sshPort: number; consoleLog: string; accel: Accel; qemu: string[]; restoredFrom?: string };
  guestInfo: { accel: Accel; accelReason: string; memoryMb: number; cpus: number; bootToReadyMs: number; sshReadyMs: number; restoredFrom?: string; unameR: string; probeMap: ProbeMapEntry[]; residentProbes: { functions: string[]; quiesced: boolean } };
  /** What a scenario needs from this guest. */
  context: { shell: GuestShell; release: string; hooks: Hooks; probes: ProbeMapEntry[]; baseline: KnobValues; observers: GuestObservers };
}

export const guestConsoleLog = (dir: string, n: number) => join(dir, n === 1 ? 'console.log' : `console-${n}.log`);

/** Boot guest number n of a run (console.log, then console-2.log ...) and prepare it. */
export async function bootGuest(n: number, o: ReadyGuestOptions): Promise<ReadyGuest> {
  const consoleLog = guestConsoleLog(o.dir, n);
  const session = await startSession({ ...o.spec, consoleLog, reporter: o.reporter, signal: o.signal, stage: o.stage });
  // Ctrl-C while the guest is prepared: the run's pool has no guest to stop yet, so stop it here (its commands then fail)
  const stop = () => void session.guest.stop();
  o.signal?.addEventListener('abort', stop, { once: true });
  if (o.signal?.aborted) stop();
  try {
    session.shell.transcript = join(o.dir, 'guest-commands.log');
    const prepared = await o.stage('prepare', () => prepareGuest(session.shell, o.kit, o.dir, { quiesce: quiescesForPatching(session.guest.config) }));
    const shared = o.sharedBpftrace && {
      commPrefixes: o.sharedBpftrace.commPrefixes,
      script: generateScript(o.kit.hooks, prepared.probes, { mode: 'summary', release: session.release, commPrefixes: o.sharedBpftrace.commPrefixes, windows: true }),
    };
    if (shared) await writeFile(join(o.dir, n === 1 ? 'probes.bt' : `probes-${n}.bt`), shared.script);
    const observers = new GuestObservers(session.shell, shared);
    // bpftrace attaches (seconds under TCG) while the first scenario checks and sets up the guest
    await observers.startShared();
    return {
      ...prepared,
      session,
      boot: { token: session.token, sshPort: session.sshPort, consoleLog, accel: o.spec.accel.accel, qemu: [formatCommand('qemu-system-x86_64', qemuArgs(session.guest.config))], ...(session.restoredFrom ? { restoredFrom: session.restoredFrom } : {}) },
      guestInfo: {
        accel: o.spec.accel.accel,
        accelReason: o.spec.accel.reason,
        memoryMb: o.spec.memoryMb,
        cpus: o.spec.cpus,
        bootToReadyMs: session.readyMs,
        sshReadyMs: session.sshReadyMs,
        ...(session.restoredFrom ? { restoredFrom: session.restoredFrom } : {}),
        unameR: session.release,
        probeMap: prepared.probes,
        residentProbes: { functions: prepared.resident.functions, quiesced: prepared.resident.quiesced },
      },
      context: { shell: session.shell, release: session.release, hooks: o.kit.hooks, probes: prepared.probes, baseline: prepared.baseline, observers },
    };
  } catch (e) {
    await session.close();
    throw o.signal?.aborted ? new InterruptedError('SIGINT') : e;
  } finally {
    o.signal?.removeEventListener('abort', stop);
  }
}
