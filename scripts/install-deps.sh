#!/usr/bin/env bash
# Installs what berth needs on a Debian 12 host, idempotently and quietly when all is present:
# the apt packages (apt-get update only when one is missing), node_modules (`npm ci` when missing
# or older than package-lock.json) and the build (`npm run build`).
# Env: BERTH_SKIP_BUILD=1 skips the build step.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  runc conmon crun containernetworking-plugins iptables iproute2
  docker-registry skopeo umoci busybox-static apache2-utils zstd
  # node-gyp builds the native addon and pause
  make g++ python3
  # libFuzzer harnesses of the addon's C++ code (test/fuzz)
  clang
  # prometheus + promtool for test/e2e/prometheus-scrape.test.ts (the shipped scrape config and dashboard)
  prometheus
  # Go 1.19 + grpc-go 1.33 sources for test/e2e/grpc-go-interop.test.ts (a grpc-go CRI client built
  # offline in GOPATH mode, as kubelet and crictl are grpc-go); berthd itself needs neither
  golang-go golang-google-grpc-dev
)

log() { printf 'install-deps: %s\n' "$*" >&2; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
# Debian 12's own nodejs is 18, which berth refuses: never install it (no package above pulls it
# in), and check the Node that is there before installing anything else.
if ! command -v node >/dev/null 2>&1; then
  log "Node.js >= 20 is required and none is installed; install Node 20 (e.g. from nodejs.org) and retry"
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 20)); then
  log "Node.js >= 20 is required, found $(node -v); install Node 20 (e.g. from nodejs.org) and retry"
  exit 1
fi
# kubectl (exec/attach/port-forward e2e tests): any package that provides it will do, else Debian's.
if ! command -v kubectl >/dev/null 2>&1; then missing+=(kubernetes-client); fi

if ((${#missing[@]} > 0)); then
  if [[ $EUID -ne 0 ]]; then
    log "missing packages: ${missing[*]}; run as root to install them"
    exit 1
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The package enables a Prometheus service on :9090, berthd's default metrics port; the tests
  # start their own Prometheus, so the service stays off.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  fi
fi

# node-gyp would download Node's headers (no internet on build hosts); use the installed ones.
if [[ -z "${npm_config_nodedir:-}" && -f /usr/include/node/node_api.h ]]; then
  export npm_config_nodedir=/usr
fi

if [[ ! -d node_modules || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "installing node modules (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

if [[ "${BERTH_SKIP_BUILD:-}" != 1 ]]; then
  npm run --silent build >&2
fi
