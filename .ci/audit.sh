#!/usr/bin/env bash
# npm runs this before `npm test` (pretest), so the README's test command and .ci/run audit too:
# `npm audit --omit=dev`, judged by .ci/audit.mjs (a high or critical advisory fails the run; an audit
# that could not be had is printed, and the tests go on).
cd "$(dirname "$0")/.."
npm audit --omit=dev --json 2>/dev/null | node .ci/audit.mjs
exit "${PIPESTATUS[1]}"
