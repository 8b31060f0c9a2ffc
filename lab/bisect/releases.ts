/**
 * `lab bisect --good 6.12.95 --bad 6.12.117 --scenario memcg-dump`: which
 * release changed what a scenario sees, without a git tree. The releases the
 * lab can reach between the two (cache, local tarballs, Debian's archive, the
 * mirror: kernel/releases.ts) are tested in bisection order, each as
 * `lab run --kernel <release>` does it (its cached build, or a build that
 * ccache mostly serves after a neighbouring release): PASS passes, FAIL or a
 * kernel error fails, anything else is skipped. An answer that rests on an
 * endpoint nobody tested is confirmed by testing it. With `--fixed` the
 * question is reversed: the older release fails, the newer passes, and the
 * answer is the first release that passes.
 *
 * The answer comes with what changed between its two releases: the diff of
 * page_owner's files, of the files defining the probed functions and the
 * function the kernel report names, and of --watch files; and the changelog
 * entries between them that name those files or functions.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { sourceOptions } from '../run/artifacts.ts';
import type { LabConfig } from '../core/config.ts';
import { InputError, InterruptedError, isLabError } from '../core/errors.ts';
import { runId } from '../core/paths.ts';
import { formatDuration, type ProgressReporter } from '../core/reporter.ts';
import { compareVersions } from '../core/version.ts';
import { changelogKeywords, itemsBetween, matchingItems, parseDebianChangelog, parseKernelOrgChangeLog, type ChangelogItem } from '../kernel/changelog.ts';
import { DebianArchive, upstreamOf } from '../kernel/debian.ts';
import { DEFAULT_FLAVOR, seriesOf } from '../kernel/inputs.ts';
import { mirrorChangeLog } from '../kernel/mirror.ts';
import { isRelease, releasesBetween, type ReleaseList } from '../kernel/releases.ts';
import { diffFile, filesToDiff } from '../kernel/source-diff.ts';
import { resolveSource } from '../kernel/source.ts';
import { parseKernelSpec } from '../kernel/spec.ts';
import { MetricRegistry } from '../metrics/registry.ts';
import { loadHooks, probedFunctions } from '../observe/hooks.ts';
import type { BisectInputs } from './commits.ts';
import { runLab } from '../run/pipeline.ts';
import { faultingFunction } from '../report/bug.ts';
import {
  outcomeOf,
  writeReleaseBisectReports,
  RELEASE_BISECT_SCHEMA_VERSION,
  type BisectMode,
  type ChangelogEntry,
  type Outcome,
  type ReleaseBisectResult,
  type ReleaseChanges,
  type ReleaseStep,
} from '../report/release-bisect.ts';
import type { RunResult } from '../report/result.ts';
import { loadScenario, withExpectations, type Scenario } from '../scenario/load.ts';

export interface ReleaseBisectOptions extends BisectInputs {
  /** --fixed: --bad is the older release, --good the newer; the answer is the first release that passes. */
  fixed?: boolean;
  /** --watch: more files (relative to the tree) to diff between the answer's releases. */
  watch?: string[];
  /** --releases: bisect among these only (each must be reachable); the endpoints are always in. */
  releases?: string[];
  /** Runs the scenario on one release; the default is `lab run --kernel <release>`, tests pass a stand-in. */
  runRelease?: ReleaseRunner;
  /** The releases in the range; the default asks the lab's sources. */
  listReleases?: (low: string, high: string) => Promise<ReleaseList>;
  /** What changed between the answer's releases; the default diffs the trees and reads the changelogs. */
  describeChanges?: (from: string, to: string, ctx: ChangesContext) => Promise<{ changes: ReleaseChanges; diffs: Map<string, string> }>;
}

type ReleaseRunner = (version: string, scenario: Scenario, resultsDir: string) => Promise<RunResult>;

/** A release as the bisection sees it: like the older endpoint, like the newer, or unknown. */
export type Mark = 'old' | 'new' | 'skip';

type SearchState =
  | { kind: 'test'; index: number; role: 'bisect' | 'endpoint' }
  | { kind: 'done'; before: number; after: number; notes: string[] }
  | { kind: 'no-answer'; why: string; candidates?: number[] };

/**
 * The next release to test, or the answer. The endpoints are assumed (index 0
 * old, the last new) until tested; they are tested when the answer rests on
 * them. Among the untested releases between the last old and the first new,
 * the one nearest the middle; skipped ones are stepped around, as git does.
 */
export function nextStep(count: number, marks: readonly (Mark | undefined)[]): SearchState {
  const last = count - 1;
  if (marks[0] === 'new') return { kind: 'no-answer', why: 'the older endpoint already behaves as the newer one' };
  if (marks[last] === 'old') return { kind: 'no-answer', why: 'the newer endpoint still behaves as the older one' };
  let hi = marks.findIndex((m, i) => i > 0 && m === 'new');
  if (hi < 0) hi = last;
  let lo = 0;
  for (let i = 0; i < hi; i++) if (marks[i] === 'old') lo = i;
  const untested = [];
  for (let i = lo + 1; i < hi; i++) if (marks[i] === undefined) untested.push(i);
  if (untested.length) {
    const mid = (lo + hi) / 2;
    const index = untested.reduce((a, b) => (Math.abs(b - mid) < Math.abs(a - mid) ? b : a));
    return { kind: 'test', index, role: 'bisect' };
  }
  if (hi - lo > 1) return { kind: 'no-answer', why: 'only skipped releases are left between the last old and the first new one', candidates: [...Array(hi - lo).keys()].map((k) => lo + 1 + k) };
  if (marks[hi] === undefined) return { kind: 'test', index: hi, role: 'endpoint' };
  if (marks[lo] === undefined) return { kind: 'test', index: lo, role: 'endpoint' };
  const notes = [marks[hi] === 'skip' && 'the newer release could not be tested', marks[lo] === 'skip' && 'the older release could not be tested'].filter((n): n is string => Boolean(n));
  return { kind: 'done', before: lo, after: hi, notes };
}

/** A release's outcome as a mark: in regression mode a pass is old and a fail new; in fix mode the reverse. */
export const markOf = (outcome: Outcome, mode: BisectMode): Mark => (outcome === 'skip' ? 'skip' : (outcome === 'pass') === (mode === 'regression') ? 'old' : 'new');

/** The two endpoints checked, in version order: the mode decides which must be older. */
export function checkEndpoints(good: string, bad: string, fixed: boolean): { low: string; high: string; mode: BisectMode } {
  for (const [flag, v] of [['--good', good], ['--bad', bad]] as const) {
    if (!isRelease(v)) throw new InputError('BAD_OPTION', `${flag} ${v}: not a release; expected a version such as 6.12.107 (or give --kernel-src to bisect commits of a git tree)`, { value: v });
  }
  const order = compareVersions(good, bad);
  if (order === 0) throw new InputError('BAD_OPTION', `--good and --bad are both ${good}; give two releases`, { value: good });
  if (!fixed && order > 0) throw new InputError('BAD_OPTION', `--good ${good} is newer than --bad ${bad}: to find the release that fixed it, add --fixed`, { value: good });
  if (fixed && order < 0) throw new InputError('BAD_OPTION', `--fixed: --bad ${bad} must be the older release (it fails) and --good ${good} the newer (it passes)`, { value: bad });
  return fixed ? { low: bad, high: good, mode: 'fix' } : { low: good, high: bad, mode: 'regression' };
}

interface ChangesContext {
  config: LabConfig;
  reporter: ProgressReporter;
  watch: string[];
  /** Probed functions and the kernel report's RIP function: their files are diffed, their names matched in changelogs. */
  functions: string[];
  releases: ReleaseBisectResult['releases'];
  signal?: AbortSignal;
}

export async function runReleaseBisect(opts: ReleaseBisectOptions): Promise<{ result: ReleaseBisectResult; resultsDir: string }> {
  const { config, reporter, signal } = opts;
  const { low, high, mode } = checkEndpoints(opts.good, opts.bad, Boolean(opts.fixed));
  for (const w of opts.watch ?? []) {
    if (w.startsWith('/') || w.split('/').includes('..')) throw new InputError('BAD_OPTION', `--watch ${w}: a path inside the kernel tree, such as include/linux/memcontrol.h`, { value: w });
  }
  const registry = new MetricRegistry(await loadHooks(config.paths.repo));
  const scenario = withExpectations(await loadScenario(join(config.paths.repo, 'scenarios'), opts.scenario, registry), opts.expect ?? [], registry);
  const resultsDir = join(config.paths.results, runId(`bisect-${scenario.name}`));
  await mkdir(resultsDir, { recursive: true });
  reporter.attachLog(join(resultsDir, 'lab.log'));
  const list = await (opts.listReleases ?? ((a, b) => releasesBetween(a, b, sourceOptions(config, reporter, resultsDir, signal))))(low, high);
  for (const [flag, v] of [['--good', opts.good], ['--bad', opts.bad]] as const) {
    if (!list.releases.some((r) => r.version === v)) throw new InputError('KERNEL_NOT_AVAILABLE', `${flag} ${v}: no source reaches this release (${list.tried.join('; ')})`, { value: v });
  }
  if (opts.releases) {
    const wanted = new Set([...opts.releases, opts.good, opts.bad]);
    for (const v of opts.releases) {
      if (!isRelease(v) || !list.releases.some((r) => r.version === v)) {
        throw new InputError('BAD_OPTION', `--releases ${v}: not a release the sources reach from ${low} to ${high}; they reach ${list.releases.map((r) => r.version).join(', ')}`, { value: v });
      }
    }
    list.tried.push(`--releases: ${list.releases.length - wanted.size} of ${list.releases.length} left out`);
    list.releases = list.releases.filter((r) => wanted.has(r.version));
  }
  const result: ReleaseBisectResult = {
    schemaVersion: RELEASE_BISECT_SCHEMA_VERSION,
    kind: 'releases',
    runId: resultsDir.split('/').pop()!,
    mode,
    status: 'error',
    message: '',
    startedAt: new Date().toISOString(),
    good: opts.good,
    bad: opts.bad,
    scenario: scenario.name,
    expect: opts.expect ?? [],
    flavor: opts.flavor ?? DEFAULT_FLAVOR,
    releases: list.releases,
    tried: list.tried,
    steps: [],
  };
  const versions = list.releases.map((r) => r.version);
  reporter.stage('bisect', `${scenario.name}: ${versions.length} release(s) from ${low} to ${high}: ${versions.join(', ')}; results: ${resultsDir}`);
  let diffs = new Map<string, string>();
  try {
    const state = await search(versions, mode, scenario, resultsDir, result, opts);
    if (state.kind === 'done') {
      result.answer = { before: versions[state.before]!, after: versions[state.after]! };
      const [b, a] = [result.answer.before, result.answer.after];
      result.status = 'found';
      result.message = `${mode === 'regression' ? `last good ${b}, first bad ${a}` : `last bad ${b}, first fixed ${a}`}${state.notes.length ? ` (${state.notes.join('; ')})` : ''}`;
      reporter.stage('bisect', result.message);
      const ctx: ChangesContext = { config, reporter, watch: opts.watch ?? [], functions: stepFunctions(result), releases: result.releases, signal };
      const described = await (opts.describeChanges ?? describeChanges)(b, a, ctx);
      result.changes = described.changes;
      diffs = described.diffs;
    } else {
      result.status = 'no-answer';
      result.message = `no answer: ${state.why}`;
      if (state.candidates) result.candidates = state.candidates.map((i) => versions[i]!);
    }
  } catch (e) {
    if (signal?.aborted || (isLabError(e) && e.code === 'INTERRUPTED')) {
      result.status = 'interrupted';
      result.message = `interrupted after ${result.steps.length} step(s)`;
    } else {
      result.status = 'error';
      result.error = isLabError(e) ? { code: e.code, message: e.message } : { code: 'INTERNAL', message: String(e) };
      result.message = `error: ${result.error.message}`;
      if (!isLabError(e) || e.exitCode === 2 || e.exitCode === 4) {
        await writeReleaseBisectReports({ ...result, finishedAt: new Date().toISOString() }, resultsDir, new Map(), reporter);
        throw e;
      }
    }
  }
  result.finishedAt = new Date().toISOString();
  await writeReleaseBisectReports(result, resultsDir, diffs, reporter);
  return { result, resultsDir };
}

/** Test releases until the search has its answer (or none); every step is recorded and the reports rewritten. */
async function search(
  versions: string[],
  mode: BisectMode,
  scenario: Scenario,
  resultsDir: string,
  result: ReleaseBisectResult,
  opts: ReleaseBisectOptions,
): Promise<Exclude<SearchState, { kind: 'test' }>> {
  const marks: (Mark | undefined)[] = versions.map(() => undefined);
  const runRelease = opts.runRelease ?? realRelease(opts);
  for (;;) {
    const state = nextStep(versions.length, marks);
    if (state.kind !== 'test') return state;
    if (opts.signal?.aborted) throw new InterruptedError('SIGINT');
    const version = versions[state.index]!;
    const n = result.steps.length + 1;
    opts.reporter.stage('bisect', `step ${n}: ${version}${state.role === 'endpoint' ? ' (endpoint)' : ''}`);
    const started = Date.now();
    const dir = join(resultsDir, 'steps', `${n}-${version}`);
    const run = await runRelease(version, scenario, dir);
    if (opts.signal?.aborted) throw new InterruptedError('SIGINT');
    const { outcome, reason } = outcomeOf(run);
    const step: ReleaseStep = {
      n,
      version,
      role: state.role,
      status: run.status,
      outcome,
      ...(reason ? { reason } : {}),
      ...(run.kernel ? { build: { cacheHit: run.kernel.cacheHit, seconds: run.kernel.buildSeconds } } : {}),
      stepSeconds: (Date.now() - started) / 1000,
      resultsDir: dir,
    };
    const rip = faultingFunction(run.scenarios[0]?.kernelReport ?? []);
    if (rip) step.rip = rip;
    result.steps.push(step);
    marks[state.index] = markOf(outcome, mode);
    await writeReleaseBisectReports(result, resultsDir, new Map(), opts.reporter);
    const build = step.build ? (step.build.cacheHit ? 'kernel cached' : `built in ${formatDuration(step.build.seconds * 1000)}`) : 'no kernel';
    opts.reporter.stage('bisect', `step ${n}: ${version} ${outcome} (${run.status}; ${build}; step ${formatDuration(step.stepSeconds * 1000)})${reason ? `: ${reason}` : ''}`);
    if (!result.probed && run.guest?.probeMap) result.probed = probedFunctions(run.guest.probeMap);
  }
}

/** The functions whose files are diffed: the probed hooks of the steps' guests, and the functions their kernel reports' RIP lines name. */
const stepFunctions = (result: ReleaseBisectResult): string[] => [...new Set([...(result.probed ?? []), ...result.steps.flatMap((s) => (s.rip ? [s.rip] : []))])];

/**
 * The real step: `lab run --kernel <release> --scenario <s>` into the step's folder: the release's
 * cached build, or a build that enters the cache (ccache serves little across stable releases:
 * measured, 36 of 1,447 files from 6.12.113 to 6.12.115, whose updates change headers nearly every
 * file includes).
 */
const realRelease = (opts: ReleaseBisectOptions): ReleaseRunner => {
  const reporter = { ...opts.reporter, attachLog: () => undefined }; // the bisection's lab.log gets every line
  return async (version, scenario, resultsDir) =>
    (
      await runLab({
        kernel: version,
        flavor: opts.flavor ?? DEFAULT_FLAVOR,
        configFragments: opts.configFragments,
        kconfig: opts.kconfig,
        config: opts.config,
        scenarios: [scenario.name],
        compiled: [scenario],
        resultsDir,
        append: opts.append,
        reporter,
        signal: opts.signal,
      })
    ).result;
};

/** The diff of the watched files between the two releases' trees, and the changelog entries that name them. */
async function describeChanges(from: string, to: string, ctx: ChangesContext): Promise<{ changes: ReleaseChanges; diffs: Map<string, string> }> {
  const src = sourceOptions(ctx.config, ctx.reporter, undefined, ctx.signal);
  const [a, b] = [await resolveSource(parseKernelSpec(from), src), await resolveSource(parseKernelSpec(to), src)];
  const wanted = await filesToDiff(b.tree, ctx.functions, ctx.watch);
  const diffs = new Map<string, string>();
  const files = [];
  for (const w of wanted) {
    const d = await diffFile(a.tree, b.tree, w.file, w.why);
    if (d.diff) diffs.set(w.file, d.diff);
    files.push({ file: w.file, why: w.why, functions: d.functions, lines: d.diff ? d.diff.split('\n').length - 1 : 0, ...(d.absent ? { absent: true } : {}) });
  }
  const keywords = changelogKeywords(
    files.map((f) => f.file),
    [...new Set([...ctx.functions, ...files.flatMap((f) => f.functions)])],
  );
  const { items, sources } = await changelogItems(from, to, ctx);
  const changelog: ChangelogEntry[] = matchingItems(itemsBetween(items, from, to), keywords).map((i) => ({
    release: i.release,
    ...(i.debianVersion ? { debianVersion: i.debianVersion } : {}),
    text: i.text,
    names: i.names,
  }));
  ctx.reporter.stage('bisect', `what changed: ${files.filter((f) => f.lines).length} of ${files.length} watched file(s) differ; ${changelog.length} changelog entr${changelog.length === 1 ? 'y' : 'ies'} name them`);
  return { changes: { from: { version: from, tree: a.tree }, to: { version: to, tree: b.tree }, files, changelogSources: sources, changelog, keywords }, diffs };
}

/**
 * The changelog items that can cover `to`: Debian's changelog.Debian.gz of a
 * linux-source package holding `to` (kept beside the archive's tarballs, or the
 * host's installed package), and the mirror's ChangeLog-X.Y.Z of each release
 * after `from` up to `to` where the mirror is configured.
 */
async function changelogItems(from: string, to: string, ctx: ChangesContext): Promise<{ items: ChangelogItem[]; sources: string[] }> {
  const items: ChangelogItem[] = [];
  const sources: string[] = [];
  const debian = await debianChangelog(to, ctx);
  if (debian) {
    items.push(...parseDebianChangelog(gunzipSync(await readFile(debian)).toString('utf8')));
    sources.push(`Debian: ${debian}`);
  }
  if (ctx.config.kernelMirror) {
    const mirror = { base: ctx.config.kernelMirror, downloadsDir: join(ctx.config.paths.cache, 'downloads'), reporter: ctx.reporter, signal: ctx.signal };
    for (const r of ctx.releases.filter((x) => compareVersions(x.version, from) > 0 && compareVersions(x.version, to) <= 0 && seriesOf(x.version) === seriesOf(to))) {
      const text = await mirrorChangeLog(r.version, mirror);
      if (!text) continue;
      items.push(...parseKernelOrgChangeLog(text, r.version));
      sources.push(`mirror: ChangeLog-${r.version}`);
    }
  }
  return { items, sources };
}

/** A Debian changelog whose newest entry is `version` or later in its series: kept from the archive, the host's, or fetched. */
async function debianChangelog(version: string, ctx: ChangesContext): Promise<string | undefined> {
  const series = seriesOf(version);
  const covers = async (file: string) => {
    const head = gunzipSync(await readFile(file)).toString('utf8', 0, 400);
    const v = /^\S+ \(([^)]+)\)/.exec(head)?.[1];
    return v !== undefined && seriesOf(upstreamOf(v)) === series && compareVersions(upstreamOf(v), version) >= 0;
  };
  const kept = join(ctx.config.paths.cache, 'apt', 'tarballs');
  const local = [
    ...(await readdir(kept).catch(() => [] as string[])).filter((f) => f.startsWith(`linux-source-${series}_`) && f.endsWith('.changelog.Debian.gz')).map((f) => join(kept, f)),
    `/usr/share/doc/linux-source-${series}/changelog.Debian.gz`,
  ];
  for (const file of local) if (existsSync(file) && (await covers(file).catch(() => false))) return file;
  if (ctx.config.debianArchive === false) return undefined;
  const archive = new DebianArchive(ctx.config.paths.cache, ctx.reporter);
  const prepared = await archive.prepare().catch(() => ({ ok: false }));
  if (!prepared.ok) return undefined;
  const c = (await archive.candidates(series)).find((x) => x.version === version);
  return c ? archive.changelog(c).catch(() => undefined) : undefined;
}
