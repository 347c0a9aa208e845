#!/usr/bin/env bash
# Install the comparison tools for bench/bench.py into bench/.venv (git-ignored), not the project venv.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -x "$here/.venv/bin/ast-grep" ] || [ ! -x "$here/.venv/bin/semgrep" ]; then
  python3 -m venv "$here/.venv"
  "$here/.venv/bin/pip" install -q semgrep==1.185.0 ast-grep-cli==0.51.1
fi
"$here/.venv/bin/semgrep" --version
"$here/.venv/bin/ast-grep" --version
