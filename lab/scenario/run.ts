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
import type { Reporter } from '../core/reporter.ts';
import { kernelMatches } from '../expr/expr.ts';
import type { GuestShell } from '../guest/ssh.ts';
import { labChecks } from '../judge/checks.ts';
import { judge, type Judgement } from '../judge/judge.ts';
import type { MetricRegistry } from '../metrics/registry.ts';
import { DebugfsParser, parseShowStacks, sumStackPages } from '../observe/debugfs.ts';
import { parseDmesg } from '../observe/dmesg.ts';
import { isProbed, type Hooks, type ProbeMapEntry } from '../observe/hooks.ts';
import type { Observations } from '../observe/observations.ts';
import { parsePageOrder } from '../observe/page-order.ts';
import { parseVmstat } from '../observe/vmstat.ts';
import { startBpftrace, type RunningBpftrace } from '../prepare/bpftrace.ts';
import { loadModule, unloadModule } from '../prepare/module.ts';
import { generateScript } from '../prepare/probes.ts';
import type { KnownIssue } from './known-issues.ts';
import type { Scenario } from './load.ts';
import { GUEST_KNOBS, knobDiff, readKnobs, restoreKnobs, writtenKnobs, type KnobValues } from '../guest/knobs.ts';

export type ScenarioStatus = 'PASS' | 'FAIL' | 'ERROR' | 'SKIP';

export interface ScenarioResult {
  name: string;
  /** 1..N with `--repeat N`, absent for a single run. */
  repetition?: number;
  status: ScenarioStatus;
  durationMs: number;
  captured: Record<string, number>;
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
  error?: { code: string; message: string; context?: Record<string, unknown> };
  resultsDir: string;
}

export interface GuestContext {
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
}

const DEBUGFS = '/sys/kernel/debug/page_owner';
const STACKS = '/sys/kernel/debug/page_owner_stacks/show_stacks';

/** Why a scenario cannot run on this guest, or undefined when it can. */
async function unmetRequirement(scenario: Scenario, ctx: GuestContext, vmstat: Record<string, number>): Promise<string | undefined> {
  const r = scenario.requires;
  if (r.kernel && !kernelMatches(r.kernel, ctx.release)) return `kernel ${ctx.release} does not match "${r.kernel}"`;
  if (r.memory_mb && ctx.memoryMb < r.memory_mb) return `needs a guest of ${r.memory_mb} MiB, this one has ${ctx.memoryMb} MiB (--memory ${r.memory_mb})`;
  for (const event of r.hooks) {
    const p = ctx.probes.find((e) => e.event === event);
    if (!isProbed(ctx.probes, event)) return `hook "${event}" is not probeable here: ${p?.note ?? 'unknown event'}`;
  }
  for (const counter of r.vmstat) if (!(counter in vmstat)) return `/proc/vmstat has no ${counter} in this kernel`;
  for (const file of r.files) {
    if ((await ctx.shell.exec(`test -e ${file}`, { allowFailure: true })).exitCode !== 0) return `${file} does not exist in this guest`;
  }
  return undefined;
}

export async function runScenario(scenario: Scenario, ctx: GuestContext, repetition?: number): Promise<ScenarioResult> {
  const started = Date.now();
  const dir = join(ctx.resultsDir, 'scenarios', repetition ? `${scenario.name}.${repetition}` : scenario.name);
  await mkdir(dir, { recursive: true });
  const { shell, reporter } = ctx;
  const previousTranscript = shell.transcript;
  shell.transcript = join(dir, 'guest-commands.log');
  const exec = (command: string, timeoutMs = 60_000, allowFailure = false) => shell.exec(command, { timeoutMs, allowFailure });
  const observations: Observations = { probes: ctx.probes, comm: scenario.bpftrace.comm };
  const captured: Record<string, number> = {};
  const result = (status: ScenarioStatus, extra: Partial<ScenarioResult> = {}): ScenarioResult => ({
    name: scenario.name,
    ...(repetition ? { repetition } : {}),
    status,
    durationMs: Date.now() - started,
    captured,
    observations,
    resultsDir: dir,
    ...extra,
  });
  let bpf: RunningBpftrace | undefined;
  let moduleLoaded = false;
  let tornDown = false;
  let before: KnobValues | undefined;
  let outcome: ScenarioResult | undefined;
  try {
    reporter.stage(scenario.name, scenario.description.split('\n')[0]!);
    const unmet = await unmetRequirement(scenario, ctx, parseVmstat((await exec('cat /proc/vmstat')).stdout));
    if (unmet) {
      reporter.stage(scenario.name, `SKIP: ${unmet}`);
      return (outcome = result('SKIP', { skipReason: unmet }));
    }
    // a clean state, verified: no module left loaded, every knob at its boot-time value
    // one read of the knobs serves both the clean-state check and what to give back after teardown
    const knobs = [...new Set([...GUEST_KNOBS, ...writtenKnobs([...scenario.setup, ...scenario.steps.map((s) => s.run), ...scenario.teardown])])];
    const current = await readKnobs(shell, knobs);
    const loaded = await exec('test -e /proc/page_order', 10_000, true);
    const dirty = knobDiff(ctx.baseline, current);
    if (loaded.exitCode === 0 || dirty.length) {
      const what = [...(loaded.exitCode === 0 ? ['page_order is still loaded'] : []), ...dirty.map((d) => `${d.file} is ${d.got}, booted with ${d.want}`)];
      throw new InfraError('DIRTY_GUEST', `the guest is not clean before ${scenario.name}: ${what.join('; ')}`);
    }
    before = current;

    for (const cmd of scenario.setup) await exec(cmd, 120_000);
    await loadModule(shell, scenario.module);
    moduleLoaded = true;
    const script = generateScript(ctx.hooks, ctx.probes, { mode: scenario.bpftrace.mode, release: ctx.release, commPrefix: scenario.bpftrace.comm });
    await writeFile(join(dir, 'probes.bt'), script);
    bpf = await startBpftrace(shell, script, 120_000);
    // the module counts from the moment bpftrace is attached: its window lies inside bpftrace's
    await exec('echo reset > /proc/page_order');
    const vmstatBefore = (await exec('cat /proc/vmstat')).stdout;
    observations.vmstatBefore = parseVmstat(vmstatBefore);
    await writeFile(join(dir, 'vmstat-before.txt'), vmstatBefore);
    for (const step of scenario.steps) {
      reporter.stage(scenario.name, `step: ${step.name}`);
      const r = await exec(step.run, step.timeout_s * 1000);
      for (const [name, pattern] of Object.entries(step.capture)) {
        const m = new RegExp(pattern, 'm').exec(r.stdout);
        const value = m ? Number(m[1]) : NaN;
        if (!Number.isFinite(value)) {
          throw new InfraError('CAPTURE_FAILED', `step "${step.name}": /${pattern}/ found no number for ${name} in its output`, {
            output: r.stdout.slice(-500),
          });
        }
        captured[name] = value;
      }
    }
    const vmstatAfter = (await exec('cat /proc/vmstat')).stdout;
    observations.vmstatAfter = parseVmstat(vmstatAfter);
    await writeFile(join(dir, 'vmstat-after.txt'), vmstatAfter);
    // the dump is read inside both observers' windows, the module table last before bpftrace stops
    if (scenario.observers.includes('debugfs')) observations.debugfs = await readDebugfs(shell, dir, reporter, scenario.name);
    const table = await exec('cat /proc/page_order');
    observations.module = parsePageOrder(table.stdout);
    await writeFile(join(dir, 'page_order.txt'), table.stdout);
    const stopped = await bpf.stop();
    bpf = undefined;
    observations.bpf = stopped.output;
    await writeFile(join(dir, 'bpftrace.txt'), stopped.raw.stdout);
    // the workload stops (teardown) before the kprobe goes: unregistering it while a load still
    // allocates oopsed 6.12.117 under TCG twice in 30 runs (int3 at __set_page_owner+0x1)
    tornDown = true;
    for (const cmd of scenario.teardown) await exec(cmd, 120_000, true);
    await unloadModule(shell);
    moduleLoaded = false;
    const dmesg = await exec('dmesg', 30_000);
    observations.dmesg = parseDmesg(dmesg.stdout);
    await writeFile(join(dir, 'dmesg.txt'), dmesg.stdout);

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
    if (bpf) await bpf.stop().catch(() => undefined);
    if (before && !tornDown) for (const cmd of scenario.teardown) await exec(cmd, 120_000, true).catch(() => undefined);
    if (moduleLoaded) await shell.exec('rmmod page_order', { allowFailure: true, timeoutMs: 10_000 }).catch(() => undefined);
    if (before) {
      const restored = await restoreKnobs(shell, before).catch(() => undefined);
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
