#!/usr/bin/env bash
# npm runs this before `npm test` (pretest), so the README's test command and .ci/run audit too.
# The production dependencies against the registry's advisories: high and critical fail the run.
# A registry that refuses audit requests (a mirror without the audit endpoint answers 405) is
# reported and does not fail it: the dependencies are then not audited, and the log says so.
set -uo pipefail
cd "$(dirname "$0")/.."
audit=$(mktemp)
trap 'rm -f "$audit"' EXIT
if npm audit --omit=dev --audit-level=high > "$audit" 2>&1; then
  echo "npm audit --omit=dev: no high or critical advisory in the production dependencies"
elif grep -q 'audit endpoint returned an error' "$audit"; then
  echo "npm audit --omit=dev: the registry refused the audit request ($(grep -o 'audit [0-9]\{3\} [A-Za-z ]*' "$audit" | head -1)); the production dependencies were NOT audited"
else
  cat "$audit"
  exit 1
fi
