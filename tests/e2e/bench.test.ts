import { execa } from 'execa';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BenchResultSchema } from '../../bench/schema.ts';
import { repoRoot } from '../../lab/core/paths.ts';
import { tempDir } from '../helpers/temp.ts';

/** CI runs the bench only in smoke mode: each quick measurement once, the shape of its output checked. Timings are never judged here. */
describe('npm run bench -- --smoke', () => {
  it('writes a results file of the documented shape with the quick measurements taken and the long ones skipped with a reason', async () => {
    const out = tempDir('bench-out-');
    const r = await execa('npm', ['run', '-s', 'bench', '--', '--smoke', '--out', out], { cwd: repoRoot, reject: false, stdin: 'ignore' });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const files = readdirSync(out);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^\d{4}-\d\d-\d\dT\d{4}Z\.json$/);
    const result = BenchResultSchema.parse(JSON.parse(readFileSync(join(out, files[0]!), 'utf8')));
    expect(result.smoke).toBe(true);
    expect(result.git.revision).toMatch(/^[0-9a-f]{40}$/);
    const byId = Object.fromEntries(result.measures.map((m) => [m.id, m]));
    for (const id of ['warm-exec', 'cold-boot', 'scenario']) {
      expect(byId[id]?.samples, id).toHaveLength(1);
      expect(byId[id]!.median).toBeGreaterThan(0);
    }
    expect(typeof byId['warm-exec']!.met).toBe('boolean');
    for (const id of ['suite', 'rss', 'rebuild', 'cold-build', 'vng']) expect(byId[id]?.skipped, id).toBeTruthy();
    // the printed table names every measurement
    for (const m of result.measures) expect(r.stdout).toContain(m.name);
  });
});
