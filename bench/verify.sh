#!/usr/bin/env bash
# bench/verify.sh — whole-process `tte verify` (chain + modification analysis on) beside
# `pdfsig` on a 1-page letter and a 10 MB file, same run, as ratios; peak RSS on 1 GB.
# Targets (issue 4): <= 1/3 of pdfsig's time; peak RSS <= 64 MB on 1 GB.
# tte verify exits 2 (INDETERMINATE: no revocation data for the throwaway PKI); that is fine here.
HF_FLAGS=-i
source "$(dirname "$0")/lib.sh"
pki
"$B/certs-example/tte-sample-letter" "$W/letter.pdf"
[ -f "$W/ten.pdf" ] || python3 "$SRC/bench/make-big-pdf.py" "$W/ten.pdf" 10
for input in letter ten; do
  "$TTE" sign "$W/$input.pdf" -o "$W/$input-signed.pdf" --key-file "$W/signer.key" --cert "$W/signer.pem"
  f=$W/$input-signed.pdf
  time_cmd "vtte-$input" "$TTE verify $f --trust $W/root.pem"
  time_cmd "vpdfsig-$input" "pdfsig -nssdir sql:$W/nss $f"
  t=$(median_of "vtte-$input"); s=$(median_of "vpdfsig-$input")
  printf '%-8s tte verify %7s ms | pdfsig %7s ms (ratio %s)\n' "$input" "$(ms "$t")" "$(ms "$s")" "$(ratio "$t" "$s")"
done
BIG_MB=${BIG_MB:-1024}
if [ "$BIG_MB" -gt 0 ]; then
  [ -f "$W/big.pdf" ] || python3 "$SRC/bench/make-big-pdf.py" "$W/big.pdf" "$BIG_MB"
  "$TTE" sign "$W/big.pdf" -o "$W/big-signed.pdf" --key-file "$W/signer.key" --cert "$W/signer.pem"
  rss=$(peak_rss_kb "$TTE" verify "$W/big-signed.pdf" --trust "$W/root.pem" || true)
  prss=$(peak_rss_kb pdfsig -nssdir "sql:$W/nss" "$W/big-signed.pdf" || true)
  echo "peak RSS verifying a ${BIG_MB} MB PDF: tte verify $((rss / 1024)) MB (target <= 64 MB); pdfsig $((prss / 1024)) MB"
fi
echo "work dir: $W"
