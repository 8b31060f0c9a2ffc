/**
 * `lab bisect`: which commit of a kernel tree changed what a scenario sees.
 * git bisect runs in a linked worktree in the lab's cache (the user's working
 * tree and HEAD are never touched); every step builds the checked-out
 * revision incrementally in one O= tree kept for the whole bisection, and
 * boots it, runs the scenario as `lab run` does (a results folder of its own)
 * and marks the revision: PASS good, FAIL bad, ERROR (a build failure too)
 * skip, with the reason. An answer that rests on an untested endpoint (the
 * first bad commit is --bad itself, or follows --good) is confirmed by
 * testing that endpoint. Marks are saved after every step (`git bisect log`
 * in the cache, keyed by tree, range and scenario): an interrupted bisection
 * continues with --resume.
 *
 * The worktree and the build tree are laid out as the lab's own builds are
 * (sources/<name>, tmp/<build>, under CCACHE_BASEDIR), the worktree named
 * like the cached source of the same release: ccache then sees the same
 * relative paths, and the first build of a tree near a release the lab has
 * built mostly hits.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { sweep, writeKernelRecord, type ArtifactContext, type KernelArtifacts } from '../run/artifacts.ts';
import type { LabConfig } from '../core/config.ts';
import { InfraError, InputError, InterruptedError, isLabError } from '../core/errors.ts';
import { withLock } from '../core/lock.ts';
import { runId } from '../core/paths.ts';
import { removeInBackground } from '../core/proc.ts';
import { formatDuration, untimed, type ProgressReporter } from '../core/reporter.ts';
import { ensureHost } from '../host/setup.ts';
import { buildInTree } from '../kernel/build.ts';
import type { FragmentEntry } from '../kernel/config.ts';
import { Bisector, checkRange, commitInfo, git, gitTop, resolveRevision, showFile, type BisectState } from '../kernel/git.ts';
import { DEFAULT_FLAVOR, labFragments, userFragments } from '../kernel/inputs.ts';
import { cachedVersions, fromTree } from '../kernel/source.ts';
import { versionFromMakefile } from '../kernel/spec.ts';
import { MetricRegistry } from '../metrics/registry.ts';
import { loadHooks } from '../observe/hooks.ts';
import { runLab } from '../run/pipeline.ts';
import { markOf, writeBisectReports, BISECT_SCHEMA_VERSION, type BisectCommit, type BisectResult, type BisectStep } from '../report/bisect.ts';
import type { RunResult } from '../report/result.ts';
import { loadScenario, withExpectations, type Scenario } from '../scenario/load.ts';

/** What every bisection takes, of commits or of releases: the scenario and how each step builds and boots. */
export interface BisectInputs {
  config: LabConfig;
  good: string;
  bad: string;
  scenario: string;
  /** --expect: added to the scenario's expectations, or replacing those with the same left side. */
  expect?: string[];
  flavor?: string;
  configFragments?: string[];
  kconfig?: string[];
  append?: string[];
  reporter: ProgressReporter;
  signal?: AbortSignal;
}

interface BisectOptions extends BisectInputs {
  /** --kernel-src: the git tree. */
  tree: string;
  /** Continue the interrupted bisection of the same tree, range and scenario. */
  resume?: boolean;
  /** Runs one step (build, boot, scenario); the default is the real one, tests pass a stand-in. */
  runStep?: StepRunner;
}

export interface StepInput {
  commit: string;
  /** The worktree, checked out at `commit`. */
  worktree: string;
  repo: string;
  buildTree: string;
  scenario: Scenario;
  fragments: FragmentEntry[];
  flavor: string;
  resultsDir: string;
  config: LabConfig;
  append: string[];
  reporter: ProgressReporter;
  signal?: AbortSignal;
}

type StepRunner = (step: StepInput) => Promise<RunResult>;

/** What --resume needs: the options that decide verdicts, the marks (git bisect log) and the steps so far. */
interface SavedState {
  schemaVersion: 1;
  key: string;
  expect: string[];
  flavor: string;
  fragments: string;
  resultsDir: string;
  result: BisectResult;
}

interface BisectRun {
  result: BisectResult;
  resultsDir: string;
}

const CONFIRM_NOTE = 'confirmed by testing the endpoint';

/** A bisection's inputs, checked, and the places it keeps its state (under the cache's bisect/<key>). */
interface Bisection {
  opts: BisectOptions;
  repo: string;
  good: { rev: string; commit: string };
  bad: { rev: string; commit: string };
  scenario: Scenario;
  fragments: FragmentEntry[];
  /** The fragments as one text: a resumed bisection must have the same. */
  fragmentText: string;
  expect: string[];
  flavor: string;
  key: string;
  home: string;
  stateFile: string;
  logFile: string;
  buildTree: string;
  trash: () => string;
  bisector: Bisector;
}

/** Input first, all of it checked before a worktree or a build exists. */
async function checkBisection(opts: BisectOptions): Promise<Bisection> {
  const paths = opts.config.paths;
  const expect = opts.expect ?? [];
  const flavor = opts.flavor ?? DEFAULT_FLAVOR;
  const repo = await gitTop(opts.tree);
  const good = { rev: opts.good, commit: await resolveRevision(repo, opts.good, '--good') };
  const bad = { rev: opts.bad, commit: await resolveRevision(repo, opts.bad, '--bad') };
  await checkRange(repo, good, bad);
  const makefile = await showFile(repo, bad.commit, 'Makefile');
  if (!makefile) throw new InputError('NOT_A_KERNEL_TREE', `--kernel-src ${opts.tree}: no Makefile at --bad ${opts.bad}; expected a Linux source tree`, { value: opts.tree });
  const version = versionFromMakefile(makefile);
  const registry = new MetricRegistry(await loadHooks(paths.repo));
  const scenario = withExpectations(await loadScenario(join(paths.repo, 'scenarios'), opts.scenario, registry), expect, registry);
  const fragments = [
    ...(await labFragments(paths.repo, version, flavor)),
    ...(await userFragments({ kernel: version, kernelSrc: repo, configFragments: opts.configFragments, kconfig: opts.kconfig })),
  ];
  const key = createHash('sha256').update(JSON.stringify([repo, good.commit, bad.commit, scenario.file])).digest('hex').slice(0, 16);
  const home = join(paths.cache, 'bisect', key);
  // tmp/<name>-<pid>-*: `lab cache prune` removes what a background deletion did not finish
  const trash = () => join(paths.cache, 'tmp', `bisect-${process.pid}-${randomBytes(4).toString('hex')}`);
  const cachedSource = (await cachedVersions(paths.cache)).find((c) => c.version === version);
  return {
    opts,
    repo,
    good,
    bad,
    scenario,
    fragments,
    fragmentText: fragments.map((f) => `${f.name}=${f.value}`).join('\n'),
    expect,
    flavor,
    key,
    home,
    stateFile: join(home, 'state.json'),
    logFile: join(home, 'bisect.log'),
    buildTree: join(home, 'tmp', 'build'),
    trash,
    bisector: new Bisector(repo, join(home, 'sources', cachedSource ? basename(cachedSource.tree) : version), { root: paths.cache, next: trash }),
  };
}

export async function runBisect(opts: BisectOptions): Promise<BisectRun> {
  const b = await checkBisection(opts);
  return withLock(
    join(opts.config.paths.cache, 'locks', `bisect-${b.key}.lock`),
    async () => {
      const { saved, result, resultsDir } = await openBisection(b);
      const save = async () => {
        const state: SavedState = { schemaVersion: 1, key: b.key, expect: b.expect, flavor: b.flavor, fragments: b.fragmentText, resultsDir, result };
        await writeFile(b.stateFile, JSON.stringify(state, null, 2));
        await writeBisectReports(result, resultsDir, opts.reporter);
      };
      opts.reporter.stage('bisect', `${b.scenario.name} over ${b.repo}: good ${b.good.rev} (${b.good.commit.slice(0, 12)}), bad ${b.bad.rev} (${b.bad.commit.slice(0, 12)}); results: ${resultsDir}`);
      if (saved) opts.reporter.stage('bisect', `resuming: ${result.steps.length} step(s) done, replaying the marks`);
      await driveBisection(b, { saved, result, resultsDir, save, step: stepper(b, result, resultsDir, save) });
      return { result, resultsDir };
    },
    () => opts.reporter.stage('bisect', 'waiting for another lab process, which runs the same bisection'),
  );
}

/** A resumed bisection's saved state (checked against these options), or a fresh one; its results folder and result. */
async function openBisection(b: Bisection): Promise<{ saved?: SavedState; result: BisectResult; resultsDir: string }> {
  const { opts } = b;
  let saved: SavedState | undefined;
  if (opts.resume) {
    saved = await readState(b.stateFile, b.logFile);
    if (!saved) {
      throw new InputError('NO_BISECTION_TO_RESUME', `--resume: no interrupted bisection of ${b.repo} from --good ${opts.good} to --bad ${opts.bad} with --scenario ${opts.scenario}`, {
        value: b.key,
      });
    }
    const differs = [
      JSON.stringify(saved.expect) !== JSON.stringify(b.expect) && `--expect (was ${saved.expect.map((e) => JSON.stringify(e)).join(' ') || 'none'})`,
      saved.flavor !== b.flavor && `--flavor (was ${saved.flavor})`,
      saved.fragments !== b.fragmentText && 'the kernel config fragments or --kconfig',
    ].filter(Boolean);
    if (differs.length) throw new InputError('BAD_OPTION', `--resume: the interrupted bisection was run with other ${differs.join(', ')}; its marks would not mean the same`, { value: b.key });
  } else {
    // a new bisection: earlier marks go, and the build tree (it may hold another configuration)
    await rm(b.stateFile, { force: true });
    await rm(b.logFile, { force: true });
    await removeInBackground(opts.config.paths.cache, b.buildTree, b.trash());
  }
  await mkdir(b.home, { recursive: true });
  const resultsDir = saved && existsSync(saved.resultsDir) ? saved.resultsDir : join(opts.config.paths.results, runId(`bisect-${b.scenario.name}`));
  await mkdir(resultsDir, { recursive: true });
  opts.reporter.attachLog(join(resultsDir, 'lab.log'));
  const result: BisectResult = saved
    ? { ...saved.result, status: 'error', resumed: saved.result.resumed + 1, finishedAt: undefined, error: undefined }
    : {
        schemaVersion: BISECT_SCHEMA_VERSION,
        runId: resultsDir.split('/').pop()!,
        status: 'error',
        message: '',
        startedAt: new Date().toISOString(),
        tree: b.repo,
        good: b.good,
        bad: b.bad,
        scenario: b.scenario.name,
        expect: b.expect,
        flavor: b.flavor,
        buildTree: b.buildTree,
        resumed: 0,
        steps: [],
      };
  return { saved, result, resultsDir };
}

type StepFn = (commit: string, role: BisectStep['role']) => Promise<BisectStep>;

/** One step: build, boot and run the scenario at `commit` (unless the interrupted run did), mark it, save. */
function stepper(b: Bisection, result: BisectResult, resultsDir: string, save: () => Promise<void>): StepFn {
  const { opts } = b;
  const { reporter, signal } = opts;
  const runStep = opts.runStep ?? realStep;
  return async (commit, role) => {
    // a step the interrupted run finished but did not get to mark is not run again
    const done = result.steps.find((s) => s.commit === commit && s.role === role);
    if (done) {
      reporter.stage('bisect', `${commit.slice(0, 12)}: ${done.mark} (step ${done.n}, from the interrupted run)`);
      return done;
    }
    const n = result.steps.length + 1;
    const info = await commitInfo(b.repo, commit);
    reporter.stage('bisect', `step ${n}: ${commit.slice(0, 12)} ${info.subject}${role === 'endpoint' ? ' (endpoint)' : ''}`);
    const started = Date.now();
    const dir = join(resultsDir, 'steps', `${n}-${commit.slice(0, 12)}`);
    const run = await runStep({
      commit,
      worktree: b.bisector.worktree,
      repo: b.repo,
      buildTree: b.buildTree,
      scenario: b.scenario,
      fragments: b.fragments,
      flavor: b.flavor,
      resultsDir: dir,
      config: opts.config,
      append: opts.append ?? [],
      reporter,
      signal,
    });
    if (signal?.aborted) throw new InterruptedError('SIGINT');
    const { mark, reason } = markOf(run);
    const s: BisectStep = {
      n,
      commit,
      subject: info.subject,
      role,
      status: run.status,
      mark,
      ...(reason ? { reason } : {}),
      ...(run.kernel ? { buildSeconds: run.kernel.buildSeconds } : {}),
      stepSeconds: (Date.now() - started) / 1000,
      expectations: (run.scenarios[0]?.judgement?.expectations ?? []).map(({ expect: e, verdict, left, right, values }) => ({ expect: e, verdict, left, right, values })),
      resultsDir: dir,
    };
    result.steps.push(s);
    await save();
    const build = s.buildSeconds === undefined ? 'no build' : `build ${formatDuration(s.buildSeconds * 1000)}`;
    reporter.stage('bisect', `step ${n}: ${commit.slice(0, 12)} is ${mark} (${run.status}; ${build}, step ${formatDuration(s.stepSeconds * 1000)})${reason ? `: ${reason}` : ''}`);
    return s;
  };
}

/**
 * git bisect in the worktree, a step per revision it asks for, until an
 * answer (confirmed on an untested endpoint) or none; an interruption or an
 * error is saved for --resume. The worktree goes whatever happens; a finished
 * bisection's state goes too.
 */
async function driveBisection(
  b: Bisection,
  o: { saved?: SavedState; result: BisectResult; resultsDir: string; save: () => Promise<void>; step: StepFn },
): Promise<void> {
  const { reporter, signal } = b.opts;
  const { result } = o;
  const { bisector } = b;
  let finished = false;
  try {
    reporter.stage('bisect', `worktree ${bisector.worktree}`);
    await bisector.addWorktree(b.bad.commit);
    let state: BisectState = o.saved ? await bisector.replay(b.logFile) : await bisector.start(b.bad.commit, b.good.commit);
    await writeFile(b.logFile, await bisector.log());
    while (state.kind === 'test') {
      if (signal?.aborted) throw new InterruptedError('SIGINT');
      const s = await o.step(state.commit, 'bisect');
      state = await bisector.mark(s.mark, state.commit);
      await writeFile(b.logFile, await bisector.log());
    }
    result.bisectLog = await bisector.log();
    if (state.kind === 'only-skipped') {
      result.status = 'no-answer';
      result.candidates = await Promise.all(state.candidates.map((c) => commitInfo(b.repo, c)));
      result.message = `no answer: only skipped revisions are left; the first bad commit is one of ${state.candidates.length}: ${state.candidates.map((c) => c.slice(0, 12)).join(', ')}`;
    } else {
      const first = await commitInfo(b.repo, state.commit);
      const verdict = await confirm(first, { good: b.good, bad: b.bad, repo: b.repo, steps: result.steps, worktree: bisector.worktree, step: o.step });
      result.status = verdict.answer ? 'found' : 'no-answer';
      if (verdict.answer) result.firstBad = first;
      result.message = verdict.message;
    }
    reporter.stage('bisect', result.message);
    finished = true;
  } catch (e) {
    if (signal?.aborted || (isLabError(e) && e.code === 'INTERRUPTED')) {
      result.status = 'interrupted';
      result.message = `interrupted after ${result.steps.length} step(s); continue with the same command and --resume`;
    } else {
      result.status = 'error';
      result.error = isLabError(e) ? { code: e.code, message: e.message } : { code: 'INTERNAL', message: String(e) };
      result.message = `error: ${result.error.message}`;
      if (!isLabError(e) || e.exitCode === 2 || e.exitCode === 4) throw e;
    }
    reporter.stage('bisect', result.message);
  } finally {
    await bisector.reset().catch(() => undefined);
    await bisector.removeWorktree().catch((e: unknown) => reporter.warn('bisect', `could not remove the worktree ${bisector.worktree}: ${(e as Error).message}`));
    result.finishedAt = new Date().toISOString();
    if (finished) {
      // nothing left to resume; ccache keeps what the build tree compiled
      await removeInBackground(b.opts.config.paths.cache, b.home, b.trash());
      await writeBisectReports(result, o.resultsDir, reporter);
    } else await o.save();
  }
}

/**
 * git's answer, unless it rests on an endpoint nobody tested: the first bad
 * commit is --bad itself (every step was good), or its parent is --good.
 * Then that endpoint is tested: --bad passing, or --good failing, means the
 * range holds no change the scenario sees.
 */
async function confirm(
  first: BisectCommit,
  ctx: {
    good: { rev: string; commit: string };
    bad: { rev: string; commit: string };
    repo: string;
    steps: BisectStep[];
    worktree: string;
    step: (commit: string, role: BisectStep['role']) => Promise<BisectStep>;
  },
): Promise<{ answer: boolean; message: string }> {
  const tested = (commit: string) => ctx.steps.some((s) => s.commit === commit && s.mark !== 'skip');
  const checkout = (commit: string) => git(ctx.worktree, ['checkout', '--quiet', '--detach', commit]);
  const found = `first bad commit: ${first.commit.slice(0, 12)} ${first.subject} (${first.files.join(', ') || 'no files'})`;
  const notes: string[] = [];
  if (first.commit === ctx.bad.commit && !tested(ctx.bad.commit)) {
    await checkout(ctx.bad.commit);
    const s = await ctx.step(ctx.bad.commit, 'endpoint');
    if (s.mark === 'good') return { answer: false, message: `no answer: --bad ${ctx.bad.rev} passes the scenario too; nothing in the range changed what it sees` };
    notes.push(s.mark === 'bad' ? `--bad ${CONFIRM_NOTE}` : `--bad could not be tested (${s.reason})`);
  }
  const parent = (await git(ctx.repo, ['rev-parse', `${first.commit}^`])).stdout.trim();
  if (parent === ctx.good.commit && !tested(ctx.good.commit)) {
    await checkout(ctx.good.commit);
    const s = await ctx.step(ctx.good.commit, 'endpoint');
    if (s.mark === 'bad') return { answer: false, message: `no answer: --good ${ctx.good.rev} fails the scenario too; the change is older than the range` };
    notes.push(s.mark === 'good' ? `--good ${CONFIRM_NOTE}` : `--good could not be tested (${s.reason})`);
  }
  return { answer: true, message: `${found}${notes.length ? `; ${notes.join('; ')}` : ''}` };
}

/** The real step: the worktree's kernel built in the bisection's tree, booted, the scenario run, as `lab run` does. */
const realStep: StepRunner = async (s) => {
  const reporter: ProgressReporter = { ...s.reporter, attachLog: () => undefined }; // the bisection's lab.log gets every line
  const kernelStage = async (ctx: ArtifactContext): Promise<KernelArtifacts> => {
    const stage = ctx.stage ?? untimed;
    const tree = await stage('source', () => fromTree(s.worktree, reporter));
    const source = { ...tree, origin: s.repo };
    await stage('setup', async () => {
      await ensureHost(reporter, { log: join(ctx.dir, 'setup.log') });
      await sweep(s.config.paths.cache, reporter);
    });
    const build = await stage('kernel', () =>
      buildInTree(source, s.buildTree, { cacheDir: s.config.paths.cache, fragments: s.fragments, flavor: s.flavor, reporter, log: join(ctx.dir, 'build.log'), signal: ctx.signal }).catch(
        (e: unknown) => {
          // a revision whose Kconfig cannot give what the lab needs is skipped like one that does not build
          if (isLabError(e) && e.code === 'CONFIG_OPTIONS_DROPPED') throw new InfraError('KERNEL_CONFIG_FAILED', e.message, e.context);
          throw e;
        },
      ),
    );
    const reproducer = await writeKernelRecord(ctx.dir, source, build, s.fragments);
    return { source, built: { build, cacheHit: false }, fragments: s.fragments, skipped: [], reproducer };
  };
  const { result } = await runLab({
    kernel: 'local',
    kernelSrc: s.repo,
    flavor: s.flavor,
    config: s.config,
    scenarios: [s.scenario.name],
    compiled: [s.scenario],
    kernelStage,
    resultsDir: s.resultsDir,
    append: s.append,
    reporter,
    signal: s.signal,
  });
  return result;
};

async function readState(stateFile: string, logFile: string): Promise<SavedState | undefined> {
  try {
    const state = JSON.parse(await readFile(stateFile, 'utf8')) as SavedState;
    if (state.schemaVersion !== 1 || !existsSync(logFile)) return undefined;
    return state;
  } catch {
    return undefined;
  }
}
