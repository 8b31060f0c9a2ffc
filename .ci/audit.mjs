#!/usr/bin/env node
// Reads `npm audit --omit=dev --json` on stdin (.ci/audit.sh). Exit 1 on a high or critical advisory in
// the production dependencies; 0 when there is none, or when the audit could not be had (a registry that
// refuses audit requests: this one answers 405; no network), which is printed: then nothing was audited.
let text = '';
process.stdin.on('data', (d) => (text += d)).on('end', () => {
  let r;
  try {
    r = JSON.parse(text);
  } catch {
    r = undefined;
  }
  const v = r?.metadata?.vulnerabilities;
  if (!v) {
    const why = r?.message ?? r?.error?.summary ?? 'no answer';
    console.log(`npm audit --omit=dev: the audit could not be had (${String(why).split(' - ')[0]}); the production dependencies were NOT audited`);
    return;
  }
  const bad = (v.high ?? 0) + (v.critical ?? 0);
  console.log(`npm audit --omit=dev: ${v.total ?? 0} advisories in the production dependencies (${v.critical ?? 0} critical, ${v.high ?? 0} high, ${v.moderate ?? 0} moderate, ${v.low ?? 0} low)`);
  for (const [name, a] of Object.entries(r.vulnerabilities ?? {})) if (a.severity === 'high' || a.severity === 'critical') console.log(`  ${a.severity}: ${name} ${a.range ?? ''}`);
  if (bad) process.exitCode = 1;
});
