/**
 * bpftrace in the guest: the script is uploaded, started over its own SSH
 * channel, and the workload starts only once its BEGIN probe has printed
 * (every kprobe is attached by then). Stopping sends SIGINT, which makes
 * bpftrace print its maps; the output is parsed on the host.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { InfraError } from '../core/errors.ts';
import type { ExecResult, GuestShell } from '../guest/ssh.ts';
import { parseBpftrace, type BpftraceOutput } from '../observe/bpftrace.ts';

export const ATTACHED_MARKER = 'lab: probes attached';
const STOP_TIMEOUT_MS = 30_000;

export interface RunningBpftrace {
  stop(): Promise<{ output: BpftraceOutput; raw: ExecResult }>;
}

/** `script` is the program text (generated per guest by probes.ts). */
export async function startBpftrace(shell: GuestShell, script: string, attachTimeoutMs: number): Promise<RunningBpftrace> {
  const guestPath = '/tmp/lab.bt';
  await shell.exec(`cat > ${guestPath}`, { input: script });
  let pid: number | undefined;
  let onAttached: () => void = () => {};
  const attached = new Promise<void>((resolve) => (onAttached = resolve));
  // the subshell that runs bpftrace prints its pid, then becomes bpftrace (exec): SIGINT goes to that pid
  const done = shell.exec(`sh -c 'echo "pid $$"; exec bpftrace ${guestPath} 2>&1'`, {
    allowFailure: true,
    onLine: (line) => {
      const m = /^pid (\d+)$/.exec(line);
      if (m && pid === undefined) pid = Number(m[1]);
      if (line.includes(ATTACHED_MARKER)) onAttached();
    },
  });
  done.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    attached.then(() => 'attached' as const),
    done.then((r) => r),
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), attachTimeoutMs))),
  ]);
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
  return {
    async stop() {
      // SIGINT makes bpftrace print its maps and exit. It has been seen to ignore one (bpftrace 0.17
      // under TCG), so it is repeated every few seconds; a bpftrace that still runs is killed.
      let exited = false;
      void done.then(
        () => (exited = true),
        () => (exited = true),
      );
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
