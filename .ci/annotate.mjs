#!/usr/bin/env node
// The cells' JUnit results as GitHub annotations: usage: node .ci/annotate.mjs DIR
// Every failed or errored testcase of every DIR/**/junit.xml (what lab run writes) becomes an ::error
// line, which GitHub shows on the run's summary page; the counts go to the log. Exit 0 always: the
// report job's gate decides.
import { readFileSync } from 'node:fs';
import { glob } from 'zx';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node .ci/annotate.mjs DIR');
  process.exit(2);
}
const unescape = (s) => s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
// workflow commands: a property value must not carry newlines, commas or colons unescaped
const prop = (s) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/:/g, '%3A').replace(/,/g, '%2C');
const data = (s) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

export function annotations(xml) {
  const out = [];
  for (const m of xml.matchAll(/<testcase classname="([^"]*)" name="([^"]*)"[^>]*>([\s\S]*?)<\/testcase>/g)) {
    const bad = /<(failure|error) type="([^"]*)" message="([^"]*)"/.exec(m[3]);
    if (bad) out.push({ kind: bad[1], title: `${unescape(m[1])} ${unescape(m[2])}`, message: `${bad[2]}: ${unescape(bad[3])}` });
  }
  return out;
}

let tests = 0;
let bad = 0;
for (const file of (await glob(`${dir}/**/junit.xml`)).sort()) {
  const xml = readFileSync(file, 'utf8');
  tests += (xml.match(/<testcase /g) ?? []).length;
  for (const a of annotations(xml)) {
    bad++;
    console.log(`::error title=${prop(a.title)}::${data(`${a.kind}: ${a.message} (${file})`)}`);
  }
}
console.log(`${tests} testcases, ${bad} failed or errored`);
