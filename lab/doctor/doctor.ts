/**
 * `lab doctor`: what this host has and lacks for the lab, each line a check
 * with what to do about it. Reads only; installs nothing.
 */
import { existsSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { describeConfig, type LabConfig } from '../core/config.ts';
import { run, which } from '../core/proc.ts';
import { probeAccel } from '../guest/accel.ts';
import { debianSourceSeries, describeRequirement, hostRequirements, packagesOf, sourcePackage } from '../host/requirements.ts';
import { installCommand, missingRequirements } from '../host/setup.ts';
import { listCache, formatBytes } from '../kernel/cache.ts';

type Level = 'ok' | 'warn' | 'fail';

interface Check {
  name: string;
  level: Level;
  detail: string;
}

export async function doctor(config: LabConfig): Promise<Check[]> {
  const cacheDir = config.paths.cache;
  const checks: Check[] = [];
  const add = (name: string, level: Level, detail: string) => checks.push({ name, level, detail });
  for (const line of describeConfig(config)) add('config', 'ok', line);

  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  add('node', major > 20 || (major === 20 && minor >= 5) ? 'ok' : 'fail', `v${process.versions.node} (needs >= 20.5)`);
  const root = process.getuid?.() === 0;
  add('user', root ? 'ok' : 'warn', root ? 'root: the lab installs what it needs' : 'not root: missing packages must be installed by an administrator (lab setup prints the command)');

  // the programs themselves, not the package database: a package installed without its Recommends lacks some
  const required = hostRequirements.filter((r) => !r.optional);
  const missing = await missingRequirements(required);
  add(
    'host programs',
    missing.length ? 'fail' : 'ok',
    missing.length
      ? `missing: ${missing.map(describeRequirement).join(', ')}; run: ${root ? 'npm run lab -- setup' : installCommand(packagesOf(missing), false)}`
      : `all ${required.length} present (${required.map((r) => r.program ?? r.file).join(' ')})`,
  );
  const optional = await missingRequirements(hostRequirements.filter((r) => r.optional));
  if (optional.length) add('optional', 'warn', optional.map((r) => `${describeRequirement(r)}: ${r.why}`).join('; '));

  const sources = debianSourceSeries.filter((s) => existsSync(`/usr/src/${sourcePackage(s)}.tar.xz`));
  add(
    'kernel sources',
    sources.length ? 'ok' : 'warn',
    sources.length
      ? `offline: ${sources.map((s) => `/usr/src/${sourcePackage(s)}.tar.xz`).join(', ')}`
      : `none under /usr/src yet (installed on demand: ${debianSourceSeries.map(sourcePackage).join(', ')})`,
  );

  const accel = await probeAccel(config.accel, { cacheDir }).catch((e: Error) => e);
  if (accel instanceof Error) add('accelerator', 'fail', accel.message);
  else add('accelerator', accel.accel === 'kvm' ? 'ok' : 'warn', `${accel.accel.toUpperCase()}: ${accel.reason}${accel.accel === 'tcg' ? ' (works, boots take seconds instead of under one)' : ''}`);

  const fsDir = existsSync(cacheDir) ? cacheDir : '/';
  const fs = statfsSync(fsDir);
  const free = fs.bavail * fs.bsize;
  add('disk', free > 10 * 2 ** 30 ? 'ok' : 'warn', `${formatBytes(free)} free for ${cacheDir} (a kernel build needs about 2 GiB, an image 2 GiB)`);

  const entries = await listCache(cacheDir);
  const kernels = entries.filter((e) => e.kind === 'kernel');
  const images = entries.filter((e) => e.kind === 'image');
  add(
    'cache',
    'ok',
    `${cacheDir}: ${kernels.length} kernel build(s)${kernels.length ? ` (${kernels.map((k) => k.detail.split(' ')[0]).join(', ')})` : ''}, ${images.length} image(s), ${formatBytes(entries.reduce((a, e) => a + e.bytes, 0))}`,
  );
  if (await which('ccache')) {
    const stats = await run('ccache', ['-s'], { env: { CCACHE_DIR: join(cacheDir, 'ccache') }, okExitCodes: [1] });
    const size = /Cache size \(GB\):\s*([\d.]+)/.exec(stats.stdout)?.[1];
    add('ccache', 'ok', `${join(cacheDir, 'ccache')}${size ? `: ${size} GB` : ''}`);
  } else add('ccache', 'warn', 'not installed: every kernel config change rebuilds from scratch');
  const keyDir = join(cacheDir, 'ssh');
  add('ssh key', 'ok', existsSync(join(keyDir, 'id_ed25519')) ? `${join(keyDir, 'id_ed25519')} (0600)` : 'generated on the first run');
  return checks;
}
