import { existsSync, readdirSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../lab/core/config.ts';
import type { SnapshotMeta } from '../../lab/guest/snapshot.ts';
import { lab } from '../helpers/cli.ts';

/**
 * Saved ready guests on real 6.12 guests. A memory size no other test uses
 * gives this file its own saved guest, removed first so the first run boots.
 */
const MEMORY = '1008';
const snapshots = join(resolveConfig().paths.cache, 'snapshots');
const exec = (command: string, ...flags: string[]) => lab(['exec', '--kernel', '6.12', '--memory', MEMORY, ...flags, '--', command]);
const execJson = (resultsDir: string) => {
  const dir = readdirSync(resultsDir).filter((d) => d.includes('exec-')).sort().at(-1)!;
  return { dir: join(resultsDir, dir), json: JSON.parse(readFileSync(join(resultsDir, dir, 'exec.json'), 'utf8')) as Record<string, unknown> };
};

function removeOurs() {
  for (const key of existsSync(snapshots) ? readdirSync(snapshots) : []) {
    const meta = join(snapshots, key, 'meta.json');
    if (existsSync(meta) && (JSON.parse(readFileSync(meta, 'utf8')) as SnapshotMeta).identity.includes(`${MEMORY}M`)) rmSync(join(snapshots, key), { recursive: true, force: true });
  }
}

describe('a saved ready guest', () => {
  let key: string;
  beforeAll(() => removeOurs());

  it('the first run boots and saves; the next restores it, with its own token, port and clock', async () => {
    const first = await exec('true');
    expect(first.exitCode, first.stderr).toBe(0);
    const a = execJson(first.resultsDir);
    expect(a.json.restoredFrom).toBeUndefined();
    expect(a.json.savedAs).toMatch(/^[0-9a-f]{24}$/);
    key = a.json.savedAs as string;
    expect(existsSync(join(snapshots, key, 'state'))).toBe(true);

    const second = await exec('cat /run/lab.token; date +%s; echo restored > /root/mark; cat /root/mark');
    expect(second.exitCode, second.stderr).toBe(0);
    const b = execJson(second.resultsDir);
    expect(b.json.restoredFrom).toBe(key);
    const [token, clock, mark] = second.stdout.split('\n');
    // the token SSH checked is this run's, not the saved guest's
    expect(token).toBe(b.json.token);
    expect(token).not.toBe(a.json.token);
    expect(b.json.sshPort).not.toBe(a.json.sshPort);
    // the clock was set from the host's on restore (the saved guest's stopped when it was saved)
    expect(Math.abs(Number(clock) - Date.now() / 1000)).toBeLessThan(30);
    expect(mark).toBe('restored');
    // the console has the saved boot, then the restore
    const consoleLog = readFileSync(join(b.dir, 'console.log'), 'utf8');
    expect(consoleLog).toMatch(/Linux version 6\.12\.\d+[\s\S]*restored for this run from here[\s\S]*LAB-READY token=/);
    expect(consoleLog).toContain(`LAB-READY token=${token}`);
  });

  it('every restore writes to a fresh overlay: the last run’s file is not there', async () => {
    const r = await exec('test -e /root/mark');
    expect(r.exitCode).toBe(1);
    expect(execJson(r.resultsDir).json.restoredFrom).toBe(key);
  });

  it('a scenario run restores it too and passes', async () => {
    const r = await lab(['--kernel', '6.12', '--memory', MEMORY, '--scenario', 'idle-baseline']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const dir = /results in (\S+)/.exec(r.stdout)?.[1];
    const result = JSON.parse(readFileSync(join(dir!, 'result.json'), 'utf8'));
    expect(result.guest.restoredFrom).toBe(key);
    expect(result.boots[0].restoredFrom).toBe(key);
    expect(result.guest.unameR).toMatch(/^6\.12\./);
  });

  it('--no-snapshot boots from scratch and saves nothing', async () => {
    const r = await exec('true', '--no-snapshot');
    expect(r.exitCode).toBe(0);
    const { json } = execJson(r.resultsDir);
    expect(json.restoredFrom).toBeUndefined();
    expect(json.savedAs).toBeUndefined();
  });

  it('a saved guest that does not restore is removed, and the run boots and saves anew', async () => {
    truncateSync(join(snapshots, key, 'state'), 4096);
    const r = await exec('true');
    expect(r.exitCode, r.stderr).toBe(0);
    const { dir, json } = execJson(r.resultsDir);
    expect(json.restoredFrom).toBeUndefined();
    expect(json.savedAs).toBe(key);
    expect(readFileSync(join(dir, 'lab.log'), 'utf8')).toMatch(/the saved guest did not come up \(.*\): removed it, booting/);
    // the new one restores
    const again = await exec('true');
    expect(execJson(again.resultsDir).json.restoredFrom).toBe(key);
  });
});
