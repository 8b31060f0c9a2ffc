import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../lab/core/paths.ts';
import { metricSection, withMetricSection } from '../lab/docs.ts';
import { registry } from './helpers/registry.ts';

describe('the README metric list', () => {
  it('is the registry, as npm run docs writes it', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    expect(readme).toContain(metricSection(registry));
    expect(withMetricSection(readme, registry)).toBe(readme);
  });

  it('lists every family with its example', () => {
    for (const f of registry.families) expect(metricSection(registry)).toContain(`\`${f.example}\``);
  });
});
