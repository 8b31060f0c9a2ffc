/**
 * The lab's programmatic API: everything the command line (lab/cli/) calls,
 * in one module, so the CLI reaches no internals of kernel/, report/ and the
 * rest directly. A command is argument parsing around these.
 */
export { CONFIG_KEYS, type LabConfig, resolveConfig } from './core/config.ts';
export { ExitCode, InputError, isLabError } from './core/errors.ts';
export { progressReporter } from './core/live.ts';
export { consoleReporter, type ProgressReporter } from './core/reporter.ts';
export { defaultKernel, hostRequirements } from './host/requirements.ts';
export { DEFAULT_FLAVOR, type KernelInput, userFragments } from './kernel/inputs.ts';
export { isKernelAlias, parseKernelSpec } from './kernel/spec.ts';
export { runShell } from './interactive/shell.ts';
export { cacheKeys, expandKernelList, prepareKernel } from './run/artifacts.ts';
export { runKernels } from './run/jobs.ts';
export { runLab } from './run/pipeline.ts';
export { kernelsTables } from './report/kernels.ts';
export { exitCodeOf, readRunResult, type RunResult } from './report/result.ts';
export { describeFix } from './judge/known-issues.ts';
export { verdictTable } from './report/table.ts';
export { repoRoot, runId } from './core/paths.ts';
export { MetricRegistry } from './metrics/registry.ts';
export { loadHooks } from './observe/hooks.ts';
export { compareRuns, renderComparison } from './report/compare.ts';
export { renderHtml } from './report/html.ts';
export { MATRIX_FORMATS, matrixCells, type MatrixFormat, renderMatrix } from './run/matrix.ts';
export { doctor } from './doctor/doctor.ts';
export { ensureHost } from './host/setup.ts';
export { type BisectInputs, runBisect } from './bisect/commits.ts';
export { runReleaseBisect } from './bisect/releases.ts';
export { stepTable } from './report/bisect.ts';
export { type ReleaseBisectResult, releaseStepTable } from './report/release-bisect.ts';
export { isRelease } from './kernel/releases.ts';
export { revisionExists } from './kernel/git.ts';
export { makeReport, readAll } from './report/make-report.ts';
export { measureProfile, renderProfile } from './report/profile.ts';
export { copyScenarioFolders, mergeRuns } from './report/merge.ts';
export { defaultWriters, writeResults } from './report/writers.ts';
export { scratch } from './core/scratch.ts';
export { writeBugReport } from './bisect/bug-report.ts';
export { headline } from './report/report-markdown.ts';
export { type Gate } from './report/report.ts';
export { formatBytes, listCache, parseAge, pruneKernels } from './kernel/cache.ts';
export { acceptNight, keepNight } from './report/baseline.ts';
export { runExec } from './interactive/exec.ts';
