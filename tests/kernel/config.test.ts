import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { mergeRequests, parseDotConfig, parseFragment, parseKconfigArg, renderFragment, verifyConfig, type FragmentEntry } from '../../lab/kernel/config.ts';
import { fixture } from '../helpers/fixtures.ts';

const labFragment = readFileSync(join(repoRoot, 'kernels', 'lab.config'), 'utf8');

describe('kconfig fragments', () => {
  it('parses the lab fragment: options, "is not set" lines, comments', () => {
    const entries = parseFragment(labFragment, 'kernels/lab.config');
    expect(entries.find((e) => e.name === 'CONFIG_PAGE_OWNER')).toMatchObject({ value: 'y', file: 'kernels/lab.config' });
    expect(entries.length).toBeGreaterThan(60);
    expect(parseFragment('# CONFIG_SWAP is not set\nCONFIG_NR_CPUS=4\nCONFIG_CMDLINE="a b"\n', 'f')).toEqual([
      { name: 'CONFIG_SWAP', value: 'n', file: 'f', line: 1 },
      { name: 'CONFIG_NR_CPUS', value: '4', file: 'f', line: 2 },
      { name: 'CONFIG_CMDLINE', value: '"a b"', file: 'f', line: 3 },
    ]);
  });

  it('rejects a line that is not kconfig, naming file and line', () => {
    expect(() => parseFragment('CONFIG_A=y\nPAGE_OWNER=y\n', 'kernels/x.config')).toThrow(
      'kernels/x.config:2: "PAGE_OWNER=y" is not a kconfig line',
    );
  });

  it('--kconfig values', () => {
    expect(parseKconfigArg('CONFIG_KASAN=y')).toMatchObject({ name: 'CONFIG_KASAN', value: 'y' });
    expect(() => parseKconfigArg('KASAN=y')).toThrow(/expected CONFIG_NAME=value/);
  });

  it('later fragments override earlier ones, as merge_config.sh does', () => {
    const merged = mergeRequests([...parseFragment('CONFIG_A=y\nCONFIG_B=y\n', 'base'), ...parseFragment('# CONFIG_A is not set\n', 'user')]);
    expect(merged.get('CONFIG_A')).toMatchObject({ value: 'n', file: 'user' });
    expect(renderFragment([...merged.values()])).toBe('# CONFIG_A is not set\nCONFIG_B=y\n');
  });
});

describe('verifyConfig', () => {
  const final = parseDotConfig(fixture('6.12.117', 'kernel.config'));

  it('finds every lab option in the .config the lab really built for 6.12.117', () => {
    expect(final.get('CONFIG_PAGE_OWNER')).toBe('y');
    expect(verifyConfig(parseFragment(labFragment, 'kernels/lab.config'), final)).toEqual([]);
  });

  it('names the options olddefconfig dropped, with the fragment line that asked', () => {
    const asked = parseFragment('CONFIG_PAGE_OWNER=y\nCONFIG_KASAN=y\n# CONFIG_MODULES is not set\nCONFIG_NR_CPUS=7\n', 'user.config');
    expect(verifyConfig(asked, final)).toEqual([
      { name: 'CONFIG_KASAN', wanted: 'y', got: 'n', from: 'user.config:2' },
      { name: 'CONFIG_MODULES', wanted: 'n', got: 'y', from: 'user.config:3' },
      { name: 'CONFIG_NR_CPUS', wanted: '7', got: final.get('CONFIG_NR_CPUS') ?? 'n', from: 'user.config:4' },
    ]);
  });
});

describe('fragment lines for some kernels only (# lab: when kernel ...)', () => {
  const text = ['CONFIG_SYSCTL=y', '# lab: when kernel < 7.3', 'CONFIG_PROC_SYSCTL=y', '# lab: end', '# lab: when kernel >= 7.3', '# CONFIG_FOO is not set', '# lab: end', 'CONFIG_PROC_FS=y'].join('\n');

  it('a block applies to the kernels its condition holds for; the others list its lines as left out', () => {
    const names = (release?: string) => parseFragment(text, 'lab.config', release).map((e) => `${e.name}=${e.value}`);
    expect(names('6.12.117')).toEqual(['CONFIG_SYSCTL=y', 'CONFIG_PROC_SYSCTL=y', 'CONFIG_PROC_FS=y']);
    const skipped: (FragmentEntry & { when: string })[] = [];
    expect(parseFragment(text, 'lab.config', '7.3.4', skipped).map((e) => `${e.name}=${e.value}`)).toEqual(['CONFIG_SYSCTL=y', 'CONFIG_FOO=n', 'CONFIG_PROC_FS=y']);
    expect(skipped).toEqual([{ name: 'CONFIG_PROC_SYSCTL', value: 'y', file: 'lab.config', line: 3, when: 'kernel < 7.3' }]);
    // without a release (a fragment read before the source is known), every line counts
    expect(names()).toHaveLength(4);
  });

  it('a block that is not closed, nested, or a condition that is not one, names file and line', () => {
    expect(() => parseFragment('# lab: when kernel < 7.3\nCONFIG_A=y\n', 'f.config', '7.3.4')).toThrow(/^f\.config:1: "# lab: when kernel < 7\.3" is never closed/);
    expect(() => parseFragment('# lab: when kernel < 7.3\n# lab: when kernel > 6\n', 'f.config')).toThrow(/^f\.config:2: "# lab: when" inside the block of line 1/);
    expect(() => parseFragment('# lab: when kernel about 7\n# lab: end\n', 'f.config')).toThrow(/^f\.config:1: "kernel about 7" is not a kernel condition; accepted: kernel >= 7\.3/);
    expect(() => parseFragment('# lab: end\n', 'f.config')).toThrow(/^f\.config:1: "# lab: end" without a "# lab: when"/);
  });
});
