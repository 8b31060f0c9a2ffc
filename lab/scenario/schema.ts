/**
 * Scenarios are data (scenarios/*.yaml): what to set up in the guest, what to
 * run, what to capture from its output and what must hold afterwards.
 */
import { z } from 'zod';
import { compare, type CompareOp } from '../judge/expr.ts';
import { compareVersions } from '../kernel/spec.ts';

/** ">= 6.9", "< 6.12.5" */
export const KERNEL_CONDITION = /^(>=|<=|==|!=|>|<)\s*(\d+\.\d+(?:\.\d+)?)$/;

const command = z.string().min(1, 'a shell command run in the guest');
const variableName = z.string().regex(/^[a-z_][a-z0-9_]*$/, 'lower-case letters, digits and underscores');

export const StepSchema = z.strictObject({
  name: z.string().min(1),
  run: command,
  timeout_s: z.number().positive().max(3600).default(60),
  /** variable -> regular expression with one group, matched against the step's stdout. */
  capture: z.record(variableName, z.string().min(1)).default({}),
});

export const ScenarioSchema = z.strictObject({
  description: z.string().min(1),
  /** Commands run before probes attach: silence noise, reach a known state. */
  setup: z.array(command).default([]),
  module: z
    .strictObject({
      orders: z.array(z.number().int().min(0).max(18)).min(1),
      participation: z.array(z.number().int().min(0).max(100)).optional(),
    })
    .refine((m) => !m.participation || m.participation.length === m.orders.length, {
      message: 'participation needs one value per order',
      path: ['participation'],
    })
    .default({ orders: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }),
  /** summary: counts per event; trace: also one line per event in the seed's format (results/<scenario>/bpftrace.txt). */
  bpftrace: z
    .strictObject({
      mode: z.enum(['summary', 'trace']).default('summary'),
      /** Count set/reset of tasks whose comm starts with this apart (bpf.set_comm[N]). */
      comm: z.string().regex(/^[\w.-]{1,15}$/, 'a task name prefix (comm, at most 15 characters)').optional(),
    })
    .default({ mode: 'summary' }),
  /** Preconditions: when one is absent the scenario is SKIPPED with the reason. */
  requires: z
    .strictObject({
      kernel: z.string().regex(KERNEL_CONDITION, 'a condition such as ">= 6.9"').optional(),
      hooks: z.array(z.string()).default([]),
      vmstat: z.array(z.string().regex(/^\w+$/)).default([]),
      files: z.array(z.string().startsWith('/')).default([]),
    })
    .default({ hooks: [], vmstat: [], files: [] }),
  /**
   * Kprobe misses (module.nmissed) and lost bpftrace events fail a scenario
   * unless allowed: true for any number, or how many misses are acceptable.
   */
  allow: z.strictObject({ missed: z.union([z.boolean(), z.number().int().min(0)]).default(false) }).default({ missed: false }),
  steps: z.array(StepSchema).min(1),
  /** Derived variables: name -> arithmetic over captured variables. */
  vars: z.record(variableName, z.string().min(1)).default({}),
  expect: z
    .array(
      z.union([
        z.string().min(1),
        z.strictObject({
          expect: z.string().min(1),
          /** Only on kernels that match, e.g. "kernel >= 6.9" (hooks whose arguments changed). */
          when: z.string().regex(new RegExp(`^kernel\\s*${KERNEL_CONDITION.source.slice(1)}`), 'a condition such as "kernel >= 6.9"'),
        }),
      ]),
    )
    .min(1),
  /** Commands run after observation, also when a step failed. */
  teardown: z.array(command).default([]),
});

export interface Expectation {
  expect: string;
  when?: string;
}

export type Scenario = Omit<z.infer<typeof ScenarioSchema>, 'expect'> & { expect: Expectation[]; name: string; file: string };

/** Does `release` satisfy a condition such as ">= 6.9" (or "kernel >= 6.9")? */
export function kernelMatches(condition: string, release: string): boolean {
  const m = KERNEL_CONDITION.exec(condition.replace(/^kernel\s*/, '').trim());
  return m ? compare(compareVersions(release, m[2]!), m[1] as CompareOp, 0) : false;
}
