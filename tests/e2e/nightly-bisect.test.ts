import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { repoRoot } from '../../lab/core/paths.ts';
import { nightLayout } from '../helpers/night.ts';
import { kernelCached } from '../helpers/debug-kernel.ts';

const cached = (...releases: string[]) => releases.every((r) => kernelCached('6.12', 'lab', r));

/**
 * The nightly's follow-up job for real: the night's merged 6.12.117 run oopsed in memcg-dump, the
 * baseline's 6.12.107 passed it, so .ci/bisect.mjs runs lab bisect across releases. Runs when the
 * releases the search tests are cached (6.12.113 and 6.12.115; the endpoints are then not needed).
 */
describe.runIf(process.env.LAB_E2E_NEWEST === '1' || cached('6.12.113', '6.12.115'))('.ci/bisect.mjs on a night with the memcg-dump oops', () => {
  it('bisects from the baseline\'s 6.12.107 to 6.12.117 and puts the answer and the changelog entry into the summary', async () => {
    const root = nightLayout({ '6.12.117-lab': '6.12.117-memcg-dump.json' }, { '6.12-lab/night-1': '6.12.107-memcg-dump.json' });
    const r = await execa('node', [join(repoRoot, '.ci', 'bisect.mjs'), join(root, 'merged'), join(root, 'baseline'), join(root, 'out')], {
      cwd: repoRoot,
      reject: false,
      // among the releases already built: Debian's archive gains releases, and a new one in the range would cost a build here
      env: { GITHUB_STEP_SUMMARY: '', BISECT_ARGS: '--releases 6.12.113,6.12.115' },
    });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^bisecting memcg-dump from 6\.12\.107 to 6\.12\.117 \(lab\)$/m);
    expect(r.stdout).toMatch(/^### 6\.12\.117 memcg-dump \(good in the baseline on 6\.12\.107\)$/m);
    expect(r.stdout).toMatch(/^last good 6\.12\.113, first bad 6\.12\.115$/m);
    // the endpoints were not needed: the answer rests on the two releases tested
    expect(r.stdout).toMatch(/^\| 1 \| 6\.12\.(113|115) \|.*\n\| 2 \| 6\.12\.(113|115) \|/m);
    expect(r.stdout).toMatch(/^- 6\.12\.114 \(Debian 6\.12\.115-1\): mm\/page_owner: use memcg_data snapshot/m);
  });
});
