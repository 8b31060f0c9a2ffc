import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { lab } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp.ts';

const runFile = (name: string) => join(repoRoot, 'tests', 'fixtures', 'runs', name);

describe('lab report (the CLI)', () => {
  it('writes report.md and report.html into a new folder under the results folder, and prints both', async () => {
    const r = await lab(['report', runFile('repeat3-6.1.192.json'), runFile('repeat3-6.6.87.json'), runFile('repeat3-6.12.117.json')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^6\.1\.192: 1 run\(s\), 6\.6\.87: 1 run\(s\), 6\.12\.117: 1 run\(s\); [1-9]\d* metric change\(s\) flagged$/m);
    const md = new RegExp(`^(${r.resultsDir}/\\d{8}T\\d{6}Z-report-[0-9a-f]{4})/report\\.md$`, 'm').exec(r.stdout);
    expect(md, r.stdout).not.toBeNull();
    expect(r.stdout).toContain(`${md![1]}/report.html`);
    expect(readFileSync(join(md![1]!, 'report.md'), 'utf8')).toMatch(/^# page-owner-lab report: 6\.1\.192, 6\.6\.87, 6\.12\.117$/m);
    expect(readFileSync(join(md![1]!, 'report.html'), 'utf8')).toContain('uPlot');
  });

  it('gates against a baseline: exit 1 on a regression, 0 without', async () => {
    const out = tempDir('lab-report-');
    const worse = JSON.parse(readFileSync(runFile('repeat3-6.12.117.json'), 'utf8'));
    worse.runId = 'worse';
    worse.scenarios.find((s: { name: string }) => s.name === 'idle-baseline').status = 'SKIP';
    const file = join(out, 'worse.json');
    writeFileSync(file, JSON.stringify(worse));
    const bad = await lab(['report', file, '--baseline', runFile('repeat3-6.12.117.json'), '--out', out]);
    expect(bad.exitCode, bad.stderr).toBe(1);
    expect(bad.stdout).toMatch(/^gate: 1 regression\(s\) against 1 baseline run\(s\); \d+ metric\(s\) gated: \d+ by the baseline's own spread, 0 by the noise profile$/m);
    expect(bad.stdout).toContain('6.12.117 idle-baseline: verdict PASS -> PASS 2/3, SKIP 1/3 (baseline 6.12.117)');
    const good = await lab(['report', runFile('repeat3-6.12.117.json'), '--baseline', runFile('repeat3-6.12.117.json'), '--out', out]);
    expect(good.exitCode, good.stdout).toBe(0);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
  });

  it('exits 2 naming the file on bad input', async () => {
    const dir = tempDir('lab-report-');
    writeFileSync(join(dir, 'result.json'), '{"runId": "x"}');
    const r = await lab(['report', runFile('repeat3-6.12.117.json'), dir]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'result.json')}: not a lab result`);
    const missing = await lab(['report', runFile('repeat3-6.12.117.json'), '--baseline', '/nonexistent/base']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/\/nonexistent\/base: no such file or folder/);
    expect((await lab(['report', runFile('repeat3-6.12.117.json'), '--group-by', 'night'])).exitCode).toBe(2);
  });
});
