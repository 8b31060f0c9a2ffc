/**
 * npm run bench [-- --cold] [--kernel 6.12]: every cost a user waits on,
 * measured on this machine and compared with its target. Results go to
 * results/bench-<time>.json. Not a test: nothing here fails CI.
 *
 *   warm cache hit   lab build on a cached kernel, command start to artifact path   target < 2 s
 *   source extract   the kernel tarball through xz and the tar package, vs GNU tar  (reported)
 *   warm run         lab --scenario hugetlb on cached kernel and image: total,
 *                    boot to readiness, boot to SSH, the scenario                     (reported)
 *   cold build       (--cold) lab build with an empty cache and ccache               target < 12 min
 *   ccache rebuild   (--cold) the same build after `cache prune`, ccache warm        target < 1/3 of cold
 */
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolvePaths } from '../lab/core/paths.ts';
import { extractTarXz } from '../lab/kernel/source.ts';
import type { RunResult } from '../lab/report/result.ts';

interface Measure {
  name: string;
  seconds: number;
  target?: string;
  ok?: boolean;
  note?: string;
}

const args = process.argv.slice(2);
const kernel = args.includes('--kernel') ? args[args.indexOf('--kernel') + 1]! : '6.12';
const cold = args.includes('--cold');
const paths = resolvePaths();
const tsx = join(paths.repo, 'node_modules', '.bin', 'tsx');
const cli = join(paths.repo, 'lab', 'cli', 'main.ts');
const results: Measure[] = [];

async function timed(argv: string[], env: Record<string, string> = {}) {
  const t = Date.now();
  const r = await execa(tsx, [cli, ...argv], { env, reject: false, stdin: 'ignore' });
  return { seconds: (Date.now() - t) / 1000, stdout: String(r.stdout), exitCode: r.exitCode };
}

function record(m: Measure) {
  results.push(m);
  const verdict = m.ok === undefined ? '' : m.ok ? '  ok' : '  MISSED';
  process.stdout.write(`${m.name.padEnd(34)} ${m.seconds.toFixed(1).padStart(8)} s${m.target ? `  (target ${m.target})` : ''}${verdict}${m.note ? `  ${m.note}` : ''}\n`);
}

// warm cache hit (builds first if needed, then measures the second call)
await timed(['build', '--kernel', kernel]);
const hit = await timed(['build', '--kernel', kernel]);
record({ name: `warm cache hit (lab build ${kernel})`, seconds: hit.seconds, target: '< 2 s', ok: hit.seconds < 2, note: /cache hit/.test(hit.stdout) ? '' : 'NOT a cache hit' });

// source extraction: the lab's path against GNU tar
const tarball = `/usr/src/linux-source-${kernel}.tar.xz`;
for (const [name, fn] of [
  ['extract: xz + tar package (sync)', (d: string) => extractTarXz(tarball, d)],
  ['extract: GNU tar -xJf', (d: string) => execa('tar', ['-xJf', tarball, '-C', d, '--strip-components=1'])],
] as const) {
  const d = mkdtempSync(join(tmpdir(), 'bench-extract-'));
  const t = Date.now();
  await fn(d);
  record({ name, seconds: (Date.now() - t) / 1000 });
  rmSync(d, { recursive: true, force: true });
}

// a warm run of one scenario
const resultsDir = mkdtempSync(join(tmpdir(), 'bench-results-'));
const warm = await timed(['--kernel', kernel, '--scenario', 'hugetlb', '-q'], { LAB_RESULTS_DIR: resultsDir });
const dir = /results in (\S+)/.exec(warm.stdout)?.[1];
if (dir) {
  const r = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as RunResult;
  record({ name: 'warm run, hugetlb (total)', seconds: warm.seconds, note: `${r.status} on ${r.guest?.accel}` });
  record({ name: 'boot to readiness marker', seconds: (r.guest?.bootToReadyMs ?? 0) / 1000 });
  record({ name: 'boot to SSH answering', seconds: (r.guest?.sshReadyMs ?? 0) / 1000 });
  record({ name: 'scenario hugetlb', seconds: (r.scenarios[0]?.durationMs ?? 0) / 1000 });
}

if (cold) {
  // an empty lab cache (sources included) and an empty ccache
  const cacheDir = mkdtempSync(join(tmpdir(), 'bench-cache-'));
  const c = await timed(['build', '--kernel', kernel], { LAB_CACHE_DIR: cacheDir });
  const coldSeconds = c.seconds;
  record({ name: `cold build ${kernel} (empty cache)`, seconds: coldSeconds, target: '< 720 s', ok: coldSeconds < 720 });
  await timed(['cache', 'prune', '--keep', '0'], { LAB_CACHE_DIR: cacheDir });
  const re = await timed(['build', '--kernel', kernel], { LAB_CACHE_DIR: cacheDir });
  record({ name: `rebuild ${kernel} after prune (ccache)`, seconds: re.seconds, target: `< ${(coldSeconds / 3).toFixed(0)} s`, ok: re.seconds < coldSeconds / 3 });
  rmSync(cacheDir, { recursive: true, force: true });
}

mkdirSync(paths.results, { recursive: true });
const out = join(paths.results, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(out, `${JSON.stringify({ kernel, cold, at: new Date().toISOString(), results }, null, 2)}\n`);
process.stdout.write(`written ${out}\n`);
