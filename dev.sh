#!/usr/bin/env bash
# dev.sh — the two commands the README promises, plus helpers.
#   ./dev.sh demo   install dependencies, build, create the demo PKI, tokens and database, and run
#                   the service on 127.0.0.1:8080 (prints a curl command that signs a letter)
#   ./dev.sh test   install dependencies, build with ASan+UBSan, run every test
#   ./dev.sh deps   only install the Debian packages
#   ./dev.sh build  only build (release-ish, into build/)
#   ./dev.sh bench [token|sign|verify|serve]  install the peers (hyperfine, podofosign, ...) and run bench/
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

# Every Debian 12 package the build, the demo and the tests need.
PACKAGES=(
  build-essential meson ninja-build pkg-config python3 clang libclang-rt-14-dev llvm
  libssl-dev openssl libp11-dev p11-kit libp11-kit-dev softhsm2 opensc
  libqpdf-dev libgnutls28-dev qpdf libpoppler-glib-dev poppler-utils libcairo2-dev
  libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev libqrencode-dev libsqlite3-dev sqlite3
  libglib2.0-dev fonts-dejavu-core fontconfig
  mupdf-tools libnss3-tools zbar-tools libpodofo-utils curl ghostscript
  chromium
)
BENCH_PACKAGES=(hyperfine time)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

deps() {
  local missing=()
  for p in "${PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  # Node.js for the browser test (tests/web): Debian's only when none is installed, so a
  # newer one from elsewhere (which ships its own npm) is not replaced.
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "dev.sh: installing ${missing[*]}" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
}

build() {
  [ -f build/build.ninja ] || meson setup build >/dev/null
  ninja -C build >/dev/null
}

run_tests() {
  local dir=build-asan
  [ -f $dir/build.ninja ] || meson setup $dir -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debug >/dev/null
  ninja -C $dir >/dev/null
  # playwright-core for the browser test, pinned by tests/web/package-lock.json.
  if [ ! -d tests/web/node_modules/playwright-core ] && command -v npm >/dev/null; then
    (cd tests/web && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null) ||
      echo "dev.sh: npm ci in tests/web failed; the browser test will skip" >&2
  fi
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
  local rc=0
  meson test -C $dir --print-errorlogs --num-processes 2 "$@" || rc=$?
  python3 tests/summary.py $dir/meson-logs/testlog.json
  return $rc
}

case "${1:-}" in
  deps) deps ;;
  build) deps; build ;;
  test) shift; deps; run_tests "$@" ;;
  bench)
    deps "${BENCH_PACKAGES[@]}"
    what=${2:-all}
    for b in token-sign sign verify serve; do
      if [ "$what" = all ] || [ "$what" = "$b" ] || [ "$what-sign" = "$b" ]; then
        [ -x "bench/$b.sh" ] && { echo "== bench/$b.sh"; "bench/$b.sh"; }
      fi
    done
    ;;
  demo)
    deps; build
    dir=${2:-demo}
    certs-example/demo-setup "$dir"
    exec certs-example/demo-serve "$dir"
    ;;
  *)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
