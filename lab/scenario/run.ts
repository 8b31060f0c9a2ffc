/**
 * Run one scenario in a booted guest, as stages: preflight (the counters,
 * knobs and files its requirements name, else SKIP; a verified clean state),
 * set-up (the module's table, the set-up commands, the observer window
 * opened), collect (vmstat before, the steps and what they capture, vmstat
 * after, the dump, the module's table, the window closed: Observations),
 * teardown (the scenario's own commands, the kernel log, the knobs given
 * back), then the verdict, made in one place (lab/judge/verdict.ts). Every
 * guest command goes to the scenario's transcript.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError, isLabError } from '../core/errors.ts';
import type { ProgressReporter } from '../core/reporter.ts';
import { kernelMatches } from '../expr/expr.ts';
import { GUEST_KNOBS, knobDiff, parseKnobs, readKnobsCommand, restoreKnobs, writtenKnobs, type KnobValues } from '../guest/knobs.ts';
import { execBatch, section, sections } from '../guest/protocol/batch.ts';
import { KEPT_STDOUT, type GuestShell } from '../guest/ssh.ts';
import type { Judgement } from '../judge/judge.ts';
import { describeFix, type KnownIssue, type KnownIssueVersions } from '../judge/known-issues.ts';
import { verdictOf, type ScenarioError, type ScenarioStatus } from '../judge/verdict.ts';
import type { MetricRegistry } from '../metrics/registry.ts';
import { DebugfsParser, parseShowStacks, sumStackPages } from '../observe/debugfs.ts';
import { parseDmesg } from '../observe/dmesg.ts';
import { isProbed, type Hooks, type ProbeMapEntry } from '../observe/hooks.ts';
import type { Observations } from '../observe/observations.ts';
import { parsePageOrder } from '../observe/page-order.ts';
import { parseVmstat } from '../observe/vmstat.ts';
import { forComm, forWindow, parseBpftrace } from '../observe/bpftrace.ts';
import { startBpftrace, type RunningBpftrace } from '../observers/bpftrace.ts';
import { ATTACH_TIMEOUT_MS, checkConfigured, configureCommand, type GuestObservers } from '../observers/guest-observers.ts';
import { generateScript } from '../observers/probes.ts';
import type { Scenario } from './load.ts';

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
  error?: ScenarioError;
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
  reporter: ProgressReporter;
  /** The guest's module and shared bpftrace, kept across its scenarios. */
  observers: GuestObservers;
  /** The kernel's report when its console showed an error since the last call (asked once, when the scenario ends). */
  kernelReport?: () => string[] | undefined;
}

const DEBUGFS = '/sys/kernel/debug/page_owner';
const STACKS = '/sys/kernel/debug/page_owner_stacks/show_stacks';

/** A scenario under way: what its stages share. */
interface ScenarioRun {
  scenario: Scenario;
  ctx: GuestContext;
  /** The scenario's results folder. */
  dir: string;
  observations: Observations;
  captured: Record<string, number>;
  steps: StepOutput[];
  /** The knobs before the scenario (set by preflight): what teardown gives back. */
  before?: KnobValues;
  /** The knobs as the teardown left them, read in the teardown's round trip. */
  afterKnobs?: KnobValues;
  /** The observer window: the shared bpftrace's window n, or a bpftrace of the scenario's own (settings the shared one does not cover). */
  window?: { bpf: RunningBpftrace; n: number };
  own?: RunningBpftrace;
  tornDown: boolean;
}

export async function runScenario(scenario: Scenario, ctx: GuestContext, repetition?: number): Promise<ScenarioResult> {
  const started = Date.now();
  const dir = join(ctx.resultsDir, 'scenarios', repetition ? `${scenario.name}.${repetition}` : scenario.name);
  await mkdir(dir, { recursive: true });
  const previousTranscript = ctx.shell.transcript;
  ctx.shell.transcript = join(dir, 'guest-commands.log');
  const run: ScenarioRun = { scenario, ctx, dir, observations: { probes: ctx.probes, comm: scenario.bpftrace.comm }, captured: {}, steps: [], tornDown: false };
  let skipReason: string | undefined;
  let error: ScenarioError | undefined;
  let restored: string[] | undefined;
  try {
    ctx.reporter.stage(scenario.name, scenario.description.split('\n')[0]!);
    skipReason = await preflight(run);
    if (skipReason === undefined) {
      await setUp(run);
      await collect(run);
      await teardown(run);
    }
  } catch (e) {
    if (!isLabError(e)) throw e;
    error = { code: e.code, message: e.message, context: e.context };
  } finally {
    restored = await cleanUp(run);
    ctx.shell.transcript = previousTranscript;
  }
  const kernelReport = ctx.kernelReport?.();
  const verdict = verdictOf({ scenario, observations: run.observations, captured: run.captured, registry: ctx.registry, release: ctx.release, skipReason, error, kernelReport });
  if (kernelReport) {
    const k = verdict.knownIssue;
    const header = k ? [`# known issue: ${k.title}`, `# upstream fix: ${describeFix(k)}`, ''] : [];
    await writeFile(join(dir, 'kernel-report.txt'), `${[...header, ...kernelReport].join('\n')}\n`);
  }
  return {
    name: scenario.name,
    file: scenario.file,
    ...(repetition ? { repetition } : {}),
    status: verdict.status,
    durationMs: Date.now() - started,
    captured: run.captured,
    ...(run.steps.length ? { steps: run.steps } : {}),
    ...(verdict.judgement ? { judgement: verdict.judgement, checks: verdict.checks } : {}),
    ...(skipReason !== undefined ? { skipReason } : {}),
    observations: run.observations,
    ...(restored?.length ? { restored } : {}),
    ...(kernelReport ? { kernelReport } : {}),
    ...(verdict.knownIssue ? { knownIssue: verdict.knownIssue } : {}),
    ...(verdict.knownIssues ? { knownIssues: verdict.knownIssues } : {}),
    ...(verdict.regression ? { regression: verdict.regression } : {}),
    ...(verdict.error ? { error: verdict.error } : {}),
    resultsDir: dir,
  };
}

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

/**
 * One round trip: the counters the requirements name, the knobs, the files
 * that must exist (the scenario's own and the module's, which this guest's
 * observers may have loaded). A requirement not met: the reason (SKIP). Else
 * a clean state, verified: the module loaded by this guest's observers or
 * not at all, every knob at its boot-time value; that read of the knobs also
 * says what to give back after teardown.
 */
async function preflight(run: ScenarioRun): Promise<string | undefined> {
  const { scenario, ctx } = run;
  const knobs = [...new Set([...GUEST_KNOBS, ...writtenKnobs([...scenario.setup, ...scenario.steps.map((s) => s.run), ...scenario.teardown])])];
  const files = ['/proc/page_order', ...scenario.requires.files];
  const state = sections(
    (await ctx.shell.exec(['cat /proc/vmstat', section('knobs'), readKnobsCommand(knobs), section('present'), `for f in ${files.join(' ')}; do if test -e "$f"; then echo "$f"; fi; done`].join('; '), { timeoutMs: 60_000 })).stdout,
  );
  const present = new Set((state.present ?? '').split('\n').filter(Boolean));
  const unmet = unmetRequirement(scenario, ctx, parseVmstat(state[''] ?? ''), present);
  if (unmet) {
    ctx.reporter.event(scenario.name, { kind: 'outcome', status: 'SKIP', message: unmet });
    return unmet;
  }
  const current = parseKnobs(state.knobs ?? '');
  const dirty = knobDiff(ctx.baseline, current);
  const strayModule = present.has('/proc/page_order') !== ctx.observers.loaded;
  if (strayModule || dirty.length) {
    const what = [
      ...(strayModule ? [ctx.observers.loaded ? 'page_order was unloaded' : 'page_order is loaded, not by the lab'] : []),
      ...dirty.map((d) => `${d.file} is ${d.got}, booted with ${d.want}`),
    ];
    throw new InfraError('DIRTY_GUEST', `the guest is not clean before ${scenario.name}: ${what.join('; ')}`);
  }
  run.before = current;
  return undefined;
}

/**
 * The module loaded, then one round trip: the set-up, the module's table for
 * this scenario, then bpftrace's window opens: the shared bpftrace's maps
 * cleared (acknowledged on its stream), or a bpftrace of the scenario's own
 * attached after it.
 */
async function setUp(run: ScenarioRun): Promise<void> {
  const { scenario, ctx, dir } = run;
  const { observers } = ctx;
  await observers.loadModule();
  const configure = configureCommand(scenario.module);
  const setUpThen = async (then: string) => {
    const r = await execBatch(ctx.shell, scenario.setup, { timeoutMs: 120_000, then: `${section('table')}\n${then}` });
    checkConfigured(scenario.module, r.sections.table ?? '');
  };
  if (observers.shares(scenario.bpftrace)) {
    const { bpf, window: n } = await observers.sharedBpftrace();
    run.window = { bpf, n };
    await writeFile(join(dir, 'probes.bt'), observers.sharedScript!.script);
    await setUpThen(`${configure} && ${bpf.marker('begin', n)}`);
    await bpf.acknowledged('begin', n);
  } else {
    await setUpThen(configure);
    const script = generateScript(ctx.hooks, ctx.probes, { mode: scenario.bpftrace.mode, release: ctx.release, commPrefixes: scenario.bpftrace.comm ? [scenario.bpftrace.comm] : [] });
    await writeFile(join(dir, 'probes.bt'), script);
    run.own = await startBpftrace(ctx.shell, script, ATTACH_TIMEOUT_MS);
  }
}

/**
 * Inside the window: vmstat before (the module counts from the moment
 * bpftrace's window is open, vmstat from inside the module's; trace mode's
 * lines start before the module's window, once bpftrace's window has begun),
 * the steps, then vmstat, the dump, the module's table, and the shared
 * bpftrace's window closed in the same command, right after the table is read.
 */
async function collect(run: ScenarioRun): Promise<void> {
  const { scenario, ctx, dir, observations, window } = run;
  const exec = (command: string) => ctx.shell.exec(command, { timeoutMs: 60_000 });
  const traceOn = window && scenario.bpftrace.mode === 'trace' ? `${window.bpf.marker('trace', window.n)} && ` : '';
  const vmstatBefore = (await exec(`${traceOn}echo reset > /proc/page_order && cat /proc/vmstat`)).stdout;
  observations.vmstatBefore = parseVmstat(vmstatBefore);
  await writeFile(join(dir, 'vmstat-before.txt'), vmstatBefore);
  await runSteps(run);
  const close = window ? ` && ${window.bpf.marker('end', window.n)}` : '';
  let after: Record<string, string>;
  if (scenario.observers.includes('debugfs')) {
    after = { '': (await exec('cat /proc/vmstat')).stdout };
    observations.debugfs = await readDebugfs(ctx.shell, dir, ctx.reporter, scenario.name);
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
    const stopped = await run.own!.stop();
    run.own = undefined;
    observations.bpf = forComm(stopped.output, scenario.bpftrace.comm);
    await writeFile(join(dir, 'bpftrace.txt'), stopped.raw.stdout);
  }
}

/** The steps: each one's whole output to its log (memory keeps its head and tail, KEPT_STDOUT), its captures read. */
async function runSteps(run: ScenarioRun): Promise<void> {
  const { scenario, ctx, dir } = run;
  await mkdir(join(dir, 'steps'), { recursive: true });
  for (const [i, step] of scenario.steps.entries()) {
    ctx.reporter.event(scenario.name, { kind: 'step', step: step.name });
    const log = join('steps', stepLogName(i, step.name));
    const r = await ctx.shell.exec(step.run, { timeoutMs: step.timeout_s * 1000, logFile: join(dir, log) });
    run.steps.push({ name: step.name, log, stdoutBytes: r.stdoutBytes, ...(r.truncated ? { truncated: true as const } : {}) });
    for (const [name, pattern] of Object.entries(step.capture)) {
      const m = new RegExp(pattern, 'm').exec(r.stdout);
      const value = m ? Number(m[1]) : NaN;
      if (!Number.isFinite(value)) {
        const where = r.truncated ? ` (its output was ${r.stdoutBytes} bytes: a pattern sees the first and last ${KEPT_STDOUT.tail >> 20} MiB; the whole is in ${log})` : '';
        throw new InfraError('CAPTURE_FAILED', `step "${step.name}": /${pattern}/ found no number for ${name} in its output${where}`, {
          output: r.stdout.slice(-500),
        });
      }
      run.captured[name] = value;
    }
  }
}

/**
 * One round trip: the teardown, the kernel log, and the knobs to give back.
 * The workload stops while the module's kprobe stays: unregistering it while
 * a load still allocated oopsed 6.12.117 under multi-threaded TCG twice in 30
 * runs (int3 at __set_page_owner+0x1: a stale translation,
 * docs/reliability.md), and the module stays loaded for the guest's next
 * scenarios.
 */
async function teardown(run: ScenarioRun): Promise<void> {
  const { scenario, ctx, dir } = run;
  run.tornDown = true;
  const r = await execBatch(ctx.shell, scenario.teardown, {
    timeoutMs: 120_000,
    allowFailure: true,
    then: [section('dmesg'), 'dmesg', section('knobs'), readKnobsCommand(Object.keys(run.before!))].join('\n'),
  });
  const dmesg = r.sections.dmesg ?? '';
  // a batch cut short before its knob read leaves them to be read again when they are given back
  run.afterKnobs = r.sections.knobs === undefined ? undefined : parseKnobs(r.sections.knobs);
  run.observations.dmesg = parseDmesg(dmesg);
  await writeFile(join(dir, 'dmesg.txt'), dmesg);
}

/**
 * Whatever happened: the scenario's own bpftrace stopped, its teardown run
 * if it did not, its knobs given back (best effort: the guest may be gone,
 * and the VM is discarded after an error anyway). Returns the knobs written back.
 */
async function cleanUp(run: ScenarioRun): Promise<string[] | undefined> {
  const { scenario, ctx } = run;
  if (run.own) await run.own.stop().catch(() => undefined);
  if (run.before && !run.tornDown) await execBatch(ctx.shell, scenario.teardown, { timeoutMs: 120_000, allowFailure: true }).catch(() => undefined);
  if (!run.before) return undefined;
  return restoreKnobs(ctx.shell, run.before, run.afterKnobs).catch(() => undefined);
}

/** Stream the page_owner dump through the parser (its summary keeps the top call sites per order); keep a sample of whole records. */
async function readDebugfs(shell: GuestShell, dir: string, reporter: ProgressReporter, name: string) {
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
