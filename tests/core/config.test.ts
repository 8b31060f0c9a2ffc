import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeConfig, resolveConfig, tcgThreadsFor } from '../../lab/core/config.ts';
import { InputError } from '../../lab/core/errors.ts';

const cwd = () => mkdtempSync(join(tmpdir(), 'lab-config-'));

describe('configuration: flags, then environment, then lab.config.*, then defaults', () => {
  it('defaults, with their sources', () => {
    const c = resolveConfig({ env: { HOME: '/home/u' }, cwd: cwd() });
    expect(c.memoryMb).toBe(1024);
    expect(c.cpus).toBe(2);
    expect(c.accel).toBe('auto');
    expect(c.tcgThreads).toBe('auto');
    expect(c.tarballDirs).toEqual([]);
    expect(c.sources.memoryMb).toBe('default');
    expect(c.paths.cache).toMatch(/page-owner-lab$/);
  });

  it('a flag beats the environment, which beats the file', () => {
    const dir = cwd();
    writeFileSync(join(dir, 'lab.config.yaml'), 'memoryMb: 3072\ncpus: 4\ntarballDirs: [kernels]\naccel: tcg\n');
    const c = resolveConfig({ flags: { memoryMb: 512 }, env: { LAB_CPUS: '3' }, cwd: dir });
    expect(c.memoryMb).toBe(512);
    expect(c.cpus).toBe(3);
    expect(c.accel).toBe('tcg');
    expect(c.tarballDirs).toEqual([join(dir, 'kernels')]);
    expect([c.sources.memoryMb, c.sources.cpus, c.sources.accel]).toEqual(['flag', 'env', 'file']);
    expect(describeConfig(c)).toContain('cpus = 3 (env LAB_CPUS)');
    expect(describeConfig(c).find((l) => l.startsWith('tcgThreads'))).toMatch(/^tcgThreads = auto: one kernel's lab run (multi|single)-threaded \(3 vCPUs, \d+ cores\), exec and shell single-threaded \(default\)$/);
  });

  it('tcgThreads auto: a thread per vCPU for lab run while the guests at once fit the cores; one thread for exec and shell', () => {
    const run = { vcpus: 2, hostCores: 2 };
    expect(tcgThreadsFor('auto', { ...run, guestsAtOnce: 1 })).toBe('multi');
    // two kernels side by side on 2 cores: one core each
    expect(tcgThreadsFor('auto', { ...run, guestsAtOnce: 2 })).toBe('single');
    expect(tcgThreadsFor('auto', { vcpus: 2, guestsAtOnce: 2, hostCores: 8 })).toBe('multi');
    expect(tcgThreadsFor('auto', { ...run, interactive: true })).toBe('single');
    // set explicitly: as set
    expect([tcgThreadsFor('single', run), tcgThreadsFor('multi', { ...run, interactive: true, guestsAtOnce: 3 })]).toEqual(['single', 'multi']);
  });

  it('LAB_TARBALL_DIR takes several folders; an empty LAB_KERNEL_MIRROR disables downloads', () => {
    const c = resolveConfig({ env: { LAB_TARBALL_DIR: '/a:/b', LAB_KERNEL_MIRROR: '' }, cwd: cwd() });
    expect(c.tarballDirs).toEqual(['/a', '/b']);
    expect(c.kernelMirror).toBe('');
  });

  it('a bad value names its key and where it came from', () => {
    expect(() => resolveConfig({ env: { LAB_ACCEL: 'fast' }, cwd: cwd() })).toThrow('LAB_ACCEL="fast": accepted: auto, tcg, kvm');
    expect(() => resolveConfig({ env: { LAB_TCG_THREADS: 'many' }, cwd: cwd() })).toThrow('LAB_TCG_THREADS="many": accepted: auto, single, multi');
    expect(resolveConfig({ env: { LAB_TCG_THREADS: 'multi' }, cwd: cwd() }).tcgThreads).toBe('multi');
    expect(() => resolveConfig({ env: { LAB_MEMORY_MB: 'lots' }, cwd: cwd() })).toThrow('LAB_MEMORY_MB="lots": expected a positive whole number');
    const dir = cwd();
    writeFileSync(join(dir, 'lab.config.json'), JSON.stringify({ memory: 2048 }));
    const e = (() => {
      try {
        resolveConfig({ env: {}, cwd: dir });
      } catch (x) {
        return x as InputError;
      }
    })();
    expect(e).toBeInstanceOf(InputError);
    expect(e!.exitCode).toBe(2);
    expect(e!.message).toMatch(/lab\.config\.json: memory: .*; keys: cacheDir, resultsDir/);
  });
});
