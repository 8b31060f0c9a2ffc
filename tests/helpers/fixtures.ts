import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../lab/core/paths.ts';

/** Output recorded from a real guest (tests/fixtures/<kernel>/...). */
export function fixture(...parts: string[]): string {
  return readFileSync(join(repoRoot, 'tests', 'fixtures', ...parts), 'utf8');
}
