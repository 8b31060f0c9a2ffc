/**
 * Run one scenario in a booted guest: set-up, module and probes, vmstat
 * before, the steps (values captured from their output), vmstat after, the
 * observers read, teardown. Everything the guest said goes to the scenario's
 * results folder; the verdict comes from the judge.
 */
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InfraError, isLabError } from '../core/errors.ts';
import type { Reporter } from '../core/reporter.ts';
import type { GuestShell } from '../guest/ssh.ts';
import { judge, type Judgement } from '../judge/judge.ts';
import { startBpftrace, type RunningBpftrace } from '../prepare/bpftrace.ts';
import { loadModule, unloadModule } from '../prepare/module.ts';
import type { Observations } from '../observe/observations.ts';
import { parsePageOrder } from '../observe/page-order.ts';
import { parseVmstat } from '../observe/vmstat.ts';
import type { Scenario } from './schema.ts';

export type ScenarioStatus = 'PASS' | 'FAIL' | 'ERROR';

export interface ScenarioResult {
  name: string;
  status: ScenarioStatus;
  durationMs: number;
  captured: Record<string, number>;
  judgement?: Judgement;
  observations: Observations;
  error?: { code: string; message: string; context?: Record<string, unknown> };
  resultsDir: string;
}

export interface ScenarioContext {
  shell: GuestShell;
  bpfScript: string;
  resultsDir: string;
  reporter: Reporter;
}

export async function runScenario(scenario: Scenario, ctx: ScenarioContext): Promise<ScenarioResult> {
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
  const observations: Observations = {};
  const captured: Record<string, number> = {};
  let bpf: RunningBpftrace | undefined;
  let moduleLoaded = false;
  try {
    reporter.stage(scenario.name, scenario.description.split('\n')[0]!);
    for (const cmd of scenario.setup) await exec(cmd);
    await loadModule(shell, scenario.module);
    moduleLoaded = true;
    bpf = await startBpftrace(shell, ctx.bpfScript, 120_000);
    // same window for both observers: the module counts from the moment bpftrace is attached
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
    const table = await exec('cat /proc/page_order');
    observations.module = parsePageOrder(table.stdout);
    await writeFile(join(dir, 'page_order.txt'), table.stdout);
    const stopped = await bpf.stop();
    bpf = undefined;
    observations.bpf = stopped.output;
    await writeFile(join(dir, 'bpftrace.txt'), stopped.raw.stdout);
    await unloadModule(shell);
    moduleLoaded = false;
    const judgement = judge(scenario, observations, captured);
    const status: ScenarioStatus = judgement.verdict === 'pass' ? 'PASS' : judgement.verdict === 'fail' ? 'FAIL' : 'ERROR';
    return { name: scenario.name, status, durationMs: Date.now() - started, captured, judgement, observations, resultsDir: dir };
  } catch (e) {
    if (!isLabError(e)) throw e;
    return {
      name: scenario.name,
      status: 'ERROR',
      durationMs: Date.now() - started,
      captured,
      observations,
      error: { code: e.code, message: e.message, context: e.context },
      resultsDir: dir,
    };
  } finally {
    // Best effort: the guest may be gone; the VM is discarded after an error anyway.
    if (bpf) await bpf.stop().catch(() => undefined);
    if (moduleLoaded) await shell.exec('rmmod page_order', { allowFailure: true, timeoutMs: 10_000 }).catch(() => undefined);
    for (const cmd of scenario.teardown) await exec(cmd, 60_000, true).catch(() => undefined);
    await exec('dmesg', 30_000, true)
      .then((r) => writeFile(join(dir, 'dmesg.txt'), r.stdout))
      .catch(() => undefined);
  }
}
