/**
 * Guest commands batched into one round trip: each command in its own
 * subshell (as GuestShell.exec runs one), a marker on stderr naming the one
 * that failed and its status (batchScript writes it, batchFailure reads it),
 * and the batch's stdout cut into named sections (section writes the line
 * that starts one, sections reads them). execBatch runs a batch and reads
 * both back. The transcript shows a batch as one command.
 */
import { InfraError } from '../../core/errors.ts';
import { tailLines } from '../../core/proc.ts';
import type { GuestShell } from '../ssh.ts';

const FAILED = '__lab_command_failed';
const SECTION = '--- lab: ';

/** The guest command that starts section `name` of a batch's stdout (a name of word characters). */
export const section = (name: string) => `echo '${SECTION}${name}'`;

/**
 * A batch's stdout by section: what came after each section() line under its
 * name, what came before the first under ''. Each line is given back with a
 * newline, so output that ends in one ends its last section with an empty line.
 */
export function sections(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let name = '';
  for (const line of text.split('\n')) {
    const m = /^--- lab: (\w+)$/.exec(line);
    if (m) name = m[1]!;
    else out[name] = `${out[name] ?? ''}${line}\n`;
  }
  return out;
}

/**
 * Commands in one round trip, stopping at the first that fails unless
 * failures are allowed: which command failed, and its status, come back in
 * band on stderr. Without allowFailure the script exits with the failed
 * command's status, so what follows it runs only when every command succeeded.
 */
export function batchScript(commands: readonly string[], allowFailure = false): string {
  return commands.map((c, i) => `(\n${c}\n) || { s=$?; echo "${FAILED} ${i} $s" >&2; ${allowFailure ? '' : 'exit $s; '}}`).join('\n');
}

interface BatchFailure {
  command: string;
  exitCode: number;
}

/**
 * Every failure the batch's stderr reports, in order: the command's index and
 * status. (A command whose stderr does not end in a newline leaves the marker
 * at the end of its last line: it is found there too.)
 */
function failures(stderr: string): { index: number; exitCode: number }[] {
  return [...stderr.matchAll(new RegExp(`${FAILED} (\\d+) (\\d+)$`, 'gm'))].map((m) => ({ index: Number(m[1]), exitCode: Number(m[2]) }));
}

/** The command of `commands` that failed first in a batch, from the batch's stderr; undefined when none did. */
export function batchFailure(commands: readonly string[], stderr: string): BatchFailure | undefined {
  const first = failures(stderr)[0];
  return first ? { command: commands[first.index]!, exitCode: first.exitCode } : undefined;
}

/** GUEST_COMMAND_FAILED for one command of a batch, with the batch's output tail. */
export function batchError(r: { stdout: string; stderr: string }, failed: BatchFailure): InfraError {
  return new InfraError('GUEST_COMMAND_FAILED', `guest command exited with ${failed.exitCode}: ${failed.command}`, {
    command: failed.command,
    exitCode: failed.exitCode,
    outputTail: tailLines(`${r.stdout}\n${r.stderr}`, 20),
  });
}

interface BatchOptions {
  /** Each command's timeout: the batch has it once per command, and once more for `then`. */
  timeoutMs: number;
  /** Run every command whatever fails, and throw for none (a teardown): the result says which failed. */
  allowFailure?: boolean;
  /**
   * Run after the commands, in the same round trip (reads, each after its
   * section()); without allowFailure only when every command succeeded, and
   * a failure of its own throws, naming it.
   */
  then?: string;
}

interface BatchResult {
  /** Each command's exit status, in order; undefined for one that did not run (after the one that failed, without allowFailure). */
  statuses: (number | undefined)[];
  /** The first command that failed, and its status. */
  failed?: BatchFailure;
  /** The batch's stdout by section (sections()). */
  sections: Record<string, string>;
  stdout: string;
  stderr: string;
  /** The batch's own status: `then`'s, or the failed command's when the batch stopped there. */
  exitCode: number;
}

/**
 * Run `commands` (then `then`) as one guest command. Throws GUEST_COMMAND_FAILED
 * naming the command that failed (or `then`) unless failures are allowed, and
 * whatever GuestShell.exec throws (a timeout, a lost guest). No commands and
 * nothing after them: no round trip.
 */
export async function execBatch(shell: GuestShell, commands: readonly string[], opts: BatchOptions): Promise<BatchResult> {
  if (!commands.length && opts.then === undefined) return { statuses: [], sections: {}, stdout: '', stderr: '', exitCode: 0 };
  const script = [...(commands.length ? [batchScript(commands, opts.allowFailure)] : []), ...(opts.then === undefined ? [] : [opts.then])].join('\n');
  const r = await shell.exec(script, { timeoutMs: opts.timeoutMs * (commands.length + (opts.then === undefined ? 0 : 1)), allowFailure: true });
  const failedAt = failures(r.stderr);
  const stoppedAt = opts.allowFailure ? undefined : failedAt[0]?.index;
  const statuses = commands.map((_, i) => (stoppedAt !== undefined && i > stoppedAt ? undefined : (failedAt.find((f) => f.index === i)?.exitCode ?? 0)));
  const failed = batchFailure(commands, r.stderr);
  if (!opts.allowFailure) {
    if (failed) throw batchError(r, failed);
    if (r.exitCode !== 0) throw batchError(r, { command: opts.then ?? script, exitCode: r.exitCode });
  }
  return { statuses, ...(failed ? { failed } : {}), sections: sections(r.stdout), stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
}
