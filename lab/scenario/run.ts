/**
 * Run one scenario in a booted guest: preconditions (else SKIP), a verified
 * clean state, set-up, module and generated probes, vmstat before, the steps
 * (values captured from their output), vmstat after, the observers read,
 * teardown. Everything the guest said goes to the scenario's results folder;
 * verdicts come from the judge, for the scenario's expectations and the lab's
 * own cross-checks.
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError, isLabError } from '../core/errors.ts';
import type { Reporter } from '../core/reporter.ts';
import type { GuestShell } from '../guest/ssh.ts';
import { labChecks } from '../judge/checks.ts';
import { comparisonRefs, parseComparison } from '../judge/expr.ts';
import { judge, type Judgement } from '../judge/judge.ts';
import { DebugfsParser, sumStackPages } from '../observe/debugfs.ts';
import { parseDmesg } from '../observe/dmesg.ts';
import type { Observations } from '../observe/observations.ts';
import { parsePageOrder } from '../observe/page-order.ts';
import { parseVmstat } from '../observe/vmstat.ts';
import { startBpftrace, type RunningBpftrace } from '../prepare/bpftrace.ts';
import { loadModule, unloadModule } from '../prepare/module.ts';
import { generateScript, type Hooks, type ProbeMapEntry } from '../prepare/probes.ts';
import { usesDebugfs } from './metrics.ts';
import { kernelMatches, type Scenario } from './schema.ts';

export type ScenarioStatus = 'PASS' | 'FAIL' | 'ERROR' | 'SKIP';

export interface ScenarioResult {
  name: string;
  status: ScenarioStatus;
  durationMs: number;
  captured: Record<string, number>;
  judgement?: Judgement;
  /** The lab's cross-checks (observers agree, nothing missed, no kernel errors). */
  checks?: Judgement;
  skipReason?: string;
  observations: Observations;
  error?: { code: string; message: string; context?: Record<string, unknown> };
  resultsDir: string;
}

export interface GuestContext {
  shell: GuestShell;
  /** uname -r of the guest. */
  release: string;
  hooks: Hooks;
  probes: ProbeMapEntry[];
  resultsDir: string;
  reporter: Reporter;
}

const DEBUGFS = '/sys/kernel/debug/page_owner';
const STACKS = '/sys/kernel/debug/page_owner_stacks/show_stacks';

/** Why a scenario cannot run on this guest, or undefined when it can. */
async function unmetRequirement(scenario: Scenario, ctx: GuestContext, vmstat: Record<string, number>): Promise<string | undefined> {
  const r = scenario.requires;
  if (r.kernel && !kernelMatches(r.kernel, ctx.release)) return `kernel ${ctx.release} does not match "${r.kernel}"`;
  for (const event of r.hooks) {
    const p = ctx.probes.find((e) => e.event === event);
    if (!p || (p.status !== 'probed' && p.status !== 'renamed')) return `hook "${event}" is not probeable here: ${p?.note ?? 'unknown event'}`;
  }
  for (const counter of r.vmstat) if (!(counter in vmstat)) return `/proc/vmstat has no ${counter} in this kernel`;
  for (const file of r.files) {
    if ((await ctx.shell.exec(`test -e ${file}`, { allowFailure: true })).exitCode !== 0) return `${file} does not exist in this guest`;
  }
  return undefined;
}

export async function runScenario(scenario: Scenario, ctx: GuestContext): Promise<ScenarioResult> {
  const started = Date.now();
  const dir = join(ctx.resultsDir, 'scenarios', scenario.name);
  await mkdir(dir, { recursive: true });
  const transcript = join(dir, 'guest-commands.log');
  const { shell, reporter } = ctx;
  const exec = async (command: string, timeoutMs = 60_000, allowFailure = false) => {
    const r = await shell.exec(command, { timeoutMs, allowFailure }).catch(async (e: unknown) => {
      await appendFile(transcript, `$ ${command}\n!! ${(e as Error).message}\n`);
      throw e;
    });
    await appendFile(transcript, `$ ${command}\n${r.stdout}${r.stderr ? `[stderr]\n${r.stderr}` : ''}[exit ${r.exitCode}, ${r.durationMs} ms]\n`);
    return r;
  };
  const observations: Observations = { probes: ctx.probes, migrateReasons: ctx.hooks.migrate_reasons };
  const captured: Record<string, number> = {};
  const result = (status: ScenarioStatus, extra: Partial<ScenarioResult> = {}): ScenarioResult => ({
    name: scenario.name,
    status,
    durationMs: Date.now() - started,
    captured,
    observations,
    resultsDir: dir,
    ...extra,
  });
  let bpf: RunningBpftrace | undefined;
  let moduleLoaded = false;
  let ran = false;
  try {
    reporter.stage(scenario.name, scenario.description.split('\n')[0]!);
    const unmet = await unmetRequirement(scenario, ctx, parseVmstat((await exec('cat /proc/vmstat')).stdout));
    if (unmet) {
      reporter.stage(scenario.name, `SKIP: ${unmet}`);
      return result('SKIP', { skipReason: unmet });
    }
    ran = true;
    // a clean state, verified: no module left loaded, an empty hugetlb pool
    await exec('rmmod page_order 2>/dev/null; echo 0 > /proc/sys/vm/nr_hugepages; true');
    const state = await exec('test -e /proc/page_order && echo module-loaded; cat /proc/sys/vm/nr_hugepages');
    if (state.stdout.trim() !== '0') throw new InfraError('DIRTY_GUEST', `the guest is not clean before ${scenario.name}: ${state.stdout.trim()}`);

    for (const cmd of scenario.setup) await exec(cmd);
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
    const refs = scenario.expect.flatMap((e) => comparisonRefs(parseComparison(e.expect)));
    // the dump is read inside both observers' windows, the module table last before bpftrace stops
    if (usesDebugfs(refs)) observations.debugfs = await readDebugfs(shell, join(dir, 'page_owner-sample.txt'), reporter, scenario.name);
    const table = await exec('cat /proc/page_order');
    observations.module = parsePageOrder(table.stdout);
    await writeFile(join(dir, 'page_order.txt'), table.stdout);
    const stopped = await bpf.stop();
    bpf = undefined;
    observations.bpf = stopped.output;
    await writeFile(join(dir, 'bpftrace.txt'), stopped.raw.stdout);
    await unloadModule(shell);
    moduleLoaded = false;
    const dmesg = await exec('dmesg', 30_000);
    observations.dmesg = parseDmesg(dmesg.stdout);
    await writeFile(join(dir, 'dmesg.txt'), dmesg.stdout);

    const judgement = judge(scenario, observations, captured, ctx.release);
    const checks = judge({ vars: {}, expect: labChecks(observations, { allowMissed: scenario.allow.missed }) }, observations, {}, ctx.release);
    const verdicts = [judgement.verdict, checks.verdict];
    const status: ScenarioStatus = verdicts.includes('error') ? 'ERROR' : verdicts.includes('fail') ? 'FAIL' : 'PASS';
    return result(status, { judgement, checks });
  } catch (e) {
    if (!isLabError(e)) throw e;
    return result('ERROR', { error: { code: e.code, message: e.message, context: e.context } });
  } finally {
    // Best effort: the guest may be gone; the VM is discarded after an error anyway.
    if (bpf) await bpf.stop().catch(() => undefined);
    if (moduleLoaded) await shell.exec('rmmod page_order', { allowFailure: true, timeoutMs: 10_000 }).catch(() => undefined);
    if (ran) for (const cmd of scenario.teardown) await exec(cmd, 60_000, true).catch(() => undefined);
  }
}

/** Stream the page_owner dump through the parser; keep its first lines as a sample. */
async function readDebugfs(shell: GuestShell, sampleFile: string, reporter: Reporter, name: string) {
  reporter.stage(name, `reading ${DEBUGFS}`);
  const parser = new DebugfsParser();
  // a sample of whole records: the first 20, then every 100th (up to 400 in all)
  const sample: string[] = [];
  let record = -1;
  const { done } = await shell.spawn(`cat ${DEBUGFS}`, (line) => {
    parser.push(line);
    if (line.startsWith('Page allocated via order ')) record++;
    if (record >= 0 && (record < 20 || record % 100 === 0) && record < 20 + 400 * 100) sample.push(line);
  });
  const r = await done;
  await writeFile(sampleFile, `${sample.join('\n')}\n`);
  if (r.exitCode !== 0) throw new InfraError('DEBUGFS_READ_FAILED', `cat ${DEBUGFS} exited with ${r.exitCode}: ${r.stderr.trim()}`);
  const summary = parser.summary();
  // 6.9+: the kernel's own per-stack totals
  const stacks = await shell.exec(`cat ${STACKS} 2>/dev/null`, { allowFailure: true, timeoutMs: 300_000 });
  if (stacks.exitCode === 0) summary.stackPages = sumStackPages(stacks.stdout);
  return summary;
}
