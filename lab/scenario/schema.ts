/**
 * Scenarios are data (scenarios/*.yaml): what to set up in the guest, what to
 * run, what to capture from its output and what must hold afterwards.
 */
import { z } from 'zod';

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
  bpftrace: z.enum(['summary']).default('summary'),
  steps: z.array(StepSchema).min(1),
  /** Derived variables: name -> arithmetic over captured variables. */
  vars: z.record(variableName, z.string().min(1)).default({}),
  expect: z.array(z.string().min(1)).min(1),
  /** Commands run after observation, also when a step failed. */
  teardown: z.array(command).default([]),
});

export type Scenario = z.infer<typeof ScenarioSchema> & { name: string; file: string };
