import { execa } from 'execa';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';

const judge = (input: string) => execa('node', [join(repoRoot, '.ci', 'audit.mjs')], { input, reject: false });

/** `npm test`'s pretest: npm audit --omit=dev --json, judged by .ci/audit.mjs. */
describe('.ci/audit.mjs', () => {
  it('a high or critical advisory in a production dependency fails the run, naming it', async () => {
    const r = await judge(JSON.stringify({ metadata: { vulnerabilities: { total: 2, critical: 0, high: 1, moderate: 1, low: 0 } }, vulnerabilities: { tar: { severity: 'high', range: '<7.5.2' }, yaml: { severity: 'moderate' } } }));
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^npm audit --omit=dev: 2 advisories .*\(0 critical, 1 high, 1 moderate, 0 low\)\n {2}high: tar <7\.5\.2$/);
  });

  it('none, or only moderate ones: the run goes on', async () => {
    expect((await judge(JSON.stringify({ metadata: { vulnerabilities: { total: 0 } } }))).exitCode).toBe(0);
    expect((await judge(JSON.stringify({ metadata: { vulnerabilities: { total: 1, moderate: 1 } }, vulnerabilities: {} }))).exitCode).toBe(0);
  });

  it('a registry that refuses audit requests (405, as this one does) or no answer at all: printed, NOT audited, the run goes on', async () => {
    const refused = await judge(JSON.stringify({ message: '405 Method Not Allowed - POST <registry>/-/npm/v1/security/advisories/bulk', statusCode: 405 }));
    expect(refused.exitCode).toBe(0);
    expect(refused.stdout).toBe('npm audit --omit=dev: the audit could not be had (405 Method Not Allowed); the production dependencies were NOT audited');
    expect((await judge('')).stdout).toMatch(/\(no answer\); the production dependencies were NOT audited/);
  });
});
