# bench/lib.sh — shared set-up for the benchmarks (sourced).  Builds a release tree in
# build-bench/, a throwaway PKI (RSA-2048 signer), an NSS database for pdfsig and the
# input files.  Nothing here is a test: the scripts print figures and ratios.
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=${BENCH_BUILD:-$SRC/build-bench}
if [ ! -f "$B/build.ninja" ]; then
  meson setup "$B" "$SRC" -Dbuildtype=release -Db_ndebug=true >/dev/null
fi
ninja -C "$B" >/dev/null
TTE=$B/api/tte
# Timings run in memory (tmpfs) when there is one: they measure the programs, not this
# machine's disk.  tte makes its output durable (fsync of the file and the directory)
# where podofosign and pdfsig do not; sign.sh prints that cost separately, on disk ($WD).
# The 1 GB inputs stay on disk ($WD): pages of a mapped tmpfs file would count in RSS.
if [ -z "${BENCH_WORK:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  W=$(mktemp -d /dev/shm/tte-bench.XXXXXX)
else
  W=${BENCH_WORK:-$(mktemp -d /tmp/tte-bench.XXXXXX)}
fi
WD=${BENCH_DISK_WORK:-$(mktemp -d /var/tmp/tte-bench-disk.XXXXXX)}
mkdir -p "$W" "$WD"
command -v hyperfine >/dev/null || { echo "bench: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }

pki() {
  [ -f "$W/signer.pem" ] && return 0
  ( cd "$W"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 30 \
      -subj "/C=ID/O=Bench/CN=Bench Root" -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout signer.key -out signer.csr \
      -subj "/C=ID/O=Bench/CN=Bench Signer" 2>/dev/null
    printf 'keyUsage=critical,digitalSignature,nonRepudiation\nbasicConstraints=CA:FALSE\n' > ext.cnf
    openssl x509 -req -in signer.csr -CA root.pem -CAkey root.key -CAcreateserial -days 30 \
      -extfile ext.cnf -out signer.pem 2>/dev/null
    openssl pkcs12 -export -inkey signer.key -in signer.pem -certfile root.pem -name signer \
      -passout pass: -out signer.p12
    mkdir -p nss
    certutil -N -d sql:nss --empty-password
    certutil -A -d sql:nss -n root -t "CT,C,C" -i root.pem
    pk12util -d sql:nss -i signer.p12 -W "" >/dev/null
  )
}

# median wall-clock seconds of a hyperfine run: median_of NAME
median_of() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][0]['median'])" "$W/$1.json"; }

# time_cmd NAME COMMAND — hyperfine with warm-up; stores $W/NAME.json
time_cmd() {
  local name=$1; shift
  hyperfine ${HF_FLAGS:-} -N --warmup 3 --min-runs "${RUNS:-20}" --export-json "$W/$name.json" "$*" >/dev/null 2>&1 ||
    hyperfine ${HF_FLAGS:-} --warmup 3 --min-runs "${RUNS:-20}" --export-json "$W/$name.json" "$*" >/dev/null
}

# time_pair A CMD_A B CMD_B — the two commands in ROUNDS (default 3) alternating hyperfine
# batches of RUNS each (A, B, A, B, ...); this VM's speed drifts by ±10 % within a minute,
# and alternating makes the drift fall on both sides of a ratio.  median_all NAME then
# gives the median over every run of every round.
time_pair() {
  local a=$1 ca=$2 b=$3 cb=$4 r
  for r in $(seq "${ROUNDS:-3}"); do
    time_cmd "$a.r$r" "$ca"
    time_cmd "$b.r$r" "$cb"
  done
}
median_all() {
  python3 -c '
import glob, json, statistics, sys
t = []
for f in sorted(glob.glob(sys.argv[1] + ".r*.json")):
    t += json.load(open(f))["results"][0]["times"]
print(statistics.median(t))' "$W/$1"
}

peak_rss_kb() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.3f}')" "$1" "$2"; }
ms() { python3 -c "import sys; print(f'{float(sys.argv[1])*1000:.1f}')" "$1"; }
