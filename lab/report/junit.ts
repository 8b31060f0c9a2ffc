/** JUnit XML: one testsuite per kernel, one testcase per expectation (or per scenario error). */
import { describeFix } from '../judge/known-issues.ts';
import type { RunResult } from './result.ts';

/** Text and attribute values of JUnit XML (the lab's and both bisections' junit.xml). */
export const xmlEscape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
    // characters XML 1.0 cannot carry (console output may have them)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

/** The end of an error element: its body is the kernel's report and the known issue it matched, when there is one. */
function errorBody(s: RunResult['scenarios'][number]): string {
  if (!s.kernelReport) return '/>';
  const known = [
    ...(s.regression ? [`REGRESSION: ${s.regression}`] : []),
    ...(s.knownIssue ? [`known issue: ${s.knownIssue.title}`, `upstream fix: ${describeFix(s.knownIssue)}`] : []),
  ];
  return `>${xmlEscape([...known, ...s.kernelReport].join('\n'))}</error>`;
}

export function toJUnit(run: RunResult): string {
  const kernel = run.kernel?.release ?? run.kernelSpec;
  const cases: string[] = [];
  let failures = 0;
  let errors = 0;
  let skipped = 0;
  for (const s of run.scenarios) {
    const classname = xmlEscape(`page-owner-lab.${kernel}.${s.name}`);
    const time = (s.durationMs / 1000).toFixed(3);
    if (s.status === 'SKIP') {
      skipped++;
      cases.push(`    <testcase classname="${classname}" name="scenario" time="${time}">\n      <skipped message="${xmlEscape(s.skipReason ?? '')}"/>\n    </testcase>`);
      continue;
    }
    if (s.error || !s.judgement) {
      errors++;
      cases.push(
        `    <testcase classname="${classname}" name="scenario" time="${time}">\n` +
          `      <error type="${xmlEscape(s.error?.code ?? 'ERROR')}" message="${xmlEscape(s.error?.message ?? 'no verdict')}"${errorBody(s)}\n` +
          `    </testcase>`,
      );
      continue;
    }
    const labChecks = (s.checks?.expectations ?? []).map((e) => ({ ...e, expect: `lab: ${e.expect}` }));
    for (const e of [...s.judgement.expectations, ...labChecks]) {
      const body =
        e.verdict === 'pass'
          ? ''
          : e.verdict === 'skip'
            ? (skipped++, `\n      <skipped message="${xmlEscape(e.message)}"/>\n    `)
          : e.verdict === 'fail'
            ? (failures++, `\n      <failure type="${s.regression ? 'regression' : 'expectation'}" message="${xmlEscape(e.message)}"${s.regression ? `>${xmlEscape(`REGRESSION: ${s.regression}`)}</failure>` : '/>'}\n    `)
            : (errors++, `\n      <error type="unobserved" message="${xmlEscape(e.message)}"/>\n    `);
      cases.push(`    <testcase classname="${classname}" name="${xmlEscape(e.expect)}" time="${time}">${body}</testcase>`);
    }
  }
  if (run.error) {
    errors++;
    cases.push(
      `    <testcase classname="page-owner-lab.${xmlEscape(kernel)}" name="infrastructure">\n` +
        `      <error type="${xmlEscape(run.error.code)}" message="${xmlEscape(run.error.message)}"/>\n    </testcase>`,
    );
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="page-owner-lab" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}">`,
    `  <testsuite name="${xmlEscape(`kernel ${kernel}`)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" timestamp="${run.startedAt}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
