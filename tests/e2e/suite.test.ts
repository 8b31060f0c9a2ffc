import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../lab/report/result.ts';
import { lab } from '../helpers/cli.ts';

/**
 * The whole default suite (every scenario in scenarios/) on each kernel Debian
 * ships, booted for real: one guest per kernel, every scenario PASS, every
 * cross-check holding, the probe map as the research says it must be.
 */
describe.each(['6.12', '6.1'])('the default suite on %s', (kernel) => {
  it('passes, with the observers agreeing', async () => {
    const r = await lab(['--kernel', kernel, '-q']);
    const dir = /results in (\S+)/.exec(r.stdout)?.[1];
    expect(dir, `${r.stdout}\n${r.stderr}`).toBeDefined();
    const result = JSON.parse(readFileSync(join(dir!, 'result.json'), 'utf8')) as RunResult;
    const summary = result.scenarios.map((s) => `${s.name}: ${s.status} ${s.error?.message ?? ''}`).join('\n');
    expect(r.exitCode, `${summary}\n${r.stdout}`).toBe(0);
    expect(result.guest!.unameR).toMatch(new RegExp(`^${kernel.replace('.', '\\.')}\\.\\d+$`));

    const names = result.scenarios.map((s) => s.name);
    expect(names).toEqual(['compaction-migrate', 'hugetlb', 'idle-baseline', 'module-filter', 'page-owner-dump', 'stress-ng-vm', 'thp-fault-split']);
    for (const s of result.scenarios) {
      expect(s.status, s.name).toBe('PASS');
      expect(s.checks!.expectations.every((c) => c.verdict === 'pass'), s.name).toBe(true);
    }
    // one guest for the whole suite: nothing tainted it
    expect(result.guest!.boots).toBe(1);

    // the module: no W=1 warnings, and modinfo tells what it is
    expect(result.module!.warnings).toEqual([]);
    const modinfo = await execa('modinfo', ['-F', 'license', result.module!.path]);
    expect(String(modinfo.stdout)).toBe('GPL');
    expect(String((await execa('modinfo', ['-F', 'description', result.module!.path])).stdout)).toMatch(/__set_page_owner/);
    expect(String((await execa('modinfo', ['-F', 'vermagic', result.module!.path])).stdout)).toMatch(new RegExp(`^${result.kernel!.release} `));

    const probes = Object.fromEntries(result.guest!.probeMap.map((p) => [p.event, p]));
    expect(probes.copy).toMatchObject({ status: 'renamed', function: '__folio_copy_owner' });
    expect(probes.init!.status).toBe('init-only');
    expect(probes.need!.status).toBe('init-only');
    for (const e of ['set', 'reset', 'split', 'set migrate', 'dump', 'read']) expect(probes[e]!.status, e).toBe('probed');

    // the participation filter: exact ratios
    const filter = result.scenarios.find((s) => s.name === 'module-filter')!;
    const rows = Object.fromEntries(filter.observations.module!.rows.map((row) => [row.order, row]));
    expect(rows[0]!.recorded).toBe(rows[0]!.seen);
    expect(rows[9]!.recorded).toBe(Math.floor((rows[9]!.seen * 50) / 100));
    expect(rows[1]!.recorded).toBe(0);

    // split decoded per version into the same page count
    const thp = result.scenarios.find((s) => s.name === 'thp-fault-split')!;
    const splits = thp.observations.vmstatAfter!.thp_split_page! - thp.observations.vmstatBefore!.thp_split_page!;
    expect(Number(thp.observations.bpf!.maps.split_pages!['']!)).toBeGreaterThanOrEqual(512 * splits);
  });
});
