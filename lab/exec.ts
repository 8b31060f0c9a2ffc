/**
 * `lab exec -- COMMAND`: boot the lab kernel and image, run one command in the
 * guest with its stdout and stderr passed through, and exit with its exit
 * status, as virtme-ng does. A guest that dies under the command (a panic,
 * say) gives 255. The console and the logs still go to results/.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isLabError } from './core/errors.ts';
import { kernelLabel, resolvePaths, runId, type LabPaths } from './core/paths.ts';
import { formatCommand } from './core/proc.ts';
import type { Reporter } from './core/reporter.ts';
import { ensureKey } from './guest/keys.ts';
import { probeAccel } from './guest/qemu.ts';
import { startSession, type GuestSession } from './guest/session.ts';
import { userFragments, type KernelInput } from './kernel/inputs.ts';
import { prepareArtifacts } from './pipeline.ts';

export const GUEST_DIED = 255;

export interface ExecOptions extends KernelInput {
  /** One argument: a shell command line. Several: an argv, quoted for the guest's shell. */
  command: string[];
  reporter: Reporter;
  signal?: AbortSignal;
  paths?: LabPaths;
  memoryMb?: number;
  cpus?: number;
  append?: string[];
}

export function guestCommandLine(argv: string[]): string {
  return argv.length === 1 ? argv[0]! : formatCommand(argv[0]!, argv.slice(1));
}

export async function runExec(o: ExecOptions): Promise<{ exitCode: number; resultsDir: string }> {
  const paths = o.paths ?? resolvePaths();
  const extra = await userFragments(o);
  const command = guestCommandLine(o.command);
  const dir = join(paths.results, runId(`exec-${kernelLabel(o)}`));
  await mkdir(dir, { recursive: true });
  o.reporter.attachLog(join(dir, 'lab.log'));
  const record: Record<string, unknown> = { command, startedAt: new Date().toISOString() };
  let session: GuestSession | undefined;
  const abort = () => void session?.guest.stop();
  o.signal?.addEventListener('abort', abort, { once: true });
  try {
    const { built, img } = await prepareArtifacts(o, extra, { paths, reporter: o.reporter, dir, signal: o.signal });
    const accel = await probeAccel();
    session = await startSession({
      bzImage: built.build.bzImage,
      image: img.image.path,
      accel,
      key: await ensureKey(paths.cache),
      consoleLog: join(dir, 'console.log'),
      memoryMb: o.memoryMb ?? 1024,
      cpus: o.cpus ?? 2,
      append: o.append ?? [],
      reporter: o.reporter,
      signal: o.signal,
    });
    Object.assign(record, { release: session.release, accel: accel.accel, bootToReadyMs: session.readyMs, sshReadyMs: session.sshReadyMs });
    o.reporter.stage('exec', command);
    const r = await session.shell.stream(command, process.stdout, process.stderr).catch((e: unknown) => {
      if (!isLabError(e) || e.code !== 'GUEST_LOST') throw e;
      o.reporter.stage('exec', `the guest died under the command (console: ${join(dir, 'console.log')})`);
      return { exitCode: GUEST_DIED };
    });
    record.exitCode = r.exitCode;
    return { exitCode: r.exitCode, resultsDir: dir };
  } finally {
    o.signal?.removeEventListener('abort', abort);
    if (session) record.kernelErrors = await session.close();
    record.finishedAt = new Date().toISOString();
    await writeFile(join(dir, 'exec.json'), `${JSON.stringify(record, null, 2)}\n`);
  }
}
