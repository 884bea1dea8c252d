#!/usr/bin/env bash
# pretest: `npm test` on a fresh clone installs the dependencies first, with `npm ci`, so README's two
# set-up commands each work on their own and, followed both, install once. npm runs this from the
# package root; an install that already happened (npm's own record of it exists) is left alone.
set -euo pipefail
[ -f node_modules/.package-lock.json ] && exit 0
echo "pretest: nothing installed yet: running npm ci first" >&2
npm ci
