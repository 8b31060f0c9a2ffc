/**
 * The one way the lab runs a host process: argv arrays only (never a shell
 * string built from input), output either captured or streamed to a log file,
 * and a failure that carries everything a person needs (command as typed,
 * cwd, exit code or signal, duration, timeout, tail of output).
 */
import { execa } from 'execa';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { InfraError, InterruptedError, type InfraErrorCode } from './errors.ts';
import { assertInside } from './files.ts';

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /**
   * Start from an empty environment instead of the lab's own: only `env`, and
   * PATH limited to the system's folders unless `env` sets it (kernel builds:
   * a toolchain in a user's folder must not change what Kconfig probes).
   */
  cleanEnv?: boolean;
  /** Write stdout to this file (not kept in memory, not in `log`); stderr is still captured for the error. */
  stdoutFile?: string;
  /** Append stdout and stderr to this file instead of keeping them in memory. */
  log?: string;
  /** Called with every output line (stdout and stderr), e.g. for progress. */
  onLine?: (line: string) => void;
  timeoutMs?: number;
  signal?: AbortSignal;
  input?: string | Buffer;
  /** Error code used when the command fails; defaults to COMMAND_FAILED. */
  errorCode?: InfraErrorCode;
  /** Exit codes that are not failures (the caller inspects `exitCode`). */
  okExitCodes?: number[];
}

interface ProcessResult {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export function formatCommand(file: string, args: readonly string[]): string {
  const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return [file, ...args].map(quote).join(' ');
}

/** An execa stdout/stderr target: every line to `onLine` (when given), then to the log file or kept in memory. */
function outputTarget(log: string | undefined, onLine: ((line: string) => void) | undefined): never {
  const tap = onLine
    ? [
        function* (line: unknown) {
          onLine(String(line));
          yield line;
        },
      ]
    : [];
  return [...tap, log ? { file: log, append: true } : 'pipe'] as never;
}

export async function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<ProcessResult> {
  const command = formatCommand(file, args);
  const started = Date.now();
  const result = await execa(file, args, {
    cwd: opts.cwd,
    env: opts.cleanEnv ? { PATH: SYSTEM_PATH, ...opts.env } : { PATH: hostPath(), ...opts.env },
    extendEnv: !opts.cleanEnv,
    timeout: opts.timeoutMs,
    cancelSignal: opts.signal,
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : undefined,
    stdout: opts.stdoutFile ? { file: opts.stdoutFile } : outputTarget(opts.log, opts.onLine),
    stderr: outputTarget(opts.log, opts.onLine),
    // a file target is not also kept in memory (a kernel tarball is 1.4 GB: past maxBuffer, execa would kill the program)
    buffer: opts.stdoutFile ? { stdout: false } : true,
    reject: false,
    stripFinalNewline: true,
  });
  const durationMs = Date.now() - started;
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  if (result.isCanceled) throw new InterruptedError('abort');
  const ok = !result.failed || (result.exitCode !== undefined && (opts.okExitCodes ?? []).includes(result.exitCode));
  if (!ok) {
    const tail = opts.log ? await logTail(opts.log) : tailLines(`${stdout}\n${stderr}`, 30);
    const why = result.timedOut
      ? `timed out after ${opts.timeoutMs} ms`
      : result.signal
        ? `killed by ${result.signal}`
        : result.exitCode === undefined
          ? `could not start: ${result.originalMessage ?? result.shortMessage}`
          : `exited with code ${result.exitCode}`;
    // what the program said last is the error's cause: in the message, not only in the context
    const said = (opts.log ? tail : opts.stdoutFile ? stderr : stderr || stdout).split('\n').map((l) => l.trim()).filter(Boolean).slice(-3);
    throw new InfraError(opts.errorCode ?? 'COMMAND_FAILED', `${command} ${why}${said.length ? `: ${said.join(' / ')}` : ''}`, {
      command,
      cwd: opts.cwd ?? process.cwd(),
      exitCode: result.exitCode,
      signal: result.signal,
      timedOut: result.timedOut,
      durationMs,
      log: opts.log,
      outputTail: tail,
    });
  }
  return { command, exitCode: result.exitCode ?? 0, stdout, stderr, durationMs };
}

export function tailLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

async function logTail(path: string): Promise<string> {
  try {
    return tailLines(await readFile(path, 'utf8'), 30);
  } catch {
    return '';
  }
}

/** The system's program folders, in Debian's order (as sudo's secure_path): a kernel build's whole PATH. */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The lab's PATH for the programs it runs: the user's, then whichever system
 * folders it lacks. A user's PATH often has no sbin folder, where Debian puts
 * mkfs.ext4, depmod and chroot.
 */
export function hostPath(path = process.env.PATH ?? ''): string {
  const dirs = path.split(delimiter).filter(Boolean);
  return [...dirs, ...SYSTEM_PATH.split(':').filter((d) => !dirs.includes(d))].join(delimiter);
}

/** Where `file` would be run from (a path as it is, else the first executable match on the lab's PATH), or undefined. */
export async function which(file: string, path = hostPath()): Promise<string | undefined> {
  const candidates = file.includes('/') ? [file] : path.split(delimiter).filter(isAbsolute).map((d) => join(d, file));
  return candidates.find((c) => {
    try {
      accessSync(c, constants.X_OK);
      return statSync(c).isFile();
    } catch {
      return false;
    }
  });
}

/** Start a process that outlives the lab (a slow clean-up): no output, never waited for. */
function startDetached(file: string, args: readonly string[]): void {
  execa(file, args, { env: { PATH: hostPath() }, detached: true, stdio: 'ignore', cleanup: false, reject: false }).unref();
}

/**
 * Move a folder out of the way at once and delete it in the background:
 * tens of thousands of files took minutes on this machine's disk, which no
 * one should wait for. `trash` must be on the same file system; both must
 * lie inside `root` (the cache).
 */
export async function removeInBackground(root: string, path: string, trash: string): Promise<void> {
  assertInside(root, path);
  assertInside(root, trash);
  if (!existsSync(path)) return;
  await mkdir(dirname(trash), { recursive: true });
  await rename(path, trash);
  startDetached('rm', ['-rf', trash]);
}

export interface LongProcess {
  pid: number | undefined;
  command: string;
  /** Resolves when the process ends, never rejects. */
  exited: Promise<{ exitCode?: number; signal?: string }>;
  kill(signal?: NodeJS.Signals): void;
  /** Write to its standard input (started with `input: true`). */
  write(text: string): void;
}

/**
 * Start a long-running process (QEMU): output lines go to `onLine` and to the
 * log file; the caller owns its lifetime and must kill it.
 */
/**
 * A long-running program. With `dieWithParent`, it is started under `setpriv --pdeathsig KILL` (util-linux):
 * the kernel kills it when the lab's process ends in any way, kill -9 and the OOM killer included, which no
 * handler of the lab's own can catch (a QEMU left behind kept its guest, overlay and port).
 */
export function start(file: string, args: readonly string[], opts: { log: string; onLine: (line: string) => void; input?: boolean; dieWithParent?: boolean }): LongProcess {
  const [program, argv] = opts.dieWithParent ? ['setpriv', ['--pdeathsig', 'KILL', '--', file, ...args]] : [file, args];
  const child = execa(program, argv, {
    env: { PATH: hostPath() },
    stdin: opts.input ? 'pipe' : 'ignore',
    stdout: outputTarget(opts.log, opts.onLine),
    stderr: outputTarget(opts.log, opts.onLine),
    reject: false,
    cleanup: true,
  });
  return {
    pid: child.pid,
    command: formatCommand(file, args),
    exited: child.then(
      (r) => ({ exitCode: r.exitCode, signal: r.signal }),
      () => ({}),
    ),
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
    write: (text) => {
      child.stdin?.write(text);
    },
  };
}
