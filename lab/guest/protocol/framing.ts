/**
 * Commands framed on one long-lived shell: a guest command over its own SSH
 * channel costs 150-200 ms under TCG before it does anything (dropbear forks,
 * the shell starts), and a suite runs about 80 of them. Through one shell
 * that reads commands on its stdin, the same command costs a subshell fork.
 *
 * Each command runs in a subshell, from a quoted `eval` argument, with stdin
 * from /dev/null: whatever the command is (an `exit`, an unclosed quote, a
 * `cd`), the shell that reads the next one is unchanged. After it, an end
 * marker carrying a per-command nonce is printed on stdout with the status,
 * and on stderr alone: the command is over when both have come. As in any
 * subshell, `$$` is the long-lived shell's pid: a command that kills `$$`
 * ends that shell, and reads as a lost guest.
 */

const END = '__lab_end_';

/** Single-quote a string for a POSIX shell. */
export const shQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** One line for the long-lived shell: the command, then the end markers. */
export function framedCommand(command: string, nonce: string): string {
  return `( eval ${shQuote(command)} ) < /dev/null; printf '\\n${END}${nonce} %d\\n' $?; printf '\\n${END}${nonce}\\n' >&2\n`;
}

/**
 * Finds a command's end marker in the stream it arrives on, passing
 * everything before it on as it comes (holding back only as many bytes as
 * could be the marker's start). The newline printed before the marker is the
 * framing's, not the command's, and is dropped with it.
 */
export class EndMarker {
  private held: Buffer = Buffer.alloc(0);
  private readonly prefix: Buffer;
  private readonly holdBack: number;
  /** Set once the marker has been seen: the status on stdout, `0` on stderr (which carries none). */
  status?: number;

  constructor(nonce: string, private readonly withStatus: boolean) {
    this.prefix = Buffer.from(`\n${END}${nonce}${withStatus ? ' ' : '\n'}`);
    // the prefix, up to three digits of status and the final newline
    this.holdBack = this.prefix.length + (withStatus ? 4 : 0);
  }

  /** Feed a chunk; returns the part of the command's own output that is now certain. */
  push(chunk: Buffer): Buffer {
    if (this.status !== undefined) return Buffer.alloc(0);
    const all = this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
    const at = all.indexOf(this.prefix);
    if (at >= 0) {
      if (!this.withStatus) {
        this.status = 0;
        this.held = Buffer.alloc(0);
        return all.subarray(0, at);
      }
      const rest = all.subarray(at + this.prefix.length);
      const m = /^(\d{1,3})\n/.exec(rest.toString('latin1'));
      if (m) {
        this.status = Number(m[1]);
        this.held = Buffer.alloc(0);
        return all.subarray(0, at);
      }
      // the status has not all come yet
      this.held = all.subarray(at);
      return all.subarray(0, at);
    }
    const keep = Math.min(all.length, this.holdBack);
    this.held = Buffer.from(all.subarray(all.length - keep));
    return all.subarray(0, all.length - keep);
  }

  /** What is held back when the stream ends without the marker. */
  rest(): Buffer {
    return this.held;
  }
}
