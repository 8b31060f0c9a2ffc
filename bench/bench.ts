/**
 * npm run bench [-- --runs N] [--kernel 6.12] [--smoke] [--cold] [--only ids] [--out DIR]
 *
 * Every cost a user waits on, measured the way the user meets it (whole
 * `npm run lab` processes, started one after another on an otherwise idle
 * machine), as medians with their spread, against the targets of the
 * performance issue. Prints a table and writes bench/results/<date>.json
 * (bench/schema.ts) with the machine's accelerator, core count and the git
 * revision. Not a test: timings are judged here, never in the test suite;
 * CI runs `--smoke`, which measures each thing once and skips the long ones,
 * to check the output's shape.
 *
 *   warm-exec      lab exec -- true, saved guest restored         target < 3 s
 *   cold-boot      lab exec --no-snapshot -- true; and QEMU start
 *                  to SSH answering (the first command)           target < 5 s
 *   scenario       lab --scenario hugetlb, whole process
 *   suite          the default suite's scenarios stage           target < 45 s
 *   rss            the lab process's peak RSS in a suite run      target < 200 MiB
 *   scale          suite time for 1-3 kernels at --jobs 1 and 2 (--scale-scenarios a,b for a
 *                  quicker set than the default suite), and for 1 and 3 scenarios
 *   rebuild        lab build after a one-option change           target < 180 s
 *   cold-build     (--cold) lab build, empty cache and ccache
 *   vng            (VNG_DIR) vng --run on the same kernel, paired in turn with lab exec: ratio >= 8x
 */
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, tcgThreadsFor } from '../lab/core/config.ts';
import { repoRoot } from '../lab/core/paths.ts';
import { probeAccel } from '../lab/guest/accel.ts';
import { qemuVersion } from '../lab/guest/snapshot.ts';
import { BenchResultSchema, meets, summarize, type BenchResult, type Measure } from './schema.ts';

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const value = (name: string, fallback: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : fallback);
const smoke = flag('--smoke');
const cold = flag('--cold');
const runs = smoke ? 1 : Number(value('--runs', '5'));
const kernel = value('--kernel', '6.12');
const only = value('--only', '').split(',').filter(Boolean);
/** The scale table's scenarios: the default suite, or a quicker set (--scale-scenarios hugetlb). */
const scaleScenarios = value('--scale-scenarios', '').split(',').filter(Boolean);
const repo = repoRoot;
const outDir = value('--out', join(repo, 'bench', 'results'));
const wanted = (id: string) => only.length === 0 || only.includes(id);
const resultsRoot = mkdtempSync(join(tmpdir(), 'bench-results-'));
const measures: Measure[] = [];
const scale: BenchResult['scale'] = [];

/** One whole lab process as `npm run lab -- ...` starts it; wall seconds, output, its results folder. */
async function lab(args: string[], env: Record<string, string> = {}) {
  const results = mkdtempSync(join(resultsRoot, 'r-'));
  const t = performance.now();
  const r = await execa('npm', ['run', '-s', 'lab', '--', ...args], { cwd: repo, env: { LAB_RESULTS_DIR: results, ...env }, reject: false, stdin: 'ignore' });
  const seconds = (performance.now() - t) / 1000;
  const dir = readdirSync(results).map((d) => join(results, d))[0];
  const json = (file: string) => (dir && existsSync(join(dir, file)) ? (JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>) : undefined);
  return { seconds, exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), dir, json };
}

function must(r: Awaited<ReturnType<typeof lab>>, what: string) {
  if (r.exitCode !== 0) throw new Error(`${what}: exit ${r.exitCode}\n${r.stderr.slice(-2000)}\n${r.stdout.slice(-2000)}`);
  return r;
}

function record(m: Omit<Measure, 'median' | 'min' | 'max' | 'spread'>): Measure {
  const s = summarize(m.samples);
  const full: Measure = { ...m, ...s, ...(m.target && s.median !== null ? { met: meets(m.target, s.median) } : {}) };
  measures.push(full);
  const f = (v: number | null) => (v === null ? '-' : v.toFixed(m.unit === 's' ? 2 : 0));
  const verdict = full.skipped ? `skipped: ${full.skipped}` : full.met === undefined ? '' : full.met ? 'met' : 'MISSED';
  process.stdout.write(
    `${m.name.padEnd(46)} ${f(s.median).padStart(8)} ${m.unit.padEnd(3)} [${f(s.min)}..${f(s.max)}] n=${m.samples.length}  ${(m.target ?? '').padEnd(9)} ${verdict}${m.note ? `  ${m.note}` : ''}\n`,
  );
  return full;
}

const skip = (id: string, name: string, unit: Measure['unit'], why: string, target?: string) => record({ id, name, unit, samples: [], skipped: why, ...(target ? { target } : {}) });

// the lab commands the bench runs read the same configuration (environment, lab.config.*)
const config = resolveConfig();
const accel = await probeAccel(config.accel, { cacheDir: config.paths.cache });
const tcgThreads = accel.accel === 'tcg' ? config.tcgThreads : undefined;
const git = await execa('git', ['rev-parse', 'HEAD'], { cwd: repo, reject: false });
const dirty = (await execa('git', ['status', '--porcelain'], { cwd: repo, reject: false })).stdout.trim() !== '';
const started = new Date();
const loadAtStart = loadavg()[0]!;
process.stdout.write(`bench: kernel ${kernel}, ${runs} run(s) each, ${accel.accel} (${accel.reason}${tcgThreads ? `, tcgThreads ${tcgThreads}: one kernel's run ${tcgThreadsFor(tcgThreads, { vcpus: config.cpus })}-threaded, exec ${tcgThreadsFor(tcgThreads, { interactive: true, vcpus: config.cpus })}-threaded` : ''}), ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}${smoke ? ', smoke' : ''}\n`);

// everything cached first: kernel, image, module, a saved guest (not measured)
must(await lab(['exec', '--kernel', kernel, '-q', '--', 'true']), 'warm-up');

if (wanted('warm-exec')) {
  const samples: number[] = [];
  const restore: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = must(await lab(['exec', '--kernel', kernel, '-q', '--', 'true']), 'warm exec');
    samples.push(r.seconds);
    const j = r.json('exec.json');
    if (!j?.restoredFrom) throw new Error('warm exec did not restore a saved guest');
    restore.push(Number(j.sshReadyMs) / 1000);
  }
  record({ id: 'warm-exec', name: 'lab exec -- true, saved guest (whole process)', unit: 's', samples, target: '< 3' });
  record({ id: 'warm-exec-restore', name: '  of which restore to SSH answering', unit: 's', samples: restore });
}

if (wanted('cold-boot')) {
  const whole: number[] = [];
  const first: number[] = [];
  const ready: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = must(await lab(['exec', '--kernel', kernel, '-q', '--no-snapshot', '--', 'true']), 'cold boot');
    whole.push(r.seconds);
    const j = r.json('exec.json')!;
    ready.push(Number(j.bootToReadyMs) / 1000);
    first.push(Number(j.sshReadyMs) / 1000);
  }
  record({ id: 'cold-boot', name: 'cold boot: QEMU start to first command (SSH)', unit: 's', samples: first, target: '< 5' });
  record({ id: 'cold-boot-ready', name: '  of which to the readiness marker', unit: 's', samples: ready });
  record({ id: 'cold-boot-process', name: '  lab exec --no-snapshot -- true (process)', unit: 's', samples: whole });
}

if (wanted('scenario')) {
  const whole: number[] = [];
  const own: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = must(await lab(['--kernel', kernel, '--scenario', 'hugetlb', '-q']), 'scenario');
    whole.push(r.seconds);
    const res = r.json('result.json') as { scenarios: { durationMs: number }[] };
    own.push(res.scenarios[0]!.durationMs / 1000);
  }
  record({ id: 'scenario', name: 'lab --scenario hugetlb (whole process)', unit: 's', samples: whole });
  record({ id: 'scenario-own', name: '  of which the scenario', unit: 's', samples: own });
}

type RunJson = { stages: Record<string, number>; scenarios: unknown[]; harness?: { peakRssMb?: number } };
const suiteRuns = smoke ? 0 : Math.min(runs, 3);
if (wanted('suite') && suiteRuns > 0) {
  const stage: number[] = [];
  const whole: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < suiteRuns; i++) {
    const r = await lab(['--kernel', kernel, '-q']);
    const res = r.json('result.json') as RunJson | undefined;
    if (!res) throw new Error(`suite: no result.json\n${r.stderr.slice(-2000)}`);
    whole.push(r.seconds);
    stage.push(res.stages.scenarios ?? NaN);
    if (res.harness?.peakRssMb) rss.push(res.harness.peakRssMb);
  }
  record({ id: 'suite', name: 'default suite: scenarios stage', unit: 's', samples: stage, target: '< 45' });
  record({ id: 'suite-process', name: '  whole process', unit: 's', samples: whole });
  if (rss.length) record({ id: 'rss', name: 'lab process peak RSS in a suite run', unit: 'MiB', samples: rss, target: '< 200' });
  else skip('rss', 'lab process peak RSS in a suite run', 'MiB', 'result.json has no harness.peakRssMb', '< 200');
} else {
  skip('suite', 'default suite: scenarios stage', 's', smoke ? 'smoke' : 'not selected', '< 45');
  skip('rss', 'lab process peak RSS in a suite run', 'MiB', smoke ? 'smoke' : 'not selected', '< 200');
}

if (wanted('scale') && !smoke) {
  const kernels = [kernel, ...['6.1', '6.6', '6.12'].filter((k) => k !== kernel)].slice(0, 3);
  process.stdout.write('\nscale (one run each, whole process):\n  kernels          jobs  scenarios  wall\n');
  const row = async (ks: string[], jobs: number, scenarioArgs: string[], scenarios: number) => {
    const r = await lab([...ks.flatMap((k) => ['--kernel', k]), '--jobs', String(jobs), ...scenarioArgs, '-q']);
    scale.push({ kernels: ks, jobs, scenarios, wallS: r.seconds, status: r.exitCode === 0 ? 'PASS' : `exit ${r.exitCode}` });
    process.stdout.write(`  ${ks.join(',').padEnd(16)} ${String(jobs).padStart(4)}  ${String(scenarios).padStart(9)}  ${r.seconds.toFixed(1)} s  ${r.exitCode === 0 ? '' : `exit ${r.exitCode}`}\n`);
  };
  const chosen = scaleScenarios.flatMap((n) => ['--scenario', n]);
  for (const jobs of [1, 2]) for (const n of [1, 2, 3]) await row(kernels.slice(0, n), jobs, chosen, scaleScenarios.length || 8);
  // growth with the number of scenarios, one kernel
  await row([kernel], 1, ['--scenario', 'idle-baseline'], 1);
  await row([kernel], 1, ['--scenario', 'idle-baseline', '--scenario', 'hugetlb', '--scenario', 'balance'], 3);
}

if (wanted('rebuild') && !smoke) {
  // A one-option change on top of the kept build tree (lab/kernel/tree.ts): the tree is put at a
  // base config, then each sample flips one option (CONFIG_CMA_DEBUGFS on, off, on ...), after
  // removing that config's cache entry so the build is a real miss.
  const base = ['--kconfig', 'CONFIG_CMA_SYSFS=y'];
  const plus = [...base, '--kconfig', 'CONFIG_CMA_DEBUGFS=y'];
  const removeEntry = async (opts: string[]) => {
    const keys = await lab(['keys', '--kernel', kernel, ...opts, '--json']);
    const inputsKey = (JSON.parse(keys.stdout) as { kernel: { inputsKey: string } }).kernel.inputsKey;
    const index = join(config.paths.cache, 'kernels', 'index', `${inputsKey}.key`);
    if (!existsSync(index)) return;
    rmSync(join(config.paths.cache, 'kernels', readFileSync(index, 'utf8').trim()), { recursive: true, force: true });
    rmSync(index, { force: true });
  };
  await removeEntry(base);
  must(await lab(['build', '--kernel', kernel, ...base]), 'rebuild: the tree at the base config');
  const samples: number[] = [];
  const notes: string[] = [];
  for (let i = 0; i < Math.max(1, Math.min(runs, 4)); i++) {
    const opts = i % 2 === 0 ? plus : base;
    await removeEntry(opts);
    const r = await lab(['build', '--kernel', kernel, ...opts, '--json']);
    if (r.exitCode !== 0) {
      notes.push(`exit ${r.exitCode}`);
      continue;
    }
    samples.push(r.seconds);
    const tree = (JSON.parse(r.stdout) as { tree?: { compiled?: number; incremental?: boolean } }).tree;
    notes.push(`CMA_DEBUGFS ${i % 2 === 0 ? 'on' : 'off'}: ${tree?.compiled ?? '?'} files${tree?.incremental ? '' : ' (from scratch)'}`);
  }
  record({ id: 'rebuild', name: 'lab build after a one-option change', unit: 's', samples, target: '< 180', note: notes.join('; ') });
} else skip('rebuild', 'lab build after a one-option change', 's', smoke ? 'smoke' : 'not selected', '< 180');

if (cold && wanted('cold-build')) {
  const cacheDir = mkdtempSync(join(tmpdir(), 'bench-cache-'));
  const r = await lab(['build', '--kernel', kernel], { LAB_CACHE_DIR: cacheDir, CCACHE_DISABLE: '1' });
  record({ id: 'cold-build', name: 'cold build, empty cache, no ccache', unit: 's', samples: r.exitCode === 0 ? [r.seconds] : [], note: r.exitCode === 0 ? '' : `exit ${r.exitCode}` });
  rmSync(cacheDir, { recursive: true, force: true });
} else skip('cold-build', 'cold build, empty cache, no ccache', 's', cold ? 'not selected' : 'needs --cold');

let vng: BenchResult['vng'];
const vngDir = process.env.VNG_DIR;
if (vngDir && wanted('vng') && !smoke) {
  // the same kernel for both: the lab kernel with what virtme-ng needs (bench/vng.config)
  const fragment = join(repo, 'bench', 'vng.config');
  const built = must(await lab(['build', '--kernel', kernel, '--config-fragment', fragment]), 'vng kernel build');
  const bzImage = /(\/\S+\/bzImage)/.exec(built.stdout + built.stderr)?.[1] ?? '';
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  must(await lab(['exec', '--kernel', kernel, '--config-fragment', fragment, '-q', '--', 'true']), 'vng warm-up');
  const labS: number[] = [];
  const vngS: number[] = [];
  for (let i = 0; i < runs; i++) {
    labS.push(must(await lab(['exec', '--kernel', kernel, '--config-fragment', fragment, '-q', '--', 'true']), 'lab exec (vng pair)').seconds);
    const t = performance.now();
    // --verbose shows the guest's console, where the command's output proves it ran: with its
    // shell init (no virtme-ng-init) vng exits 255 after powering the guest off, output or not
    const v = await execa(python, [join(vngDir, 'vng'), '--run', bzImage, ...(accel.accel === 'kvm' ? [] : ['--disable-kvm']), '--verbose', '--exec', 'echo lab-bench-vng-ran'], {
      cwd: vngDir,
      reject: false,
      stdin: 'ignore',
      all: true,
    });
    if (!String(v.all).includes('lab-bench-vng-ran')) throw new Error(`vng --run: the command did not run (exit ${v.exitCode})\n${String(v.all).slice(-2000)}`);
    vngS.push((performance.now() - t) / 1000);
  }
  const l = record({ id: 'vng-lab', name: 'lab exec -- true on the 9p kernel (paired)', unit: 's', samples: labS });
  const g = record({ id: 'vng', name: 'vng --run --exec true on the same kernel', unit: 's', samples: vngS });
  const ratio = l.median && g.median ? g.median / l.median : null;
  const rev = (await execa('git', ['rev-parse', '--short', 'HEAD'], { cwd: vngDir, reject: false })).stdout.trim();
  vng = { dir: vngDir, revision: rev, kernel: bzImage, labMedianS: l.median, vngMedianS: g.median, ratio, note: 'virtme-ng from source with its shell init (virtme-ng-init needs crates this machine cannot download)' };
  process.stdout.write(`vng / lab: ${ratio?.toFixed(1) ?? '-'}x (target >= 8x)\n`);
} else skip('vng', 'vng --run --exec true on the same kernel', 's', smoke ? 'smoke' : vngDir ? 'not selected' : 'set VNG_DIR to a virtme-ng checkout');

const result: BenchResult = {
  date: started.toISOString(),
  git: { revision: git.stdout.trim(), dirty },
  machine: {
    accel: accel.accel,
    accelReason: accel.reason,
    ...(tcgThreads ? { tcgThreads } : {}),
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    qemu: await qemuVersion(),
    node: process.version,
    loadAverageAtStart: loadAtStart,
  },
  kernel,
  runs,
  smoke,
  measures,
  scale,
  ...(vng ? { vng } : {}),
};
BenchResultSchema.parse(result);
mkdirSync(outDir, { recursive: true });
const out = join(outDir, `${started.toISOString().replace(/:\d\d\.\d+Z$/, 'Z').replace(/:/g, '')}.json`);
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
rmSync(resultsRoot, { recursive: true, force: true });
process.stdout.write(`written ${out}\n`);
