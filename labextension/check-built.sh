#!/usr/bin/env bash
# Rebuilds the JupyterLab extension from its sources in a scratch copy (fresh `npm ci`, another
# folder) and compares the result with the committed build in tutornb/labextension, byte for byte.
# The committed build is what the wheel ships, so the README's install needs no Node; this check
# is what keeps it honest (run by .ci/run). Exit 1 with the differing files when they differ.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
committed="$here/../tutornb/labextension"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/tutornb-labext-XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/labextension" "$scratch/tutornb"
cp -R "$here/src" "$here/schema" "$here/style" "$here/core" "$here/package.json" "$here/package-lock.json" "$here/webpack.config.cjs" \
  "$scratch/labextension/"
# What the extension takes from the rest of the repository: the chat page modules and their styles.
cp -R "$here/../js" "$scratch/js"
cp "$here/../package.json" "$scratch/package.json"  # the js/ modules' package (named in the license list)
mkdir -p "$scratch/tutornb/widget/static" && cp "$here/../tutornb/widget/static/chat.css" "$scratch/tutornb/widget/static/"
cd "$scratch/labextension"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build >/dev/null
if diff -r "$committed" "$scratch/tutornb/labextension"; then
  echo "tutornb/labextension is the build of labextension/ (identical, byte for byte)"
else
  echo "tutornb/labextension differs from a fresh build of labextension/: run 'npm ci && npm run build' in labextension/ and commit the result" >&2
  exit 1
fi
