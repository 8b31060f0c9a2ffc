/**
 * bpftrace in the guest: the script is uploaded, started over its own SSH
 * channel, and the workload starts only once its BEGIN probe has printed
 * (every kprobe is attached by then). Stopping sends SIGINT, which makes
 * bpftrace print its maps; the output is parsed on the host.
 *
 * A script generated with windows (probes.ts) serves many scenarios: each
 * opens a window (`lab_mark begin N`: the maps cleared) and closes it
 * (`lab_mark end N`: the maps printed), and the host cuts that window's text
 * out of the one stream (lab/guest/protocol/window.ts: the marks, their
 * acknowledgements and cutWindow).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { InfraError } from '../core/errors.ts';
import type { ExecResult, GuestShell } from '../guest/ssh.ts';
import { cutWindow, isAttachedLine, markCommand, windowLine, type WindowMark } from '../guest/protocol/window.ts';
import { parseBpftrace, type BpftraceOutput } from '../observe/bpftrace.ts';

const STOP_TIMEOUT_MS = 30_000;
/** How long a marker's acknowledgement may take: bpftrace reads its buffers many times a second. */
const MARKER_TIMEOUT_MS = 30_000;

export interface RunningBpftrace {
  stop(): Promise<{ output: BpftraceOutput; raw: ExecResult }>;
  /** Every line bpftrace printed so far. */
  readonly lines: readonly string[];
  /** Settles when bpftrace exits (or the guest goes). */
  readonly exited: boolean;
  /**
   * The guest command that opens (begin) or closes (end) window n, and a wait for bpftrace's
   * acknowledgement of it: the window's lines once closed. Only for a script with windows.
   */
  marker(kind: WindowMark, n: number): string;
  acknowledged(kind: 'begin' | 'end', n: number): Promise<string[]>;
}

/** `script` is the program text (generated per guest by probes.ts). */
export async function startBpftrace(shell: GuestShell, script: string, attachTimeoutMs: number): Promise<RunningBpftrace> {
  return attachBpftrace(shell, await uploadScript(shell, script, '/tmp/lab.bt'), attachTimeoutMs);
}

export async function uploadScript(shell: GuestShell, script: string, guestPath: string): Promise<string> {
  await shell.exec(`cat > ${guestPath}`, { input: script });
  return guestPath;
}

/** Run the script uploaded to `guestPath`; resolves once every probe is attached. */
export async function attachBpftrace(shell: GuestShell, guestPath: string, attachTimeoutMs: number): Promise<RunningBpftrace> {
  let pid: number | undefined;
  const lines: string[] = [];
  const waiters = new Set<{ line: string; resolve: () => void }>();
  let onAttached: () => void = () => {};
  const attached = new Promise<void>((resolve) => (onAttached = resolve));
  // the subshell that runs bpftrace prints its pid, then becomes bpftrace (exec): SIGINT goes to that pid
  const done = shell.exec(`sh -c 'echo "pid $$"; exec bpftrace ${guestPath} 2>&1'`, {
    allowFailure: true,
    // it runs beside every other command, for the guest's life: no timeout (stopBpftrace ends it)
    ownChannel: true,
    timeoutMs: Infinity,
    onLine: (line) => {
      lines.push(line);
      const m = /^pid (\d+)$/.exec(line);
      if (m && pid === undefined) pid = Number(m[1]);
      if (isAttachedLine(line)) onAttached();
      for (const w of waiters) if (line === w.line) w.resolve();
    },
  });
  let exited = false;
  const settled = done.then(
    (r) => ((exited = true), r),
    (e: unknown) => ((exited = true), e as Error),
  );
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    attached.then(() => 'attached' as const),
    done.then((r) => r),
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), attachTimeoutMs))),
  ]).catch((e: unknown) => {
    clearTimeout(timer);
    throw e;
  });
  clearTimeout(timer);
  if (outcome !== 'attached') {
    if (pid) await shell.exec(`kill -KILL ${pid}`, { allowFailure: true });
    const raw = outcome === 'timeout' ? '' : outcome.stdout;
    throw new InfraError(
      'BPFTRACE_FAILED',
      outcome === 'timeout' ? `bpftrace did not attach within ${attachTimeoutMs / 1000} s` : `bpftrace exited before attaching (exit ${outcome.exitCode})`,
      { outputTail: raw.split('\n').slice(-15).join('\n') },
    );
  }

  /** Resolves once bpftrace printed `line` (at or after index `from`); rejects when it exits or takes too long. */
  const seen = async (line: string, from: number): Promise<number> => {
    const at = lines.indexOf(line, from);
    if (at >= 0) return at;
    let waiter: { line: string; resolve: () => void } | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      const r = await Promise.race([
        new Promise<'seen'>((resolve) => waiters.add((waiter = { line, resolve: () => resolve('seen') }))),
        settled.then(() => 'exited' as const),
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), MARKER_TIMEOUT_MS))),
      ]);
      if (r === 'seen') return lines.indexOf(line, from);
      throw new InfraError(
        r === 'exited' ? 'BPFTRACE_FAILED' : 'BPFTRACE_MARKER_LOST',
        r === 'exited' ? `bpftrace exited while the lab waited for "${line}"` : `bpftrace did not print "${line}" within ${MARKER_TIMEOUT_MS / 1000} s of its marker`,
        { outputTail: lines.slice(-15).join('\n') },
      );
    } finally {
      clearTimeout(timer);
      if (waiter) waiters.delete(waiter);
    }
  };

  return {
    lines,
    get exited() {
      return exited;
    },
    marker: markCommand,
    async acknowledged(kind, n) {
      const at = await seen(windowLine(kind, n), 0);
      return kind === 'begin' ? [] : cutWindow(lines.slice(0, at + 1), n);
    },
    async stop() {
      // SIGINT makes bpftrace print its maps and exit. It has been seen to ignore one (bpftrace 0.17
      // under TCG), so it is repeated every few seconds; a bpftrace that still runs is killed.
      const started = Date.now();
      while (!exited && Date.now() - started < STOP_TIMEOUT_MS) {
        await shell.exec(`kill -INT ${pid} 2>/dev/null`, { allowFailure: true, timeoutMs: 10_000 });
        const deadline = Date.now() + 5000;
        while (!exited && Date.now() < deadline) await sleep(100);
      }
      if (!exited) {
        await shell.exec(`kill -KILL ${pid}`, { allowFailure: true, timeoutMs: 10_000 });
        throw new InfraError('BPFTRACE_STOP_FAILED', `bpftrace (pid ${pid}) did not exit within ${STOP_TIMEOUT_MS / 1000} s of SIGINT: killed, its maps are lost`);
      }
      const raw = await done;
      return { output: parseBpftrace(raw.stdout), raw };
    },
  };
}
