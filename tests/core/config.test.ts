import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeConfig, resolveConfig, tcgThreadsFor } from '../../lab/core/config.ts';
import { InputError } from '../../lab/core/errors.ts';
import { tempDir } from '../helpers/temp.ts';

const cwd = () => tempDir('lab-config-');

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

  it('values beyond what Node, QEMU or the host can do fail here, naming flag, variable or file (exit 2), before anything is built', () => {
    // a ready timeout past setTimeout's limit made every boot time out in 1 ms
    expect(() => resolveConfig({ env: { LAB_READY_TIMEOUT_S: '2147484' }, cwd: cwd() })).toThrow(/LAB_READY_TIMEOUT_S=2147484: at most 2147483 \(Node's timer limit/);
    expect(resolveConfig({ env: { LAB_READY_TIMEOUT_S: '2147483' }, cwd: cwd() }).readyTimeoutS).toBe(2147483);
    expect(() => resolveConfig({ flags: { memoryMb: 64 * 2 ** 20 }, env: {}, cwd: cwd() })).toThrow(/--memory 67108864: at most \d+ \(this host's memory\)/);
    expect(() => resolveConfig({ flags: { cpus: 4096 }, env: {}, cwd: cwd() })).toThrow(/--cpus 4096: at most 255 \(QEMU's q35 machine without an IOMMU\)/);
    const dir = cwd();
    writeFileSync(join(dir, 'lab.config.json'), JSON.stringify({ cpus: 1000 }));
    expect(() => resolveConfig({ env: {}, cwd: dir })).toThrow(/cpus in the config file \(1000\): at most 255/);
  });

  it('two config files side by side: an error naming both, never one of them silently ignored', () => {
    const dir = cwd();
    writeFileSync(join(dir, 'lab.config.json'), JSON.stringify({ cpus: 4 }));
    writeFileSync(join(dir, 'lab.config.yaml'), 'cpus: 8\n');
    expect(() => resolveConfig({ env: {}, cwd: dir })).toThrow(/lab\.config\.json and .*lab\.config\.yaml: two config files; keep one/);
  });
});
