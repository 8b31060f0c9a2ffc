/**
 * `lab shell`: an interactive shell in a lab guest, virtme-ng style: the lab
 * kernel and image booted as for a run, a login shell over SSH on a real
 * pseudo-terminal (window size and Ctrl-C forwarded). With observers, the
 * guest is prepared as for a scenario (lab/prepare/guest.ts), the page_order
 * module loaded and bpftrace attached, and the probe map printed first. On
 * exit the guest is torn down; results/<run>/ keeps the console, the session
 * transcript and, with observers, what they counted.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { prepareArtifacts } from '../run/artifacts.ts';
import type { LabConfig } from '../core/config.ts';
import { isLabError } from '../core/errors.ts';
import { kernelLabel, runId } from '../core/paths.ts';
import { formatCommand } from '../core/proc.ts';
import { untimed, type ProgressReporter } from '../core/reporter.ts';
import { GUEST_DIED } from './exec.ts';
import { launchSpec } from '../guest/launch.ts';
import { qemuArgs } from '../guest/qemu.ts';
import { startSession, type GuestSession } from '../guest/session.ts';
import type { InteractiveOptions } from '../guest/ssh.ts';
import { userFragments, type KernelInput } from '../kernel/inputs.ts';
import { loadHooks, type ProbeMapEntry } from '../observe/hooks.ts';
import { startBpftrace, type RunningBpftrace } from '../observers/bpftrace.ts';
import { bootGuest } from '../prepare/guest.ts';
import { loadModule } from '../observers/module.ts';
import { buildModule } from '../prepare/module.ts';
import { generateScript } from '../observers/probes.ts';
import { buildTools } from '../prepare/tools.ts';
import { jsonFile, writeFiles } from '../report/writers.ts';

/** The orders a scenario's module shows by default. */
const SHELL_MODULE = { orders: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] };

interface ShellOptions extends KernelInput {
  config: LabConfig;
  reporter: ProgressReporter;
  signal?: AbortSignal;
  append?: string[];
  /** Load the page_order module and the bpftrace probes before the shell starts. */
  observers?: boolean;
  /** The local terminal: raw mode on stdin when it is one. */
  terminal: Pick<InteractiveOptions, 'input' | 'output' | 'term' | 'cols' | 'rows' | 'onResize'> & { setRawMode?: (raw: boolean) => void };
  stderr?: NodeJS.WritableStream;
}

export function formatProbeMap(map: readonly ProbeMapEntry[]): string {
  const width = Math.max(...map.map((m) => m.event.length));
  return map.map((m) => `  ${m.event.padEnd(width)}  ${m.status.padEnd(12)} ${m.function ?? ''}${m.note ? `  (${m.note})` : ''}`.trimEnd()).join('\n');
}

export async function runShell(o: ShellOptions): Promise<{ exitCode: number; resultsDir: string }> {
  const { config, reporter } = o;
  const stderr = o.stderr ?? process.stderr;
  const extra = await userFragments(o);
  const dir = join(config.paths.results, runId(`shell-${kernelLabel(o)}`));
  await mkdir(dir, { recursive: true });
  reporter.attachLog(join(dir, 'lab.log'));
  const record: Record<string, unknown> = { observers: Boolean(o.observers), startedAt: new Date().toISOString() };
  let session: GuestSession | undefined;
  let bpf: RunningBpftrace | undefined;
  const abort = () => void session?.guest.stop();
  o.signal?.addEventListener('abort', abort, { once: true });
  try {
    const { built, img } = await prepareArtifacts(o, extra, { config, reporter, dir, signal: o.signal });
    const k = built.build;
    const spec = await launchSpec(config, { bzImage: k.bzImage, image: img.image.path }, { flavor: o.flavor, append: o.append, interactive: true });
    let banner = '';
    if (o.observers) {
      const hooks = await loadHooks(config.paths.repo);
      const module = await buildModule(join(config.paths.repo, 'kmod', 'page_order'), k, config.paths.cache, join(dir, 'module-build.log'));
      const tools = await buildTools(join(config.paths.repo, 'scenarios', 'tools'), config.paths.cache, join(dir, 'tools-build.log'));
      const g = await bootGuest(1, { spec, kit: { module, tools, hooks }, dir, reporter, signal: o.signal, stage: untimed });
      session = g.session;
      reporter.stage('observers', `loading page_order (orders ${SHELL_MODULE.orders.join(',')}) and the bpftrace probes`);
      await loadModule(session.shell, SHELL_MODULE);
      const script = generateScript(hooks, g.probes, { mode: 'summary', release: session.release });
      await writeFile(join(dir, 'probes.bt'), script);
      bpf = await startBpftrace(session.shell, script, 120_000);
      record.probeMap = g.probes;
      banner = `probe map (bpf/hooks.yaml on ${session.release}):\n${formatProbeMap(g.probes)}\n/proc/page_order counts from now; bpftrace's counts are written to results when the shell ends.\n`;
    } else {
      session = await startSession({ ...spec, consoleLog: join(dir, 'console.log'), reporter, signal: o.signal });
      session.shell.transcript = join(dir, 'guest-commands.log');
    }
    Object.assign(record, { release: session.release, accel: spec.accel.accel, qemu: formatCommand('qemu-system-x86_64', qemuArgs(session.guest.config)) });
    reporter.stage('shell', `${session.release}: exit or Ctrl-D leaves and tears the guest down`);
    // the terminal belongs to the guest's shell from here
    reporter.close();
    stderr.write(banner);
    const transcript = createWriteStream(join(dir, 'session.log'));
    o.terminal.setRawMode?.(true);
    const s = session;
    const exitCode = await s.shell
      .interactive({ ...o.terminal, onOutput: (d) => transcript.write(d) })
      .catch(async (e: unknown) => {
        if (!isLabError(e) || e.code !== 'GUEST_LOST') throw e;
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const first = s.guest.kernelErrors[0]?.line.trim() ?? 'no kernel error on the console';
        stderr.write(`\r\nlab: the guest died under the shell: ${first} (console: ${join(dir, 'console.log')})\r\n`);
        return GUEST_DIED;
      })
      .finally(() => {
        o.terminal.setRawMode?.(false);
        transcript.end();
      });
    record.exitCode = exitCode;
    if (bpf && exitCode !== GUEST_DIED) {
      await writeFile(join(dir, 'page_order.txt'), (await s.shell.exec('cat /proc/page_order')).stdout);
      await writeFile(join(dir, 'bpftrace.txt'), (await bpf.stop()).raw.stdout);
    }
    reporter.stage('shell', `exit ${exitCode}; console and session transcript in ${dir}`);
    return { exitCode, resultsDir: dir };
  } finally {
    o.signal?.removeEventListener('abort', abort);
    if (session) record.kernelErrors = await session.close();
    record.finishedAt = new Date().toISOString();
    await writeFiles([jsonFile<typeof record>('shell.json')], record, dir, reporter);
  }
}
