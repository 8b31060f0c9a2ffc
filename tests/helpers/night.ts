import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { repoRoot } from '../../lab/core/paths.ts';
import { tempDir } from './temp.ts';

/** Real result.json files (tests/fixtures/runs/known-issues) laid out as a nightly's merged runs and baseline; removed after the test. */
export function nightLayout(merged: Record<string, string>, baseline: Record<string, string>): string {
  const fixture = (name: string) => join(repoRoot, 'tests', 'fixtures', 'runs', 'known-issues', name);
  const root = tempDir('lab-night-');
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  for (const [group, file] of Object.entries(merged)) {
    mkdirSync(join(root, 'merged', group), { recursive: true });
    copyFileSync(fixture(file), join(root, 'merged', group, 'result.json'));
  }
  for (const [dir, file] of Object.entries(baseline)) {
    mkdirSync(join(root, 'baseline', dir), { recursive: true });
    copyFileSync(fixture(file), join(root, 'baseline', dir, 'result.json'));
  }
  return root;
}
