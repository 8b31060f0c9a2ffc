/**
 * The one place a scenario's status is made, from what the runner collected:
 * a precondition that is not met (SKIP), an infrastructure error that ended
 * it (ERROR), else the scenario's expectations and the lab's cross-checks
 * (FAIL on a failed one, ERROR on one that cannot be judged), overridden by a
 * kernel error on the console (ERROR: a kernel that reported one is broken,
 * whatever the counts say). A kernel report is matched against the
 * scenario's known issues, and a FAIL or ERROR on a version they list as
 * clean is a regression.
 */
import type { MetricRegistry } from '../metrics/registry.ts';
import type { Observations } from '../observe/observations.ts';
import { labChecks } from './checks.ts';
import { judge, type CompiledExpectation, type CompiledVar, type Judgement } from './judge.ts';
import { knownIssueRegression, knownIssueVersions, matchKnownIssue, type KnownIssue, type KnownIssueRecord, type KnownIssueVersions } from './known-issues.ts';

export type ScenarioStatus = 'PASS' | 'FAIL' | 'ERROR' | 'SKIP';

export interface ScenarioError {
  code: string;
  message: string;
  context?: Record<string, unknown>;
}

interface VerdictInput {
  /** The compiled scenario: its variables and expectations, what it allows, its known issues. */
  scenario: { vars: CompiledVar[]; expect: CompiledExpectation[]; allow: { missed: boolean | number; window?: number }; known_issues: readonly KnownIssueRecord[] };
  observations: Observations;
  captured: Record<string, number>;
  registry: MetricRegistry;
  /** uname -r of the guest. */
  release: string;
  /** Why the scenario did not run here (a precondition). */
  skipReason?: string;
  /** The infrastructure error that ended the scenario early: no verdict from its counts then. */
  error?: ScenarioError;
  /** The kernel's own report (Oops, BUG, KASAN ...) when the console showed one during the scenario. */
  kernelReport?: string[];
}

interface ScenarioVerdict {
  status: ScenarioStatus;
  judgement?: Judgement;
  /** The lab's cross-checks (observers agree, nothing missed, no kernel errors). */
  checks?: Judgement;
  error?: ScenarioError;
  /** The known issue the kernel report matched. */
  knownIssue?: KnownIssue;
  /** The scenario's known issues and the versions recorded for each (scenarios that have some). */
  knownIssues?: KnownIssueVersions[];
  /** A FAIL or ERROR on a version a known issue lists as fixed or unaffected. */
  regression?: string;
}

export function verdictOf(v: VerdictInput): ScenarioVerdict {
  const base = statusOf(v);
  const knownIssue = v.kernelReport ? matchKnownIssue(v.scenario.known_issues, v.kernelReport, v.release) : undefined;
  const known = v.scenario.known_issues;
  const regression = known.length ? knownIssueRegression(known, base.status, v.release, knownIssue) : undefined;
  return {
    ...base,
    ...(knownIssue ? { knownIssue } : {}),
    ...(known.length ? { knownIssues: knownIssueVersions(known) } : {}),
    ...(regression ? { regression } : {}),
  };
}

function statusOf(v: VerdictInput): Pick<ScenarioVerdict, 'status' | 'judgement' | 'checks' | 'error'> {
  if (v.skipReason !== undefined) return { status: 'SKIP' };
  if (v.error) return { status: 'ERROR', error: v.error };
  const judged = { registry: v.registry, release: v.release };
  const judgement = judge(v.scenario, v.observations, v.captured, judged);
  const checks = judge({ vars: [], expect: labChecks(v.observations, { allowMissed: v.scenario.allow.missed, window: v.scenario.allow.window }) }, v.observations, {}, judged);
  const kernelErrors = v.observations.dmesg?.kernelErrors ?? [];
  if (kernelErrors.length) {
    const error = { code: 'KERNEL_ERROR', message: `the kernel reported ${kernelErrors.length} error line(s) during the scenario, first: ${kernelErrors[0]}`, context: { lines: kernelErrors.slice(0, 10) } };
    return { status: 'ERROR', judgement, checks, error };
  }
  const verdicts = [judgement.verdict, checks.verdict];
  return { status: verdicts.includes('error') ? 'ERROR' : verdicts.includes('fail') ? 'FAIL' : 'PASS', judgement, checks };
}
