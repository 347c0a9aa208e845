#!/usr/bin/env bash
# Install the comparison tools for bench/bench.py into bench/.venv (git-ignored), not the project venv, and
# fetch the benchmark corpora (Go modules at pinned versions) into .cache/bench/mod (git-ignored; set
# GLEAK_BENCH_MODCACHE to use another module cache). GOROOT/src comes with Go.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -x "$here/.venv/bin/ast-grep" ] || [ ! -x "$here/.venv/bin/semgrep" ]; then
  python3 -m venv "$here/.venv"
  "$here/.venv/bin/pip" install -q semgrep==1.185.0 ast-grep-cli==0.51.1
fi
"$here/.venv/bin/semgrep" --version
"$here/.venv/bin/ast-grep" --version
modcache="${GLEAK_BENCH_MODCACHE:-$here/../.cache/bench/mod}"
mkdir -p "$modcache"
# nats-server: one package is most of it; etcd server: many small packages; caddy: a web server module
GOMODCACHE="$(cd "$modcache" && pwd)" GOFLAGS=-modcacherw GOTOOLCHAIN=local go mod download \
  github.com/nats-io/nats-server/v2@v2.15.2 go.etcd.io/etcd/server/v3@v3.7.3 \
  github.com/caddyserver/caddy/v2@v2.11.9 google.golang.org/grpc@v1.85.0
echo "corpora in $modcache"
