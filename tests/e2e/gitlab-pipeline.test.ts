import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { consoleReporter } from '../../lab/core/reporter.ts';
import { testRequirements } from '../../lab/host/requirements.ts';
import { ensureHost } from '../../lab/host/setup.ts';
import { readRunResult } from '../../lab/report/result.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * The GitLab nightly run for real, as far as this machine allows: gitlab-ci-local (pinned in
 * package.json at a version that runs on Node 20) runs .gitlab-ci.yml's matrix job and then the
 * child pipeline it writes (gitlab-ci-local does not follow `trigger:`, so the test does), every job
 * with the shell executor (no Docker here) in its own copy of a clean clone (--shell-isolation),
 * artifacts and caches passed between jobs as GitLab would: 6.12 resolved to its release, one build,
 * two shards (hugetlb, idle-baseline), the report; then a second night, gated against the first.
 * The lab cache is the host's (LAB_CACHE_DIR), so the build is a cache hit, not 12 minutes.
 */
const GLCI = join(repoRoot, 'node_modules', '.bin', 'gitlab-ci-local');
const clone = join(tempDir('lab-gitlab-'), 'project');
const logs = tempDir('lab-gitlab-logs-');
const cache = process.env.LAB_CACHE_DIR ?? join(homedir(), '.cache', 'page-owner-lab');

async function glci(name: string, args: string[]) {
  const r = await execa(GLCI, ['--force-shell-executor', '--shell-isolation', '--concurrency', '1', ...args], { cwd: clone, reject: false, all: true, stdin: 'ignore' });
  writeFileSync(join(logs, `${name}.log`), String(r.all));
  return { exitCode: r.exitCode, all: String(r.all) };
}

describe('the GitLab nightly under gitlab-ci-local', () => {
  beforeAll(async () => {
    await ensureHost(consoleReporter({ quiet: true }), { requirements: testRequirements });
    await execa('git', ['clone', '--quiet', '--no-local', repoRoot, clone]);
  });
  afterAll(() => rmSync(join(clone, '..'), { recursive: true, force: true }));

  it('the matrix job resolves 6.12 to its release and writes the child pipeline: one build, two shards, the report', async () => {
    const r = await glci('matrix', ['--artifacts-to-source', '--variable', 'KERNELS=6.12', '--variable', 'SCENARIOS=idle-baseline,hugetlb', '--variable', 'SHARDS=2', 'matrix']);
    expect(r.exitCode, r.all.slice(-3000)).toBe(0);
    expect(r.all).toMatch(/PASS\s+matrix/);
    const child = readFileSync(join(clone, 'nightly-child.yml'), 'utf8');
    expect(child).toMatch(/BUILD_KERNEL: 6\.12\.\d+/);
    expect(child.match(/CELL_NAME: 6\.12\.\d+-lab-\dof2/g)).toHaveLength(2);
  });

  it('the child pipeline: the build hands the kernel over, both shards boot it without building, the report merges and gates', async () => {
    const r = await glci('night-1', ['--file', 'nightly-child.yml', '--variable', `LAB_CACHE_DIR=${cache}`]);
    expect(r.exitCode, `see ${join(logs, 'night-1.log')}\n${r.all.slice(-3000)}`).toBe(0);
    expect(r.all.match(/^ PASS {2}(build|cell|report)\b/gm)).toHaveLength(4);
    expect(r.all.match(/> kernel from the build job: 6\.12\.\d+-lab-[0-9a-f]{16}$/gm)).toHaveLength(2);
    expect(r.all).not.toMatch(/\[kernel\] (configuring|building)/);
    // the report job merged both shards into one run of the kernel, and kept it as the first night
    const merged = join(clone, '.gitlab-ci-local', 'builds', 'report', 'merged');
    const [group] = readdirSync(merged);
    expect(group).toMatch(/^6\.12\.\d+-lab$/);
    const run = await readRunResult(join(merged, group!));
    expect(run.scenarios.map((s) => `${s.name} ${s.status}`).sort()).toEqual(['hugetlb PASS', 'idle-baseline PASS']);
    expect(r.all).toMatch(/> 6\.12-lab: 1 night\(s\) in baseline$/m);
    expect(existsSync(join(clone, '.gitlab-ci-local', 'cache', 'lab-nightly-baseline'))).toBe(true);
  });

  it('a second night is gated against the first (the noise profile judges one night), and joins the baseline', async () => {
    const r = await glci('night-2', ['--file', 'nightly-child.yml', '--variable', `LAB_CACHE_DIR=${cache}`]);
    expect(r.exitCode, `see ${join(logs, 'night-2.log')}\n${r.all.slice(-3000)}`).toBe(0);
    expect(r.all).toMatch(/> gate: 0 regression\(s\) against 1 baseline run\(s\); \d+ metric\(s\) gated: 0 by the baseline's own spread, [1-9]\d* by the noise profile$/m);
    expect(r.all).toMatch(/> 6\.12-lab: 2 night\(s\) in baseline$/m);
  });
});
