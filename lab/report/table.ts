/** The short verdict table printed at the end of a run, and the plain text tables of the terminal. */
import type { RunResult } from './result.ts';

/** Columns padded to their widest cell, a rule under the header. */
export function textTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const body = rows.map(line);
  body.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return body.join('\n');
}

export function verdictTable(run: RunResult): string {
  const rows: string[][] = [['scenario', 'expectation', 'expected', 'observed', 'verdict']];
  for (const s of run.scenarios) {
    if (s.status === 'SKIP') {
      rows.push([s.name, '(scenario)', '-', s.skipReason ?? '-', 'SKIP']);
      continue;
    }
    if (!s.judgement) {
      rows.push([s.name, '(scenario)', '-', s.error?.code ?? '-', 'ERROR']);
      continue;
    }
    for (const e of s.judgement.expectations) {
      const m = /^(.*?)\s*(>=|<=|==|!=|>|<)\s*(.*)$/.exec(e.expect);
      const expected = m ? `${m[2]} ${m[3]}${e.right !== undefined && String(e.right) !== m[3] ? ` (${e.right})` : ''}` : e.expect;
      const observed = m ? `${m[1]} = ${e.left ?? '?'}` : String(e.left ?? '?');
      rows.push([s.name, e.expect, expected, observed, e.verdict.toUpperCase()]);
    }
    if (s.checks) {
      const bad = s.checks.expectations.filter((e) => e.verdict === 'fail' || e.verdict === 'error');
      const n = s.checks.expectations.length;
      rows.push([s.name, '(lab cross-checks)', `${n} hold`, `${n - bad.length} hold`, bad.length ? s.checks.verdict.toUpperCase() : 'PASS']);
    }
  }
  return textTable(rows);
}
