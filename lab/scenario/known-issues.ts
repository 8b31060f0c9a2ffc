/** A kernel report against the bugs a scenario knows: which one it is, and its upstream fix. */
import { kernelMatches } from '../expr/expr.ts';
import type { Scenario } from './load.ts';

export interface KnownIssue {
  title: string;
  fix: string;
  fixes?: string;
  details?: string;
  /** The report line that matched. */
  matched: string;
}

/** The upstream fix as every report prints it: its subject (quoted when asked), then the commit its Fixes: tag names. */
export function describeFix(k: Pick<KnownIssue, 'fix' | 'fixes'>, quote = ''): string {
  return `${quote}${k.fix}${quote}${k.fixes ? ` (Fixes: ${k.fixes})` : ''}`;
}

export function matchKnownIssue(known: Scenario['known_issues'], report: readonly string[], release: string): KnownIssue | undefined {
  for (const k of known) {
    if (k.kernel && !kernelMatches(k.kernel, release)) continue;
    const re = new RegExp(k.report);
    const line = report.find((l) => re.test(l));
    if (line) return { title: k.title, fix: k.fix, ...(k.fixes ? { fixes: k.fixes } : {}), ...(k.details ? { details: k.details } : {}), matched: line.trim() };
  }
  return undefined;
}
