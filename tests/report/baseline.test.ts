import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../lab/core/errors.ts';
import { acceptNight, baselineGroup, keepNight } from '../../lab/report/baseline.ts';
import { nights } from '../helpers/runs.ts';
import { tempDir } from '../helpers/temp.ts';

/** The nightly baseline folder on real nights of 6.12.117: kept N deep by clean nights, replaced only by an acceptance. */
describe('lab baseline', () => {
  const all = nights();
  const asFolder = (i: number) => {
    const dir = join(tempDir('lab-night-'), all[i]!.result.runId);
    mkdirSync(dir);
    writeFileSync(join(dir, 'result.json'), JSON.stringify(all[i]!.result));
    return dir;
  };

  it('groups by kernel series and flavor: a new stable release is gated against the last one', () => {
    expect(baselineGroup(all[0]!.result)).toBe('6.12-lab');
  });

  it('keep: each clean night joins, the newest N stay', async () => {
    const into = tempDir('lab-baseline-');
    for (let i = 0; i < 7; i++) await keepNight([asFolder(i)], into, 5);
    const kept = readdirSync(join(into, '6.12-lab')).sort();
    expect(kept).toEqual(all.slice(2, 7).map((n) => n.result.runId).sort());
    expect(existsSync(join(into, '6.12-lab', kept[0]!, 'result.json'))).toBe(true);
  });

  it('keep refuses an ERROR run (exit 2): such a night is never a baseline', async () => {
    const bad = asFolder(0);
    writeFileSync(join(bad, 'result.json'), JSON.stringify({ ...all[0]!.result, status: 'ERROR', error: { code: 'GUEST_LOST', message: 'x', stage: 'scenarios' } }));
    const e = (await keepNight([bad], tempDir('lab-baseline-'), 5).catch((err: unknown) => err)) as InputError;
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(/an ERROR run \(GUEST_LOST\) never becomes a baseline/);
  });

  it('accept: tonight replaces the nights of its series, recorded with who and why', async () => {
    const into = tempDir('lab-baseline-');
    for (let i = 0; i < 3; i++) await keepNight([asFolder(i)], into, 5);
    const [a] = await acceptNight([asFolder(5)], into, { by: 'alice', why: '6.12.118 moves order-1 sets (stable backport)' }, new Date('2026-12-02T00:00:00Z'));
    expect(readdirSync(join(into, '6.12-lab')).sort()).toEqual([all[5]!.result.runId, 'accepted.json'].sort());
    expect(JSON.parse(readFileSync(join(into, '6.12-lab', 'accepted.json'), 'utf8'))).toEqual({ ...a, runId: all[5]!.result.runId, by: 'alice', at: '2026-12-02T00:00:00.000Z' });
    await expect(acceptNight([asFolder(6)], into, { by: ' ', why: 'x' })).rejects.toThrow(/--by and --why/);
  });
});
