import { execa } from 'execa';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { nightLayout } from '../helpers/night.ts';

describe('.ci/bisect.mjs: which kernel errors the nightly bisects', () => {
  it('a kernel error with no earlier release of the series passing in the baseline: nothing to bisect, exit 0', async () => {
    // the baseline has 7.3.4 only: not an earlier release of 6.12
    const root = nightLayout({ '6.12.117-lab': '6.12.117-memcg-dump.json', '7.3.4-lab': '7.3.4-memcg-dump-gigantic.json' }, { '7.3-lab/night-1': '7.3.4-memcg-dump-gigantic.json' });
    const r = await execa('node', [join(repoRoot, '.ci', 'bisect.mjs'), join(root, 'merged'), join(root, 'baseline'), join(root, 'out')], { cwd: repoRoot, reject: false, env: { GITHUB_STEP_SUMMARY: '' } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^- 6\.12\.117 memcg-dump: a kernel error, and no earlier 6\.12 release passed it in the baseline: nothing to bisect$/m);
    expect(r.stdout).toMatch(/Nothing to bisect: no kernel error on a release whose series passed the scenario before\./);
    expect(r.stdout).not.toMatch(/bisecting/);
  });

  it('without its arguments it says how to call it, exit 2', async () => {
    const r = await execa('node', [join(repoRoot, '.ci', 'bisect.mjs')], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/usage: node \.ci\/bisect\.mjs MERGED BASELINE OUT/);
  });
});
