/**
 * `lab exec -- COMMAND`: boot the lab kernel and image, run one command in the
 * guest with its stdout and stderr passed through, and exit with its exit
 * status as reported in band, as virtme-ng does. Only a guest that died under
 * the command (a panic, say) gives 255, with the kernel's first error line on
 * stderr. The console and the logs still go to results/.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { prepareArtifacts } from '../run/artifacts.ts';
import type { LabConfig } from '../core/config.ts';
import { isLabError } from '../core/errors.ts';
import { kernelLabel, runId } from '../core/paths.ts';
import { formatCommand } from '../core/proc.ts';
import type { ProgressReporter } from '../core/reporter.ts';
import { launchSpec } from '../guest/launch.ts';
import { qemuArgs } from '../guest/qemu.ts';
import { startSession, type GuestSession } from '../guest/session.ts';
import { userFragments, type KernelInput } from '../kernel/inputs.ts';
import { jsonFile, writeFiles } from '../report/writers.ts';

export const GUEST_DIED = 255;

interface LabExecOptions extends KernelInput {
  config: LabConfig;
  /** One argument: a shell command line. Several: an argv, quoted for the guest's shell. */
  command: string[];
  reporter: ProgressReporter;
  signal?: AbortSignal;
  append?: string[];
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

export function guestCommandLine(argv: string[]): string {
  return argv.length === 1 ? argv[0]! : formatCommand(argv[0]!, argv.slice(1));
}

export async function runExec(o: LabExecOptions): Promise<{ exitCode: number; resultsDir: string }> {
  const { config } = o;
  const stdout = o.stdout ?? process.stdout;
  const stderr = o.stderr ?? process.stderr;
  const extra = await userFragments(o);
  const command = guestCommandLine(o.command);
  const dir = join(config.paths.results, runId(`exec-${kernelLabel(o)}`));
  await mkdir(dir, { recursive: true });
  o.reporter.attachLog(join(dir, 'lab.log'));
  const record: Record<string, unknown> = { command, startedAt: new Date().toISOString() };
  let session: GuestSession | undefined;
  const abort = () => void session?.guest.stop();
  o.signal?.addEventListener('abort', abort, { once: true });
  try {
    const { built, img } = await prepareArtifacts(o, extra, { config, reporter: o.reporter, dir, signal: o.signal });
    const spec = await launchSpec(config, { bzImage: built.build.bzImage, image: img.image.path }, { flavor: o.flavor, append: o.append, interactive: true });
    session = await startSession({ ...spec, consoleLog: join(dir, 'console.log'), reporter: o.reporter, signal: o.signal });
    session.shell.transcript = join(dir, 'guest-commands.log');
    Object.assign(record, {
      release: session.release,
      accel: spec.accel.accel,
      bootToReadyMs: session.readyMs,
      sshReadyMs: session.sshReadyMs,
      token: session.token,
      sshPort: session.sshPort,
      ...(session.restoredFrom ? { restoredFrom: session.restoredFrom } : {}),
      ...(session.savedAs ? { savedAs: session.savedAs } : {}),
      qemu: formatCommand('qemu-system-x86_64', qemuArgs(session.guest.config)),
    });
    o.reporter.stage('exec', command);
    // the command's own output goes to the terminal from here
    o.reporter.close();
    const s = session;
    // the user's own command: no timeout of the lab's (Ctrl-C ends it)
    const r = await s.shell.exec(command, { allowFailure: true, keepStdout: false, passThrough: { stdout, stderr }, timeoutMs: Infinity }).catch(async (e: unknown) => {
      if (!isLabError(e) || e.code !== 'GUEST_LOST') throw e;
      // give the console a moment to carry the rest of the report
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const first = s.guest.kernelErrors[0]?.line.trim() ?? 'no kernel error on the console';
      stderr.write(`lab: the guest died under the command: ${first} (console: ${join(dir, 'console.log')})\n`);
      return { exitCode: GUEST_DIED };
    });
    record.exitCode = r.exitCode;
    return { exitCode: r.exitCode, resultsDir: dir };
  } finally {
    o.signal?.removeEventListener('abort', abort);
    if (session) record.kernelErrors = await session.close();
    record.finishedAt = new Date().toISOString();
    await writeFiles([jsonFile<typeof record>('exec.json')], record, dir, o.reporter);
  }
}
