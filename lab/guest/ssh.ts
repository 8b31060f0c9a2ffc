/**
 * Guest commands over SSH (ssh2), on two transports behind GuestShell.exec:
 * the shared long-lived shell, where each command is framed by end markers
 * that carry its status (lab/guest/protocol/framing.ts), and an SSH channel
 * of the command's own, where the status comes in band as the last line of
 * stderr (lab/guest/protocol/status.ts).
 * Output is kept in bounded memory (the head and tail of each stream) and can
 * be logged whole to a file. Connecting retries transient failures (p-retry)
 * for a bounded time; the guest that answers must carry this boot's token,
 * so a stale QEMU on the same port is never driven.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import pRetry from 'p-retry';
import ssh2, { type Client, type ClientChannel } from 'ssh2';
import { BoundedBuffer, LineSplitter } from '../core/bounded.ts';
import { InfraError, isLabError } from '../core/errors.ts';
import { tailLines } from '../core/proc.ts';
import { EndMarker, framedCommand } from './protocol/framing.ts';
import { gzippedWithInBandStatus, inflate, InBandStatus, MAX_COMMAND_BYTES, sourcedCommand, withInBandStatus } from './protocol/status.ts';

export interface ExecResult {
  command: string;
  exitCode: number;
  signal?: string;
  /** Kept in memory: all of it, or its first and last KEPT_STDOUT bytes around a line saying what was left out. */
  stdout: string;
  stderr: string;
  /** Bytes the command wrote to stdout, kept or not. */
  stdoutBytes: number;
  /** stdout was longer than what is kept: the middle is left out (the log file, when given, has it whole). */
  truncated?: true;
  durationMs: number;
}

/**
 * How much of a command's stdout stays in memory: its first and last 8 MiB.
 * A capture pattern sees those; the middle of a longer output is only in the
 * log file. stderr keeps its first and last 512 KiB.
 */
export const KEPT_STDOUT = { head: 8 << 20, tail: 8 << 20 };
const KEPT_STDERR = { head: 512 << 10, tail: 512 << 10 };

/** Where a transport delivers a command's output as it arrives (stderr without any framing or status of the transport's). */
interface CommandIo {
  stdout: (d: Buffer) => void;
  stderr: (d: Buffer) => void;
}

/**
 * How one guest command runs and gives its status back: on the shared framed
 * shell (FramedShell), or on an SSH channel of its own (OwnChannel). Either
 * delivers the command's own output to `io` and rejects with `timedOut()`
 * after the timeout, or GUEST_LOST when the guest goes.
 */
interface Transport {
  run(command: string, io: CommandIo, o: { timeoutMs: number; timedOut: () => Error }): Promise<{ code: number; signal?: string }>;
}

/** A guest command that names no timeout gets this one: a hung command must end, with its timeout in the error. */
const DEFAULT_GUEST_COMMAND_TIMEOUT_MS = 10 * 60_000;

interface ExecOptions {
  /** Default: the shell's commandTimeoutMs (DEFAULT_GUEST_COMMAND_TIMEOUT_MS); Infinity: none (a user's own command in lab exec, ended by Ctrl-C). */
  timeoutMs?: number;
  input?: string | Buffer;
  /** Do not throw on a non-zero exit status. */
  allowFailure?: boolean;
  /** Each line of stdout as it arrives (a long-running command such as bpftrace, or a dump too large to keep). */
  onLine?: (line: string) => void;
  /** stdout and stderr passed through as they arrive (lab exec). */
  passThrough?: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };
  /** Keep stdout in the result (default true; false for a dump that is only streamed). */
  keepStdout?: boolean;
  /** stdout and stderr, whole, written to this file as they arrive (a step's log). */
  logFile?: string;
  /**
   * stdout crosses gzip'ed (gzip -1 in the guest, inflated here; everything
   * else is unchanged): for a large, repetitive output such as the page_owner
   * dump, whose 20 MB otherwise cost the guest more time in dropbear and the
   * emulated network than the kernel spends writing them.
   */
  compress?: boolean;
  /**
   * Run on a channel of its own rather than on the shared shell: for a
   * command that runs beside the others (bpftrace, for the guest's life).
   * Commands with input, passed through or compressed always do.
   */
  ownChannel?: boolean;
}

export interface InteractiveOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** The TERM the guest's shell gets. */
  term: string;
  cols: number;
  rows: number;
  onOutput?: (chunk: Buffer) => void;
  onResize?: (listener: (rows: number, cols: number) => void) => () => void;
}

/** How much of a command's output the transcript keeps. */
const TRANSCRIPT_OUTPUT_BYTES = 64 * 1024;

export class GuestShell {
  /** Every command run through this shell is appended here (the results folder's guest-commands.log). */
  transcript?: string;
  /** uname -r of the guest, read when connecting. */
  release = '';
  /** The timeout of a command that names none. */
  commandTimeoutMs = DEFAULT_GUEST_COMMAND_TIMEOUT_MS;

  private framed?: FramedShell;
  private opening = false;

  private constructor(private readonly client: Client, readonly port: number) {}

  static async connect(opts: { port: number; privateKey: string; token: string; timeoutMs: number; signal?: AbortSignal }): Promise<GuestShell> {
    const deadline = Date.now() + opts.timeoutMs;
    let attempts = 0;
    const client = await pRetry(
      () => {
        attempts++;
        return connectOnce(opts.port, opts.privateKey, Math.max(1000, Math.min(15_000, deadline - Date.now())), opts.signal);
      },
      {
        retries: 1000,
        minTimeout: 250,
        maxTimeout: 2000,
        // Ctrl-C: the guest is being stopped, no use waiting for it
        shouldRetry: () => Date.now() < deadline && !opts.signal?.aborted,
      },
    ).catch((e: Error) => {
      throw new InfraError('SSH_CONNECT_FAILED', `could not open SSH to 127.0.0.1:${opts.port} after ${attempts} attempts: ${e.message}`, {
        port: opts.port,
      });
    });
    const shell = new GuestShell(client, opts.port);
    // the token this guest was given (by lab-init from the kernel command line, or on the serial
    // line after a restore) and its release, in one round trip
    // (on a channel of its own: a one-command session such as lab exec never pays for the shared shell)
    // (shell builtins only: a process started in a guest just restored under TCG is a cold fork and exec)
    const id = await shell.exec('read -r t < /run/lab.token; read -r r < /proc/sys/kernel/osrelease; echo "token=$t"; echo "$r"', {
      allowFailure: true,
      ownChannel: true,
    });
    const [tokenLine = '', release = ''] = id.stdout.split('\n');
    if (tokenLine !== `token=${opts.token}`) {
      shell.close();
      throw new InfraError('WRONG_GUEST', `the guest on 127.0.0.1:${opts.port} is not the one just booted (token mismatch)`, {
        port: opts.port,
      });
    }
    shell.release = release.trim();
    return shell;
  }

  /**
   * The one way to run a guest command: through the guest's shell, with its
   * exit status reported in band (and the channel's as a fallback), a
   * timeout, output kept (bounded: KEPT_STDOUT), logged whole to a file,
   * streamed by line or passed through, and a line in the transcript. Throws
   * GUEST_COMMAND_FAILED on a non-zero exit unless allowed,
   * GUEST_COMMAND_TIMEOUT, or GUEST_LOST when the channel or the connection
   * dies without a status. Runs on the shared framed shell when it is idle
   * and the command needs nothing a channel of its own gives (input, gzip,
   * pass-through), else on a channel of its own.
   */
  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const opts = { ...options, timeoutMs: options.timeoutMs ?? this.commandTimeoutMs };
    const started = Date.now();
    const keep = opts.keepStdout ?? true;
    const out = new BoundedBuffer(keep ? KEPT_STDOUT : { head: TRANSCRIPT_OUTPUT_BYTES, tail: 0 });
    const err = new BoundedBuffer(KEPT_STDERR);
    const lines = opts.onLine ? new LineSplitter(opts.onLine) : undefined;
    const log = opts.logFile ? createWriteStream(opts.logFile) : undefined;
    // a log that cannot be written (no space, a folder gone) fails the command after it ran, naming the file
    let logError: Error | undefined;
    log?.on('error', (e: Error) => (logError ??= e));
    const io: CommandIo = {
      stdout: (d) => {
        out.push(d);
        log?.write(d);
        opts.passThrough?.stdout.write(d);
        lines?.push(d);
      },
      stderr: (d) => {
        err.push(d);
        log?.write(d);
        opts.passThrough?.stderr.write(d);
      },
    };
    const timedOut = () =>
      new InfraError('GUEST_COMMAND_TIMEOUT', `guest command timed out after ${opts.timeoutMs / 1000} s (its timeout): ${command}`, {
        command,
        timeoutMs: opts.timeoutMs,
        outputTail: tailLines(`${out.text()}${err.text()}`, 20),
      });
    let result: ExecResult | undefined;
    let failure: Error | undefined;
    try {
      const framed = opts.input === undefined && !opts.passThrough && !opts.compress && !opts.ownChannel ? await this.idleFramedShell() : undefined;
      const transport: Transport = framed ?? new OwnChannel((c) => this.channel(c), (file, text) => this.exec(`cat > ${file}`, { input: text, timeoutMs: opts.timeoutMs }), opts);
      const status = await transport.run(command, io, { timeoutMs: opts.timeoutMs, timedOut });
      lines?.end();
      result = {
        command,
        exitCode: status.code,
        signal: status.signal,
        stdout: keep ? out.text(opts.logFile) : '',
        stderr: err.text(opts.logFile),
        stdoutBytes: out.total,
        ...(keep && out.omitted ? { truncated: true } : {}),
        durationMs: Date.now() - started,
      };
    } catch (e) {
      failure = e as Error;
    }
    if (log && !logError) await new Promise<void>((resolve) => log.end(resolve));
    if (logError && !failure) failure = new InfraError('RESULTS_WRITE_FAILED', `could not write the output of ${JSON.stringify(command)} to ${opts.logFile}: ${logError.message}`, { command, path: opts.logFile });
    await this.record(command, result, failure, out.start(TRANSCRIPT_OUTPUT_BYTES), out.total);
    if (failure) throw failure;
    if (result!.exitCode !== 0 && !opts.allowFailure) {
      throw new InfraError('GUEST_COMMAND_FAILED', `guest command exited with ${result!.exitCode}: ${command}`, {
        command,
        exitCode: result!.exitCode,
        outputTail: tailLines(`${result!.stdout}\n${result!.stderr}`, 20),
      });
    }
    return result!;
  }

  /**
   * An interactive login shell on a pseudo-terminal (`lab shell`): `input`
   * goes to the guest byte for byte (Ctrl-C included: the guest's terminal
   * turns it into SIGINT), the pty's output to `output` and to `onOutput` (the
   * session transcript). `onResize` registers a listener the caller calls with
   * the new window size; it returns its own removal. Resolves with the shell's
   * exit status; throws GUEST_LOST when the connection dies without one.
   */
  async interactive(o: InteractiveOptions): Promise<number> {
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      this.client.shell({ term: o.term, cols: o.cols, rows: o.rows }, (e, ch) => (e ? reject(lost('an interactive shell', e)) : resolve(ch)));
    });
    const forward = (d: Buffer) => {
      o.output.write(d);
      o.onOutput?.(d);
    };
    channel.on('data', forward);
    channel.stderr.on('data', forward);
    const toGuest = (d: Buffer) => channel.write(d);
    o.input.on('data', toGuest);
    o.input.resume();
    const stopResize = o.onResize?.((rows, cols) => channel.setWindow(rows, cols, 0, 0));
    try {
      return await new Promise<number>((resolve, reject) => {
        let code: number | undefined;
        channel.on('exit', (c: number | null) => (code = c ?? undefined));
        channel.on('close', () => (code === undefined ? reject(lost('an interactive shell', new Error('the shell ended without an exit status'))) : resolve(code)));
      });
    } finally {
      o.input.off('data', toGuest);
      o.input.pause();
      stopResize?.();
    }
  }

  close(): void {
    this.framed?.close();
    this.client.end();
  }

  /**
   * The long-lived shell commands are framed on (lab/guest/protocol/framing.ts), opened
   * on first use and again after it closed; undefined while another command
   * runs on it (that one then gets a channel of its own).
   */
  private async idleFramedShell(): Promise<FramedShell | undefined> {
    // claimed in the same step as it is found idle: two commands issued at once never share it
    if (this.framed && !this.framed.closed) return this.framed.claim() ? this.framed : undefined;
    if (this.opening) return undefined;
    this.opening = true;
    try {
      // the user's login shell, as dropbear runs an exec request's command in
      this.framed = new FramedShell(await this.channel('exec "${SHELL:-/bin/sh}"'));
      return this.framed.claim() ? this.framed : undefined;
    } finally {
      this.opening = false;
    }
  }

  private async record(command: string, r: ExecResult | undefined, failure: Error | undefined, stdout: string, stdoutBytes: number): Promise<void> {
    if (!this.transcript) return;
    const cut = stdoutBytes > Buffer.byteLength(stdout) ? `[... ${stdoutBytes - Buffer.byteLength(stdout)} more bytes of stdout not kept here]\n` : '';
    const body = r
      ? `${stdout}${stdout && !stdout.endsWith('\n') ? '\n' : ''}${cut}${r.stderr ? `[stderr]\n${r.stderr}${r.stderr.endsWith('\n') ? '' : '\n'}` : ''}[exit ${r.exitCode}, ${r.durationMs} ms]\n`
      : `!! ${failure!.message}\n`;
    await appendFile(this.transcript, `$ ${command}\n${body}`).catch(() => undefined);
  }

  private channel(command: string): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      this.client.exec(command, (e, ch) => (e ? reject(lost(command, e)) : resolve(ch)));
    });
  }
}

/** The second transport: a channel of the command's own (input, gzip'ed output, pass-through, or beside the shared shell's command). */
class OwnChannel implements Transport {
  constructor(
    private readonly open: (command: string) => Promise<ClientChannel>,
    /** Writes a file in the guest (a command too long for one exec request goes there first). */
    private readonly upload: (file: string, text: string) => Promise<unknown>,
    private readonly o: { input?: string | Buffer; compress?: boolean },
  ) {}

  /**
   * The command on an SSH channel of its own, its
   * status printed in band as the last line of stderr (held back from `io`
   * until the channel closes), stdout inflated when it crosses gzip'ed, and
   * a command too long for one exec request sent as a file first.
   */
  async run(command: string, io: CommandIo, opts: { timeoutMs: number; timedOut: () => Error }): Promise<{ code: number; signal?: string }> {
    const wrap = (c: string) => (this.o.compress ? gzippedWithInBandStatus(c) : withInBandStatus(c));
    let wire = wrap(command);
    if (Buffer.byteLength(wire) > MAX_COMMAND_BYTES) {
      // too long for one exec request: the command goes to a file first, and the shell sources it
      const file = `/tmp/lab-command-${randomBytes(6).toString('hex')}`;
      await this.upload(file, command);
      wire = wrap(sourcedCommand(file));
    }
    const channel = await this.open(wire);
    const inflated = this.o.compress ? inflate(channel, io.stdout) : undefined;
    // handled here so that a command that times out (and is not awaited further) leaves no unhandled rejection
    inflated?.catch(() => undefined);
    if (!inflated) channel.on('data', io.stdout);
    // the status line comes last on stderr: its length is held back until the channel closes
    const inBandStatus = new InBandStatus();
    channel.stderr.on('data', (d: Buffer) => {
      const certain = inBandStatus.push(d);
      if (certain.length) io.stderr(certain);
    });
    if (this.o.input !== undefined) channel.end(this.o.input);
    else channel.end();
    const status = await new Promise<{ code: number; signal?: string }>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      if (Number.isFinite(opts.timeoutMs)) {
        timer = setTimeout(() => {
          channel.close();
          reject(opts.timedOut());
        }, opts.timeoutMs);
      }
      let exit: { code: number; signal?: string } | undefined;
      channel.on('exit', (code: number | null, signal?: string) => {
        exit = { code: code ?? 128, signal: signal ?? undefined };
      });
      channel.once('close', () => {
        clearTimeout(timer);
        // The channel's own exit status is the wrapper's (printf's); the command's is the one printed
        // in band. It also survives dropbear closing a channel without the exit-status message, seen
        // once in a few thousand commands with the guest fine. Without it (killed), the channel's.
        const inBand = inBandStatus.end();
        if (inBand.stderr) io.stderr(Buffer.from(inBand.stderr));
        if (inBand.code !== undefined) resolve({ code: inBand.code, signal: exit?.signal });
        else if (exit) resolve(exit);
        else reject(lost(command, new Error('the channel closed without an exit status')));
      });
      channel.on('error', (e: Error) => {
        clearTimeout(timer);
        reject(lost(command, e));
      });
    });
    await inflated?.catch((e: Error) => {
      throw new InfraError('GUEST_OUTPUT_UNREADABLE', `the gzip'ed output of ${JSON.stringify(command)} could not be inflated (${e.message}); the guest needs gzip on its PATH`, {
        command,
      });
    });
    return status;
  }
}

/** One shell on one channel, running framed commands one at a time (lab/guest/protocol/framing.ts). */
class FramedShell implements Transport {
  closed = false;
  /** Taken for a command about to run (claim), until run gives it up. */
  private claimed = false;
  private current?: {
    out: EndMarker;
    err: EndMarker;
    io: CommandIo;
    done: (e: Error | undefined, code?: number) => void;
  };

  constructor(private readonly ch: ClientChannel) {
    ch.on('data', (d: Buffer) => this.take(d, 'out'));
    ch.stderr.on('data', (d: Buffer) => this.take(d, 'err'));
    const end = (e: Error) => {
      this.closed = true;
      const c = this.current;
      if (!c) return;
      // what each marker held back, in case it was the command's last output
      const out = c.out.rest();
      const err = c.err.rest();
      if (out.length) c.io.stdout(out);
      if (err.length) c.io.stderr(err);
      c.done(e);
    };
    ch.once('close', () => end(new Error('the shell the command ran in ended before it did')));
    ch.on('error', end);
  }

  /** Take the shell for one command; false while another has it. */
  claim(): boolean {
    if (this.closed || this.claimed || this.current) return false;
    this.claimed = true;
    return true;
  }

  /** After claim: resolves with the command's status; rejects with GUEST_LOST when the channel goes, or `timedOut()` (after closing it). */
  async run(command: string, io: CommandIo, o: { timeoutMs: number; timedOut: () => Error }): Promise<{ code: number }> {
    return { code: await this.runFramed(command, io, o.timeoutMs, o.timedOut) };
  }

  private runFramed(command: string, io: CommandIo, timeoutMs: number | undefined, timedOut: () => Error): Promise<number> {
    this.claimed = false;
    const nonce = randomBytes(8).toString('hex');
    return new Promise<number>((resolve, reject) => {
      const timer = timeoutMs !== undefined && Number.isFinite(timeoutMs)
        ? setTimeout(() => {
            // what the markers held back is the command's latest output: the error's tail shows it
            const c = this.current;
            if (c) {
              const out = c.out.rest();
              const err = c.err.rest();
              if (out.length) c.io.stdout(out);
              if (err.length) c.io.stderr(err);
            }
            c?.done(timedOut());
            // the command may still run: this shell is not used again
            this.close();
          }, timeoutMs)
        : undefined;
      this.current = {
        out: new EndMarker(nonce, true),
        err: new EndMarker(nonce, false),
        io,
        done: (e, code) => {
          clearTimeout(timer);
          this.current = undefined;
          if (e) reject(isLabError(e) ? e : lost(command, e));
          else resolve(code!);
        },
      };
      if (this.closed) return this.current.done(new Error('the shell had ended'));
      this.ch.write(framedCommand(command, nonce));
    });
  }

  close(): void {
    this.closed = true;
    this.ch.close();
  }

  private take(d: Buffer, stream: 'out' | 'err'): void {
    // output with no command running: a background process of an earlier one, not anybody's
    const c = this.current;
    if (!c) return;
    const data = (stream === 'out' ? c.out : c.err).push(d);
    if (data.length) c.io[stream === 'out' ? 'stdout' : 'stderr'](data);
    if (c.out.status !== undefined && c.err.status !== undefined) c.done(undefined, c.out.status);
  }
}

function lost(command: string, e: Error): InfraError {
  return new InfraError('GUEST_LOST', `lost the guest while running ${JSON.stringify(command)}: ${e.message}`, { command });
}

function connectOnce(port: number, privateKey: string, readyTimeout: number, signal?: AbortSignal): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      c.end();
      reject(e);
    };
    const onAbort = () => fail(new Error('interrupted'));
    c.once('ready', () => {
      if (settled) return void c.end();
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      resolve(c);
    });
    // A listener for the client's whole life: ssh2 can emit a second error for one failure (a reset
    // socket errors, then its close says "Connection lost before handshake"), and an error emitted with
    // no listener ends the process. After 'ready', a lost connection reaches the commands as GUEST_LOST
    // through their channels closing, so later errors need nothing more here.
    c.on('error', fail);
    // A server that goes away after its identification line (a guest stopped during the key exchange)
    // makes ssh2 emit no error at all, only a close: without this the attempt would never settle.
    c.once('close', () => fail(new Error('the connection closed before SSH was ready')));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    c.connect({ host: '127.0.0.1', port, username: 'root', privateKey, readyTimeout, keepaliveInterval: 5000, keepaliveCountMax: 6 });
  });
}
