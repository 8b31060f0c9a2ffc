/**
 * Run one scenario in a booted guest: preconditions (else SKIP), a verified
 * clean state, set-up, module and generated probes, vmstat before, the steps
 * (values captured from their output), vmstat after, the observers the
 * scenario's references need, teardown, and the guest's knobs given back.
 * Every guest command goes to the scenario's transcript; verdicts come from
 * the judge, for the scenario's expectations and the lab's cross-checks.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError, isLabError } from '../core/errors.ts';
import { tailLines } from '../core/proc.ts';
import type { Reporter } from '../core/reporter.ts';
import { kernelMatches } from '../expr/expr.ts';
import { KEPT_STDOUT, type GuestShell } from '../guest/ssh.ts';
import { labChecks } from '../judge/checks.ts';
import { judge, type Judgement } from '../judge/judge.ts';
import type { MetricRegistry } from '../metrics/registry.ts';
import { DebugfsParser, parseShowStacks, sumStackPages } from '../observe/debugfs.ts';
import { parseDmesg } from '../observe/dmesg.ts';
import { isProbed, type Hooks, type ProbeMapEntry } from '../observe/hooks.ts';
import type { Observations } from '../observe/observations.ts';
import { parsePageOrder } from '../observe/page-order.ts';
import { parseVmstat } from '../observe/vmstat.ts';
import { forComm, forWindow, parseBpftrace } from '../observe/bpftrace.ts';
import { startBpftrace, type RunningBpftrace } from '../prepare/bpftrace.ts';
import { ATTACH_TIMEOUT_MS, checkConfigured, configureCommand, type GuestObservers } from '../prepare/observers.ts';
import { generateScript } from '../prepare/probes.ts';
import type { KnownIssue, KnownIssueVersions } from './known-issues.ts';
import type { Scenario } from './load.ts';
import { GUEST_KNOBS, knobDiff, parseKnobs, readKnobsCommand, restoreKnobs, writtenKnobs, type KnobValues } from '../guest/knobs.ts';

export type ScenarioStatus = 'PASS' | 'FAIL' | 'ERROR' | 'SKIP';

export interface ScenarioResult {
  name: string;
  /** The scenario's file, as the run loaded it. */
  file?: string;
  /** 1..N with `--repeat N`, absent for a single run. */
  repetition?: number;
  status: ScenarioStatus;
  durationMs: number;
  captured: Record<string, number>;
  /** Each step's output: its log under the scenario's folder, its size, and whether memory kept only its head and tail. */
  steps?: StepOutput[];
  judgement?: Judgement;
  /** The lab's cross-checks (observers agree, nothing missed, no kernel errors). */
  checks?: Judgement;
  skipReason?: string;
  observations: Observations;
  /** Knobs the scenario left changed, written back after its teardown. */
  restored?: string[];
  /** The kernel's own report (Oops, BUG, KASAN, panic: lines and frames) when the console showed one during the scenario. */
  kernelReport?: string[];
  /** The scenario's known_issues entry the kernel report matched: the bug and its upstream fix. */
  knownIssue?: KnownIssue;
  /** The scenario's known issues and the versions the lab recorded for each (scenarios that have some). */
  knownIssues?: KnownIssueVersions[];
  /** A FAIL or ERROR on a version a known issue lists as fixed or unaffected: what came back, and why it counts. */
  regression?: string;
  error?: { code: string; message: string; context?: Record<string, unknown> };
  resultsDir: string;
}

interface StepOutput {
  name: string;
  /** Relative to the scenario's folder: steps/NN-name.log, stdout and stderr as they came. */
  log: string;
  stdoutBytes: number;
  /** Longer than KEPT_STDOUT keeps: captures saw its first and last part only. */
  truncated?: true;
}

/** A step's log file: its position and its name, reduced to characters safe in a file name. */
function stepLogName(index: number, name: string): string {
  return `${String(index + 1).padStart(2, '0')}-${name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '').slice(0, 60) || 'step'}.log`;
}

interface GuestContext {
  shell: GuestShell;
  /** uname -r of the guest. */
  release: string;
  hooks: Hooks;
  probes: ProbeMapEntry[];
  registry: MetricRegistry;
  /** The guest's knobs as booted and prepared: every scenario starts from these. */
  baseline: KnobValues;
  memoryMb: number;
  resultsDir: string;
  reporter: Reporter;
  /** The guest's module and shared bpftrace, kept across its scenarios. */
  observers: GuestObservers;
}

const DEBUGFS = '/sys/kernel/debug/page_owner';
const STACKS = '/sys/kernel/debug/page_owner_stacks/show_stacks';

/** Why a scenario cannot run on this guest, or undefined when it can. */
function unmetRequirement(scenario: Scenario, ctx: GuestContext, vmstat: Record<string, number>, present: ReadonlySet<string>): string | undefined {
  const r = scenario.requires;
  if (r.kernel && !kernelMatches(r.kernel, ctx.release)) return `kernel ${ctx.release} does not match "${r.kernel}"`;
  if (r.memory_mb && ctx.memoryMb < r.memory_mb) return `needs a guest of ${r.memory_mb} MiB, this one has ${ctx.memoryMb} MiB (--memory ${r.memory_mb})`;
  for (const event of r.hooks) {
    const p = ctx.probes.find((e) => e.event === event);
    if (!isProbed(ctx.probes, event)) return `hook "${event}" is not probeable here: ${p?.note ?? 'unknown event'}`;
  }
  for (const counter of r.vmstat) if (!(counter in vmstat)) return `/proc/vmstat has no ${counter} in this kernel`;
  for (const file of r.files) if (!present.has(file)) return `${file} does not exist in this guest`;
  return undefined;
}

/** Output sections of one batched guest command: `echo '--- lab: NAME'` starts section NAME. */
const section = (name: string) => `echo '--- lab: ${name}'`;
function sections(text: string): Record<string, string> {
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
 * Commands in one round trip (each in its own subshell, as GuestShell.exec runs one), stopping
 * at the first that fails unless failures are allowed: which command failed, and its status,
 * come back in band. The transcript shows them as one command.
 */
export function batchScript(commands: readonly string[], allowFailure = false): string {
  return commands.map((c, i) => `(\n${c}\n) || { s=$?; echo "${FAILED} ${i} $s" >&2; ${allowFailure ? '' : 'exit $s; '}}`).join('\n');
}

/** The command of `commands` that failed in a batch, from the batch's stderr; undefined when none did. */
export function batchFailure(commands: readonly string[], stderr: string): { command: string; exitCode: number } | undefined {
  const failed = new RegExp(`^${FAILED} (\\d+) (\\d+)$`, 'm').exec(stderr);
  return failed ? { command: commands[Number(failed[1])]!, exitCode: Number(failed[2]) } : undefined;
}

function batchError(r: { stdout: string; stderr: string }, failed: { command: string; exitCode: number }): InfraError {
  return new InfraError('GUEST_COMMAND_FAILED', `guest command exited with ${failed.exitCode}: ${failed.command}`, {
    command: failed.command,
    exitCode: failed.exitCode,
    outputTail: tailLines(`${r.stdout}\n${r.stderr}`, 20),
  });
}

async function execAll(shell: GuestShell, commands: readonly string[], o: { timeoutMs: number; allowFailure?: boolean }): Promise<void> {
  if (!commands.length) return;
  const r = await shell.exec(batchScript(commands, o.allowFailure), { timeoutMs: o.timeoutMs * commands.length, allowFailure: true });
  const failed = batchFailure(commands, r.stderr);
  if (failed && !o.allowFailure) throw batchError(r, failed);
}
const FAILED = '__lab_command_failed';

export async function runScenario(scenario: Scenario, ctx: GuestContext, repetition?: number): Promise<ScenarioResult> {
  const started = Date.now();
  const dir = join(ctx.resultsDir, 'scenarios', repetition ? `${scenario.name}.${repetition}` : scenario.name);
  await mkdir(dir, { recursive: true });
  const { shell, reporter, observers } = ctx;
  const previousTranscript = shell.transcript;
  shell.transcript = join(dir, 'guest-commands.log');
  const exec = (command: string, timeoutMs = 60_000, allowFailure = false) => shell.exec(command, { timeoutMs, allowFailure });
  const observations: Observations = { probes: ctx.probes, comm: scenario.bpftrace.comm };
  const captured: Record<string, number> = {};
  const steps: StepOutput[] = [];
  const result = (status: ScenarioStatus, extra: Partial<ScenarioResult> = {}): ScenarioResult => ({
    name: scenario.name,
    file: scenario.file,
    ...(repetition ? { repetition } : {}),
    status,
    durationMs: Date.now() - started,
    captured,
    ...(steps.length ? { steps } : {}),
    observations,
    resultsDir: dir,
    ...extra,
  });
  /** A bpftrace of the scenario's own (settings the shared one does not cover), stopped at the end. */
  let own: RunningBpftrace | undefined;
  let tornDown = false;
  let before: KnobValues | undefined;
  /** The knobs as the teardown left them, read in the teardown's round trip. */
  let afterKnobs: KnobValues | undefined;
  let outcome: ScenarioResult | undefined;
  try {
    reporter.stage(scenario.name, scenario.description.split('\n')[0]!);
    // one round trip: the counters the requirements name, the knobs, the files that must exist
    // (the scenario's own and the module's, which this guest's observers may have loaded)
    const knobs = [...new Set([...GUEST_KNOBS, ...writtenKnobs([...scenario.setup, ...scenario.steps.map((s) => s.run), ...scenario.teardown])])];
    const files = ['/proc/page_order', ...scenario.requires.files];
    const state = sections(
      (await exec(['cat /proc/vmstat', section('knobs'), readKnobsCommand(knobs), section('present'), `for f in ${files.join(' ')}; do if test -e "$f"; then echo "$f"; fi; done`].join('; '))).stdout,
    );
    const present = new Set((state.present ?? '').split('\n').filter(Boolean));
    const unmet = unmetRequirement(scenario, ctx, parseVmstat(state[''] ?? ''), present);
    if (unmet) {
      reporter.event(scenario.name, { kind: 'outcome', status: 'SKIP', message: unmet });
      return (outcome = result('SKIP', { skipReason: unmet }));
    }
    // a clean state, verified: the module loaded by this guest's observers or not at all, every
    // knob at its boot-time value; that read of the knobs also says what to give back after teardown
    const current = parseKnobs(state.knobs ?? '');
    const dirty = knobDiff(ctx.baseline, current);
    const strayModule = present.has('/proc/page_order') !== observers.loaded;
    if (strayModule || dirty.length) {
      const what = [
        ...(strayModule ? [observers.loaded ? 'page_order was unloaded' : 'page_order is loaded, not by the lab'] : []),
        ...dirty.map((d) => `${d.file} is ${d.got}, booted with ${d.want}`),
      ];
      throw new InfraError('DIRTY_GUEST', `the guest is not clean before ${scenario.name}: ${what.join('; ')}`);
    }
    before = current;

    await observers.loadModule();
    // One round trip: the set-up, the module's table for this scenario, then bpftrace's window
    // opens: the shared bpftrace's maps cleared (acknowledged on its stream), or a bpftrace of the
    // scenario's own attached after it.
    const configure = configureCommand(scenario.module);
    const setUp = async (then: string) => {
      const script = `${batchScript(scenario.setup)}\n${section('table')}\n${then}`;
      const r = await shell.exec(script, { timeoutMs: 120_000 * (scenario.setup.length + 1), allowFailure: true });
      const failed = batchFailure(scenario.setup, r.stderr);
      if (failed) throw batchError(r, failed);
      if (r.exitCode !== 0) throw batchError(r, { command: then, exitCode: r.exitCode });
      checkConfigured(scenario.module, sections(r.stdout).table ?? '');
    };
    let window: { bpf: RunningBpftrace; n: number } | undefined;
    if (observers.shares(scenario.bpftrace)) {
      const { bpf, window: n } = await observers.sharedBpftrace();
      window = { bpf, n };
      await writeFile(join(dir, 'probes.bt'), observers.sharedScript!.script);
      await setUp(`${configure} && ${bpf.marker('begin', n)}`);
      await bpf.acknowledged('begin', n);
    } else {
      await setUp(configure);
      const script = generateScript(ctx.hooks, ctx.probes, {
        mode: scenario.bpftrace.mode,
        release: ctx.release,
        commPrefixes: scenario.bpftrace.comm ? [scenario.bpftrace.comm] : [],
      });
      await writeFile(join(dir, 'probes.bt'), script);
      own = await startBpftrace(shell, script, ATTACH_TIMEOUT_MS);
    }
    // the module counts from the moment bpftrace's window is open, vmstat from inside the module's;
    // trace mode's lines start before the module's window, once bpftrace's window has begun
    const traceOn = window && scenario.bpftrace.mode === 'trace' ? `${window.bpf.marker('trace', window.n)} && ` : '';
    const vmstatBefore = (await exec(`${traceOn}echo reset > /proc/page_order && cat /proc/vmstat`)).stdout;
    observations.vmstatBefore = parseVmstat(vmstatBefore);
    await writeFile(join(dir, 'vmstat-before.txt'), vmstatBefore);
    await mkdir(join(dir, 'steps'), { recursive: true });
    for (const [i, step] of scenario.steps.entries()) {
      reporter.event(scenario.name, { kind: 'step', step: step.name });
      // the step's whole output goes to its log; memory keeps its head and tail (KEPT_STDOUT)
      const log = join('steps', stepLogName(i, step.name));
      const r = await shell.exec(step.run, { timeoutMs: step.timeout_s * 1000, logFile: join(dir, log) });
      steps.push({ name: step.name, log, stdoutBytes: r.stdoutBytes, ...(r.truncated ? { truncated: true as const } : {}) });
      for (const [name, pattern] of Object.entries(step.capture)) {
        const m = new RegExp(pattern, 'm').exec(r.stdout);
        const value = m ? Number(m[1]) : NaN;
        if (!Number.isFinite(value)) {
          const where = r.truncated ? ` (its output was ${r.stdoutBytes} bytes: a pattern sees the first and last ${KEPT_STDOUT.tail >> 20} MiB; the whole is in ${log})` : '';
          throw new InfraError('CAPTURE_FAILED', `step "${step.name}": /${pattern}/ found no number for ${name} in its output${where}`, {
            output: r.stdout.slice(-500),
          });
        }
        captured[name] = value;
      }
    }
    // vmstat, then the dump (inside both observers' windows), then the module's table, and the
    // shared bpftrace's window closed in the same command, right after the table is read
    const close = window ? ` && ${window.bpf.marker('end', window.n)}` : '';
    let after: Record<string, string>;
    if (scenario.observers.includes('debugfs')) {
      after = { '': (await exec('cat /proc/vmstat')).stdout };
      observations.debugfs = await readDebugfs(shell, dir, reporter, scenario.name);
      after.table = (await exec(`cat /proc/page_order${close}`)).stdout;
    } else {
      after = sections((await exec(`cat /proc/vmstat && ${section('table')} && cat /proc/page_order${close}`)).stdout);
    }
    observations.vmstatAfter = parseVmstat(after['']!);
    await writeFile(join(dir, 'vmstat-after.txt'), after['']!);
    observations.module = parsePageOrder(after.table!);
    await writeFile(join(dir, 'page_order.txt'), after.table!);
    if (window) {
      const lines = await window.bpf.acknowledged('end', window.n);
      observations.bpf = forComm(forWindow({ ...parseBpftrace(lines.join('\n')), attached: true }, window.n), scenario.bpftrace.comm);
      await writeFile(join(dir, 'bpftrace.txt'), `${lines.join('\n')}\n`);
    } else {
      const stopped = await own!.stop();
      own = undefined;
      observations.bpf = forComm(stopped.output, scenario.bpftrace.comm);
      await writeFile(join(dir, 'bpftrace.txt'), stopped.raw.stdout);
    }
    // the workload stops (teardown) while the module's kprobe stays: unregistering it while a load
    // still allocated oopsed 6.12.117 under multi-threaded TCG twice in 30 runs (int3 at
    // __set_page_owner+0x1: a stale translation, docs/reliability.md), and the module now stays
    // loaded for the guest's next scenarios
    // one round trip: the teardown, the kernel log, and the knobs to give back
    tornDown = true;
    const wound = sections(
      (
        await shell.exec([batchScript(scenario.teardown, true), section('dmesg'), 'dmesg', section('knobs'), readKnobsCommand(Object.keys(before))].join('\n'), {
          timeoutMs: 120_000 * (scenario.teardown.length + 1),
          allowFailure: true,
        })
      ).stdout,
    );
    const dmesg = wound.dmesg ?? '';
    // a batch cut short before its knob read leaves them to be read again when they are given back
    afterKnobs = wound.knobs === undefined ? undefined : parseKnobs(wound.knobs);
    observations.dmesg = parseDmesg(dmesg);
    await writeFile(join(dir, 'dmesg.txt'), dmesg);

    const judged = { registry: ctx.registry, release: ctx.release };
    const judgement = judge(scenario, observations, captured, judged);
    const checks = judge({ vars: [], expect: labChecks(observations, { allowMissed: scenario.allow.missed, window: scenario.allow.window }) }, observations, {}, judged);
    const verdicts = [judgement.verdict, checks.verdict];
    // A kernel that reported an error (KASAN, Bad page state, VM_BUG_ON, a WARNING) while the
    // scenario ran is broken, whatever the counts say: ERROR, with the verdicts kept beside it.
    const kernelErrors = observations.dmesg.kernelErrors;
    if (kernelErrors.length) {
      const error = { code: 'KERNEL_ERROR', message: `the kernel reported ${kernelErrors.length} error line(s) during the scenario, first: ${kernelErrors[0]}`, context: { lines: kernelErrors.slice(0, 10) } };
      return (outcome = result('ERROR', { judgement, checks, error }));
    }
    const status: ScenarioStatus = verdicts.includes('error') ? 'ERROR' : verdicts.includes('fail') ? 'FAIL' : 'PASS';
    return (outcome = result(status, { judgement, checks }));
  } catch (e) {
    if (!isLabError(e)) throw e;
    return (outcome = result('ERROR', { error: { code: e.code, message: e.message, context: e.context } }));
  } finally {
    // Best effort: the guest may be gone; the VM is discarded after an error anyway.
    if (own) await own.stop().catch(() => undefined);
    if (before && !tornDown) await execAll(shell, scenario.teardown, { timeoutMs: 120_000, allowFailure: true }).catch(() => undefined);
    if (before) {
      const restored = await restoreKnobs(shell, before, afterKnobs).catch(() => undefined);
      if (outcome && restored?.length) outcome.restored = restored;
    }
    shell.transcript = previousTranscript;
  }
}

/** Stream the page_owner dump through the parser (its summary keeps the top call sites per order); keep a sample of whole records. */
async function readDebugfs(shell: GuestShell, dir: string, reporter: Reporter, name: string) {
  reporter.stage(name, `reading ${DEBUGFS}`);
  const parser = new DebugfsParser();
  // a sample of whole records: the first 20, then every 100th (up to 400 in all)
  const sample: string[] = [];
  let record = -1;
  const r = await shell.exec(`cat ${DEBUGFS}`, {
    keepStdout: false,
    // 20-25 MB of text that gzip -1 shrinks 30-fold: through SSH as it is, the guest spent longer on sending it than the kernel on writing it
    compress: true,
    allowFailure: true,
    timeoutMs: 600_000,
    onLine: (line) => {
      parser.push(line);
      if (line.startsWith('Page allocated via order ')) record++;
      if (record >= 0 && (record < 20 || record % 100 === 0) && record < 20 + 400 * 100) sample.push(line);
    },
  });
  await writeFile(join(dir, 'page_owner-sample.txt'), `${sample.join('\n')}\n`);
  if (r.exitCode !== 0) throw new InfraError('DEBUGFS_READ_FAILED', `cat ${DEBUGFS} exited with ${r.exitCode}: ${r.stderr.trim()}`);
  const summary = parser.summary();
  // 6.9+: the kernel's own per-stack totals
  const stacks = await shell.exec(`cat ${STACKS} 2>/dev/null`, { allowFailure: true, timeoutMs: 300_000 });
  if (stacks.exitCode === 0) {
    summary.stackPages = sumStackPages(stacks.stdout);
    summary.showStacks = parseShowStacks(stacks.stdout);
  }
  return summary;
}
