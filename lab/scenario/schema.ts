/**
 * Scenarios are data (scenarios/*.yaml): what to set up in the guest, what to
 * run, what to capture from its output and what must hold afterwards.
 */
import { z } from 'zod';
import { KERNEL_CONDITION } from '../expr/expr.ts';

/** A kernel version a record lists: "6.12", "6.12.117". */
const VERSION = /^\d+\.\d+(\.\d+)?$/;

const command = z.string().min(1, 'a shell command run in the guest');
const variableName = z.string().regex(/^[a-z_][a-z0-9_]*$/, 'lower-case letters, digits and underscores');

const StepSchema = z.strictObject({
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
      /** The workload's task name prefix: its set/reset events (bpf.set_comm[N]) and dump records (debugfs.records_comm[N]) apart. */
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
      /** Guest memory the scenario needs (MiB): a smaller guest SKIPs it, naming --memory. */
      memory_mb: z.number().int().positive().optional(),
    })
    .default({ hooks: [], vmstat: [], files: [] }),
  /**
   * Kprobe misses (module.nmissed) and lost bpftrace events fail a scenario
   * unless allowed: true for any number, or how many misses are acceptable.
   */
  allow: z
    .strictObject({
      missed: z.union([z.boolean(), z.number().int().min(0)]).default(false),
      /**
       * How many more pages bpftrace may see than the module (the window check): a workload that
       * goes on after the module's table is read (module-filter's load) is counted by bpftrace alone.
       */
      window: z.number().int().min(0).optional(),
    })
    .default({ missed: false }),
  /**
   * Kernel bugs this scenario is known to hit: when a kernel report during the scenario
   * matches `report` (a regular expression over its lines) on a matching kernel, the
   * result names the bug and its upstream fix next to the report.
   */
  known_issues: z
    .array(
      z.strictObject({
        title: z.string().min(1),
        report: z.string().min(1),
        kernel: z.string().regex(KERNEL_CONDITION, 'a condition such as ">= 6.10"').optional(),
        /** The upstream fix: subject line (and commit when known); none when there is no fix yet. */
        fix: z.string().min(1).optional(),
        /** The commit that introduced the bug, as the fix's Fixes: tag names it. */
        fixes: z.string().optional(),
        /** Why: the evidence in a sentence or two. */
        details: z.string().optional(),
        /**
         * The versions the lab ran the scenario on, as it found them: the bug showed
         * (affected), the bug was gone after it had been there (fixed), the bug was never
         * there (unaffected). A FAIL or ERROR on a fixed or unaffected version, or on a
         * release after a fixed one, is a regression.
         */
        affected: z.array(z.string().regex(VERSION, 'a kernel version such as 6.12.117')).default([]),
        fixed: z.array(z.string().regex(VERSION, 'a kernel version such as 7.3.4')).default([]),
        unaffected: z.array(z.string().regex(VERSION, 'a kernel version such as 6.12.107')).default([]),
      }),
    )
    .default([]),
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
  /** Commands run after observation (bpftrace stopped, before the module is unloaded), also when a step failed. */
  teardown: z.array(command).default([]),
});

export type ScenarioData = z.infer<typeof ScenarioSchema>;
