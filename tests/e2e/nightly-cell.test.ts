import { execa } from 'execa';
import { appendFileSync, chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { readRunResult } from '../../lab/report/result.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * The nightly workflow's `run:` steps executed on this machine, in order, as GitHub would: the
 * matrix job with a manual run's inputs (6.12, idle-baseline, one shard), then the one build and
 * the one cell it computes, with the env the workflow, the job and the step set, $GITHUB_OUTPUT and $GITHUB_ENV
 * carried between steps, and `${{ }}` expressions substituted (an unsupported one fails the test).
 * `uses:` steps are skipped, after checking they are actions the workflow means to use and that
 * their inputs resolve. One substitution: `npm ci` is not run (it would reinstall the node_modules
 * this machine shares); a stand-in checks the lockfile and the installed modules instead.
 */

type Step = { name?: string; id?: string; run?: string; uses?: string; with?: Record<string, string | boolean | number>; env?: Record<string, string>; if?: string; shell?: string };
type Job = { env?: Record<string, string>; steps: Step[]; strategy?: { matrix: string }; outputs?: Record<string, string> };
type Workflow = { env?: Record<string, string>; defaults?: { run?: { shell?: string } }; jobs: Record<string, Job> };

const KNOWN_ACTIONS = [
  'actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1',
  'actions/cache/restore@27d5ce7f107fe9357f9df03efb73ab90386fccae',
  'actions/cache/save@27d5ce7f107fe9357f9df03efb73ab90386fccae',
  'actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f',
  'actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c',
  'dawidd6/action-download-artifact@b6e2e70617bc3265edd6dab6c906732b2f1ae151',
];

const workflow = parse(readFileSync(join(repoRoot, '.github', 'workflows', 'nightly.yml'), 'utf8')) as Workflow;
const work = tempDir('nightly-cell-');
const log = join(work, 'steps.log');

interface Context {
  inputs: Record<string, string>;
  matrix: Record<string, string>;
  env: Record<string, string>;
  steps: Record<string, { outputs: Record<string, string> }>;
  github: Record<string, string>;
}

/** `${{ a.b.c }}` for the contexts this workflow's steps use; anything else is refused rather than guessed. */
function expand(text: string, ctx: Context): string {
  return text.replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, expr: string) => {
    const m = /^(inputs|matrix|env|github)\.([\w-]+)$/.exec(expr) ?? /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(expr);
    if (!m) throw new Error(`unsupported expression in a step: \${{ ${expr} }}`);
    const value = expr.startsWith('steps.') ? ctx.steps[m[1]!]?.outputs[m[2]!] : (ctx[m[1] as 'inputs' | 'matrix' | 'env' | 'github'] as Record<string, string>)[m[2]!];
    if (value === undefined && !expr.startsWith('inputs.')) throw new Error(`\${{ ${expr} }}: nothing sets it before this step`);
    return value ?? '';
  });
}

/** key=value lines, as $GITHUB_OUTPUT and $GITHUB_ENV take them (the multi-line form is not used by this workflow). */
function keyValues(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    if (/^[\w-]+<</.test(line)) throw new Error(`${file}: multi-line values are not supported by this test: ${line}`);
    const i = line.indexOf('=');
    out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** A stand-in npm on PATH: `npm ci` checks what it would install from, everything else is the real npm. */
async function npmStandIn(): Promise<string> {
  const realNpm = (await execa('sh', ['-c', 'command -v npm'])).stdout.trim();
  const bin = join(work, 'bin');
  await execa('mkdir', ['-p', bin]);
  writeFileSync(
    join(bin, 'npm'),
    `#!/bin/sh\nif [ "$1" = ci ]; then\n  test -f package-lock.json && test -x node_modules/.bin/tsx && echo "npm ci: not run here; node_modules is installed from package-lock.json"\n  exit $?\nfi\nexec ${realNpm} "$@"\n`,
  );
  chmodSync(join(bin, 'npm'), 0o755);
  return bin;
}

/** Run one job's steps in order; a failing run: step fails the test. */
async function runJob(name: string, ctx: Context, bin: string): Promise<{ ran: string[]; skipped: Step[] }> {
  const job = workflow.jobs[name]!;
  const shell = workflow.defaults?.run?.shell;
  expect(shell, 'the workflow sets bash as its shell: the steps rely on pipefail').toBe('bash');
  const jobEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...workflow.env, ...job.env })) jobEnv[k] = expand(String(v), ctx);
  const ran: string[] = [];
  const skipped: Step[] = [];
  for (const [i, step] of job.steps.entries()) {
    const label = step.name ?? step.run ?? step.uses!;
    if (step.uses) {
      expect(KNOWN_ACTIONS, `${name} step ${i}: ${step.uses}`).toContain(step.uses);
      // inputs must resolve with what the steps before produced (cache keys, artifact names)
      for (const v of Object.values(step.with ?? {})) expand(String(v), { ...ctx, env: { ...ctx.env, ...jobEnv } });
      skipped.push(step);
      continue;
    }
    expect(step.if, `${name} step "${label}": run: steps carry no condition here`).toBeUndefined();
    expect(step.shell).toBeUndefined();
    const stepCtx = { ...ctx, env: { ...ctx.env, ...jobEnv } };
    const stepEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(step.env ?? {})) stepEnv[k] = expand(String(v), stepCtx);
    const script = join(work, `${name}-${i}.sh`);
    writeFileSync(script, expand(step.run!, stepCtx));
    const files = { GITHUB_OUTPUT: join(work, `${name}-${i}.output`), GITHUB_ENV: join(work, 'github.env'), GITHUB_STEP_SUMMARY: join(work, 'summary.md') };
    for (const f of Object.values(files)) appendFileSync(f, '');
    appendFileSync(log, `\n=== ${name}: ${label}\n`);
    const r = await execa('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
      cwd: repoRoot,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: repoRoot, ...files, ...ctx.env, ...jobEnv, ...stepEnv },
      all: true,
      reject: false,
      stdin: 'ignore',
    });
    appendFileSync(log, `${r.all}\n=== exit ${r.exitCode}\n`);
    expect(r.exitCode, `${name} step "${label}" failed:\n${String(r.all).slice(-3000)}`).toBe(0);
    if (step.id) ctx.steps[step.id] = { outputs: keyValues(files.GITHUB_OUTPUT) };
    Object.assign(ctx.env, keyValues(files.GITHUB_ENV));
    ran.push(label);
  }
  return { ran, skipped };
}

describe('one build and one cell of .github/workflows/nightly.yml, run here', () => {
  const artifact = join(repoRoot, 'kernel-artifact');
  let shardRoot: string | undefined;

  afterAll(() => {
    if (shardRoot) rmSync(shardRoot, { recursive: true, force: true });
    rmSync(artifact, { recursive: true, force: true });
  });

  it('the matrix job resolves 6.12 to its release; the build job hands the kernel over; the cell boots it without building and leaves results to upload', async () => {
    expect(existsSync(artifact), `${artifact} exists already: move it away, this test writes and removes it`).toBe(false);
    const bin = await npmStandIn();
    const ctx: Context = { inputs: { kernels: '6.12', scenarios: 'idle-baseline', shards: '1' }, matrix: {}, env: {}, steps: {}, github: { workspace: repoRoot, run_id: '1' } };

    const matrixJob = await runJob('matrix', ctx, bin);
    expect(matrixJob.ran).toEqual(['Install dependencies', 'Host packages (lab setup)', 'Resolve the kernels and compute the matrix (lab keys, lab matrix)']);
    const { include } = JSON.parse(ctx.steps.matrix!.outputs.matrix!) as { include: Record<string, string>[] };
    const builds = (JSON.parse(ctx.steps.matrix!.outputs.builds!) as { include: Record<string, string>[] }).include;
    const release = builds[0]!.kernel!;
    expect(release).toMatch(/^6\.12\.\d+$/);
    expect(include).toEqual([{ name: `${release}-lab-1of1`, kernel: release, flavor: 'lab', scenarios: 'idle-baseline', shard: '1/1', results: `${release}-lab/shard-1of1` }]);
    expect(builds).toEqual([{ name: `${release}-lab`, kernel: release, flavor: 'lab', key: expect.stringMatching(/^[0-9a-f]{64}$/) as string }]);
    shardRoot = join(repoRoot, 'results', `${release}-lab`);
    expect(existsSync(shardRoot), `${shardRoot} exists already: move it away, this test writes and removes it`).toBe(false);

    const buildCtx: Context = { ...ctx, matrix: builds[0]!, steps: {}, env: {} };
    const build = await runJob('build', buildCtx, bin);
    expect(build.ran).toEqual(['Install dependencies', 'Host packages (lab setup)', 'Build the kernel, or take it from the cache (lab build)']);
    // the artifact the shards restore: the cache entry and its index record under the matrix's key
    expect(readdirSync(join(artifact, 'kernels', 'index'))).toEqual([`${builds[0]!.key}.key`]);
    const cacheDir = join(homedir(), '.cache', 'page-owner-lab');
    expect(existsSync(join(cacheDir, 'kernels', 'index', `${builds[0]!.key}.key`))).toBe(true);

    const cellCtx: Context = { ...ctx, matrix: include[0]!, steps: {}, env: {} };
    const cell = await runJob('cell', cellCtx, bin);
    expect(cell.ran).toEqual([
      'Install dependencies',
      'Host packages (lab setup)',
      'Accelerator (KVM where the runner has /dev/kvm, else TCG)',
      "The lab's cache keys (lab keys)",
      'Run the cell (lab run --no-build)',
    ]);
    const steps = readFileSync(log, 'utf8');
    // it says which accelerator the guests get, and where its kernel came from
    expect(steps).toMatch(/^(ok|warn) +accelerator +(KVM|TCG): /m);
    expect(steps).toMatch(/^kernel from the build job: /m);

    // the cell's keys name the same kernel build as the matrix job's, and the cached image
    const keys = cellCtx.steps.keys!.outputs;
    expect(Object.keys(keys).sort()).toEqual(['compiler', 'image', 'kernel']);
    expect(keys.kernel).toBe(builds[0]!.key);
    expect(readdirSync(join(cacheDir, 'images')).some((d) => keys.image!.startsWith(d.split('-').at(-1)!))).toBe(true);
    const download = cell.skipped.find((s) => s.name === 'The kernel of the build job')!;
    expect(expand(String(download.with!.name), { ...cellCtx, env: {} })).toBe(`kernel-${builds[0]!.name}`);

    // what the upload step takes: results/<cell results>/<run>/, a passing run of the cell's scenario
    const shardDir = join(repoRoot, 'results', include[0]!.results!);
    const runs = readdirSync(shardDir);
    expect(runs).toHaveLength(1);
    const result = await readRunResult(join(shardDir, runs[0]!));
    expect(result.scenarios.map((s) => [s.name, s.status])).toEqual([['idle-baseline', 'PASS']]);
    expect(result.kernel!.release).toBe(release);
    expect(result.kernel!.cacheHit).toBe(true);

    // and the report job's first step on it: lab merge of the cell's shard
    const merged = join(work, 'merged');
    const m = await execa('npm', ['run', '-s', 'lab', '--', 'merge', join(shardDir, runs[0]!), '--out', merged], { cwd: repoRoot, reject: false });
    expect(m.exitCode, m.stderr).toBe(0);
    expect((await readRunResult(merged)).status).toBe('PASS');
  });
});
