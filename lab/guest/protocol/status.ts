/**
 * The in-band exit status of a command run on an SSH channel of its own: the
 * command in a subshell, then its status printed as the last line of stderr
 * (withInBandStatus, gzippedWithInBandStatus), and its reader on the host
 * (InBandStatus: stderr passed on as it comes, the status line split off at
 * the end). With it, a command too long for one exec request, sent as a file
 * and sourced (sourcedCommand, MAX_COMMAND_BYTES), and the inflating of a
 * gzip'ed stdout (inflate).
 */
import { createGunzip } from 'node:zlib';

/**
 * Dropbear refuses an exec request longer than its MAX_CMD_LEN (9000 bytes) by
 * closing the channel without a status, which would read as a lost guest.
 */
export const MAX_COMMAND_BYTES = 8000;

/** Run the command stored in `file` in the guest's shell, as if it had been sent whole; the file goes when it ends. */
export function sourcedCommand(file: string): string {
  return `trap 'rm -f ${file}' EXIT; . ${file}`;
}

const IN_BAND_MARK = '__lab_exit_status=';
const IN_BAND_STATUS = new RegExp(`\n${IN_BAND_MARK}(\\d+)\n$`);
/** The in-band status line is at most this long: a channel's stderr is held back this much until it closes. */
const STATUS_HOLDBACK = 40;

/**
 * The command in a subshell (so its own `exit` ends only the subshell), then
 * its status as the last line of stderr: a second channel for the exit code.
 */
export function withInBandStatus(command: string): string {
  return `(\n${command}\n); printf '\\n${IN_BAND_MARK}%d\\n' $? >&2`;
}

/**
 * The same, with stdout through gzip -1: the status still goes to stderr,
 * which is not compressed, so a failing command reads as it would without.
 */
export function gzippedWithInBandStatus(command: string): string {
  return `{ ${withInBandStatus(command)}; } | gzip -1`;
}

/** Inflate a channel's stdout into `onData`; settles when the whole stream is inflated (or is not gzip). */
export function inflate(stream: NodeJS.ReadableStream, onData: (d: Buffer) => void): Promise<void> {
  const gunzip = createGunzip();
  gunzip.on('data', onData);
  const done = new Promise<void>((resolve, reject) => {
    gunzip.once('end', resolve);
    gunzip.once('error', reject);
  });
  stream.pipe(gunzip);
  return done;
}

/** The command's own stderr, and the status it printed in band (when it got that far). */
export function splitInBandStatus(stderr: string): { stderr: string; code?: number } {
  const m = IN_BAND_STATUS.exec(stderr);
  return m ? { stderr: stderr.slice(0, m.index), code: Number(m[1]) } : { stderr };
}

/**
 * The reader of a channel's stderr whose last line is the in-band status: each
 * chunk gives back the part of the command's own stderr that is now certain
 * (all but the last STATUS_HOLDBACK bytes, which could be the status line);
 * at the channel's close, end() splits the status off what was held back.
 */
export class InBandStatus {
  private held = Buffer.alloc(0);

  push(d: Buffer): Buffer {
    this.held = Buffer.concat([this.held, d]);
    if (this.held.length <= STATUS_HOLDBACK) return Buffer.alloc(0);
    const certain = this.held.subarray(0, this.held.length - STATUS_HOLDBACK);
    this.held = Buffer.from(this.held.subarray(this.held.length - STATUS_HOLDBACK));
    return certain;
  }

  /** The rest of the command's stderr, and its status when it printed one. */
  end(): { stderr: string; code?: number } {
    return splitInBandStatus(this.held.toString());
  }
}
