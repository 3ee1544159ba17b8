#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs berthd with its embedded defaults
# (socket /run/berth/berth.sock, metrics on 127.0.0.1:9090). Extra arguments go to berthd.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
exec node bin/berthd "$@"
