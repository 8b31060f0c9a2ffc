/**
 * Typed errors with stable codes. Every error the lab raises on purpose is a
 * LabError: its `code` is stable (tests and CI match on it), its `exitCode`
 * says which class of failure ended the run, and `context` carries what a
 * person needs to act without rerunning (file, key, command, log tail).
 */

export const ExitCode = {
  ok: 0,
  expectationFailed: 1,
  badInput: 2,
  infrastructure: 3,
  setupNeeded: 4,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * The exit code of several outcomes (the kernels of one run): the worst, and
 * the codes are in order of severity: interrupted, host set-up needed,
 * infrastructure, bad input, an expectation failed, passed.
 */
export function worstExitCode(codes: readonly ExitCode[]): ExitCode {
  return codes.reduce<ExitCode>((worst, c) => (c > worst ? c : worst), ExitCode.ok);
}

/** Codes of bad usage or input (exit 2): each code belongs to exactly one class. */
export const INPUT_ERROR_CODES = [
  'BAD_CONFIG',
  'BAD_CONFIG_FILE',
  'BAD_CONFIG_FRAGMENT',
  'BAD_DATA_FILE',
  'BAD_KCONFIG_ARG',
  'BAD_KERNEL_SPEC',
  'BAD_OPTION',
  'BAD_RANGE',
  'BAD_RESULT_FILE',
  'BAD_SCENARIO',
  'BAD_TARBALL',
  'BAD_YAML',
  'CONFIG_OPTIONS_DROPPED',
  'FILE_NOT_FOUND',
  'KERNEL_NOT_AVAILABLE',
  'NO_BISECTION_TO_RESUME',
  'NO_BUG_TO_REPORT',
  'NOT_A_GIT_TREE',
  'NOT_A_KERNEL_TREE',
  'RUNS_NOT_MERGEABLE',
  'UNKNOWN_FLAVOR',
  'UNKNOWN_REVISION',
  'UNKNOWN_SCENARIO',
] as const;

/** Codes of infrastructure failures (exit 3). */
export const INFRA_ERROR_CODES = [
  'APT_FAILED',
  'BAD_OBSERVER_OUTPUT',
  'BAD_SIGNATURE',
  'BOOT_TIMEOUT',
  'BPFTRACE_FAILED',
  'BPFTRACE_MARKER_LOST',
  'BPFTRACE_STOP_FAILED',
  'CAPTURE_FAILED',
  'CHECKSUM_MISMATCH',
  'CHECKSUM_MISSING',
  'COMMAND_FAILED',
  'DEBUGFS_READ_FAILED',
  'DIRTY_GUEST',
  'DOWNLOAD_FAILED',
  'EXTRACT_FAILED',
  'GUEST_COMMAND_FAILED',
  'GUEST_COMMAND_TIMEOUT',
  'GUEST_LOST',
  'GUEST_OUTPUT_UNREADABLE',
  'GUEST_PANIC',
  'HOST_FORWARD_FAILED',
  'IMAGE_BUILD_FAILED',
  'INTERRUPTED',
  'KERNEL_BUILD_FAILED',
  'KERNEL_CONFIG_FAILED',
  'KERNEL_NOT_CACHED',
  'LOCK_LOST',
  'MIRROR_NO_SUCH_SERIES',
  'MIRROR_UNREACHABLE',
  'MODULE_BUILD_FAILED',
  'MODULE_CONFIG_FAILED',
  'MODULE_LOAD_FAILED',
  'PATH_OUTSIDE_CACHE',
  'QEMU_EXITED',
  'QMP_FAILED',
  'RESIDENT_PROBES_FAILED',
  'RESULTS_WRITE_FAILED',
  'SNAPSHOT_FAILED',
  'SSH_CONNECT_FAILED',
  'TOOL_BUILD_FAILED',
  'UNSAFE_TEMP_DIR',
  'WRONG_GUEST',
] as const;

type InputErrorCode = (typeof INPUT_ERROR_CODES)[number];
export type InfraErrorCode = (typeof INFRA_ERROR_CODES)[number];
type ErrorCode = InputErrorCode | InfraErrorCode | 'SETUP_NEEDED' | 'INTERRUPTED';

type ErrorContext = Record<string, string | number | boolean | undefined>;

export class LabError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly exitCode: ExitCode,
    readonly context: ErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The user asked for something that does not exist or is malformed (exit 2). */
export class InputError extends LabError {
  constructor(code: InputErrorCode, message: string, context: ErrorContext = {}) {
    super(code, message, ExitCode.badInput, context);
  }
}

/** Build, boot, SSH, host tools: the lab could not do its job (exit 3). */
export class InfraError extends LabError {
  constructor(code: InfraErrorCode, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(code, message, ExitCode.infrastructure, context, options);
  }
}

/** The host lacks something only an administrator can install (exit 4). */
export class SetupNeededError extends LabError {
  constructor(message: string, context: ErrorContext = {}) {
    super('SETUP_NEEDED', message, ExitCode.setupNeeded, context);
  }
}

/** The user pressed Ctrl-C or the run was told to stop (exit 130). */
export class InterruptedError extends LabError {
  constructor(signal: string) {
    super('INTERRUPTED', `interrupted by ${signal}`, ExitCode.interrupted, { signal });
  }
}

export function isLabError(e: unknown): e is LabError {
  return e instanceof LabError;
}

/** Closest candidate by edit distance, for "did you mean" hints. */
export function didYouMean(value: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(value, c);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(value.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}
