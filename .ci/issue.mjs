#!/usr/bin/env node
// A nightly regression opens or updates one issue per kernel: usage: node .ci/issue.mjs REPORT
// For each REPORT/<kernel>-<flavor>/report.md whose gate found a regression, the open issue titled
// "nightly regression: <kernel>-<flavor>" gets a comment with the report and a link to the run
// ($RUN_URL), or is opened with it. GitHub's REST API ($GITHUB_API_URL, $GITHUB_REPOSITORY, $GITHUB_TOKEN).
/* global fetch */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const report = process.argv[2];
const { GITHUB_API_URL = 'https://api.github.com', GITHUB_REPOSITORY, GITHUB_TOKEN, RUN_URL = '' } = process.env;
if (!report || !GITHUB_REPOSITORY || !GITHUB_TOKEN) {
  console.error('usage: GITHUB_REPOSITORY=owner/name GITHUB_TOKEN=... node .ci/issue.mjs REPORT');
  process.exit(2);
}
const api = async (path, init = {}) => {
  const r = await fetch(`${GITHUB_API_URL}/repos/${GITHUB_REPOSITORY}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${GITHUB_TOKEN}`, accept: 'application/vnd.github+json', 'content-type': 'application/json' },
  });
  if (!r.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
};
const open = await api('/issues?state=open&per_page=100');
for (const group of existsSync(report) ? readdirSync(report).filter((g) => g !== 'all').sort() : []) {
  const md = join(report, group, 'report.md');
  if (!existsSync(md)) continue;
  const text = readFileSync(md, 'utf8');
  if (!/\*\*\d+ regression\(s\)\*\*/.test(text)) continue;
  const title = `nightly regression: ${group}`;
  const body = `${RUN_URL ? `Run: ${RUN_URL}\n\n` : ''}${text}`.slice(0, 60000);
  const existing = open.find((i) => i.title === title && !i.pull_request);
  if (existing) {
    await api(`/issues/${existing.number}/comments`, { method: 'POST', body: JSON.stringify({ body }) });
    console.log(`${title}: commented on #${existing.number}`);
  } else {
    const created = await api('/issues', { method: 'POST', body: JSON.stringify({ title, body }) });
    console.log(`${title}: opened #${created.number}`);
  }
}
