#!/usr/bin/env bash
# token-sign.sh — token signing rate through pkcs11/ beside a bare libp11 loop and
# `openssl speed` (software, same algorithm), in one run.  See bench/README-token.md.
#
#   bench/token-sign.sh [SECONDS] [BUILD_DIR]     (defaults: 3, build-p11rel)
#
# Uses SoftHSM2 with a private token directory (nothing outside a temp dir is touched).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
SECONDS_PER_RUN=${1:-3}
BUILD=${2:-build-p11rel}
MODULE=${TTE_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" -Dbuildtype=release >/dev/null
ninja -C "$BUILD" pkcs11/libtte-pkcs11.a common/libtte-common.a >/dev/null
# `tte` also links other modules: when one of them does not build right now, an
# existing binary is good enough for `tte keys`.
ninja -C "$BUILD" api/tte >/dev/null 2>&1 || [ -x "$BUILD/api/tte" ] ||
  { echo "token-sign.sh: cannot build $BUILD/api/tte" >&2; exit 1; }
# bench/meson.build is not ours to edit: build the driver directly against the libraries.
BENCH="$BUILD/bench/token-sign"
mkdir -p "$BUILD/bench"
cc -std=gnu11 -O2 -DOPENSSL_API_COMPAT=30000 -D_GNU_SOURCE -Ipkcs11 -Icommon -I"$BUILD" \
  bench/token-sign.c "$BUILD/pkcs11/libtte-pkcs11.a" "$BUILD/common/libtte-common.a" \
  $(pkg-config --cflags --libs glib-2.0 libp11 p11-kit-1 libcrypto) -ldl -lpthread -o "$BENCH"
TTE="$BUILD/api/tte"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tte-bench-token-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$tmp" >"$tmp/softhsm2.conf"
export SOFTHSM2_CONF="$tmp/softhsm2.conf"
unset TTE_PIN TTE_PKCS11_ALLOWED_MODULES
softhsm2-util --init-token --free --label bench --so-pin so-bench --pin 1357-bench >/dev/null
printf '1357-bench\n' >"$tmp/pin"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/ca.key" \
  -out "$tmp/ca.pem" -subj /CN=bench-ca -days 2 2>/dev/null

for spec in rsa:2048 rsa:3072 ec:p256; do
  label=${spec/:/-}
  uri="pkcs11:token=bench;object=$label"
  "$TTE" keys generate "$uri" --type "$spec" --module "$MODULE" --pin-file "$tmp/pin" >/dev/null
  "$TTE" keys csr "$uri" --subject "/CN=$label" -o "$tmp/$label.csr" --module "$MODULE" --pin-file "$tmp/pin"
  openssl x509 -req -in "$tmp/$label.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -set_serial 1 \
    -days 2 -out "$tmp/$label.pem" 2>/dev/null
  "$TTE" keys import-cert "$uri" "$tmp/$label.pem" --module "$MODULE" --pin-file "$tmp/pin" >/dev/null
done

rate() { # mode uri threads -> "sig/s cpu-us/sig"
  "$BENCH" --mode "$1" --module "$MODULE" --uri "$2" --pin-file "$tmp/pin" --threads "$3" \
    --seconds "$SECONDS_PER_RUN" | awk '{print $5, $6}'
}
speed() { # openssl-alg threads
  openssl speed -seconds "$SECONDS_PER_RUN" -multi "$2" "$1" 2>/dev/null |
    awk '/^rsa [0-9]+ bits|ecdsa \(nistp/ {v=$(NF-1)} END {print v}'
}

echo "token signing rate, SoftHSM2 ($MODULE), ${SECONDS_PER_RUN}s per run, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
echo "sig/s: wall-clock rate; us/sig: CPU time per signature (SoftHSM runs in-process, so"
echo "this is the cost that stays comparable on a busy machine); cost ratio = libp11/tte CPU"
printf '%-9s %3s %9s %9s %8s %9s %9s %8s %10s %9s\n' algorithm thr "tte s/s" "p11 s/s" "tte/p11" \
  "tte us" "p11 us" "p11/tte" "openssl" "p11/ossl"
for row in "rsa-2048 rsa2048" "rsa-3072 rsa3072" "ec-p256 ecdsap256"; do
  set -- $row
  for threads in 1 2; do
    uri="pkcs11:token=bench;object=$1"
    # Alternate the two token paths so drift (thermal, other load) hits both alike.
    p1=$(rate libp11 "$uri" "$threads")
    t1=$(rate tte "$uri" "$threads")
    p2=$(rate libp11 "$uri" "$threads")
    t2=$(rate tte "$uri" "$threads")
    o=$(speed "$2" "$threads")
    awk -v a="$1" -v n="$threads" -v t1="$t1" -v t2="$t2" -v p1="$p1" -v p2="$p2" -v o="$o" 'BEGIN {
      split(t1, x); split(t2, y); split(p1, u); split(p2, v);
      t = (x[1] + y[1]) / 2; p = (u[1] + v[1]) / 2; tc = (x[2] + y[2]) / 2; pc = (u[2] + v[2]) / 2;
      printf "%-9s %3d %9.0f %9.0f %8.3f %9.1f %9.1f %8.3f %10.0f %9.3f\n", a, n, t, p, t / p, tc, pc, pc / tc, o, p / o }'
  done
done
