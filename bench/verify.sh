#!/usr/bin/env bash
# bench/verify.sh — whole-process `tte verify` (chain + modification analysis on) beside
# `pdfsig` on a 1-page letter, a 10 MB file and BIG_MB (1024) MB, same run, as ratios; peak RSS
# on the big file (and, BIG_REVISIONS=1, on it signed twice: change analysis, page comparison).
# Targets (issue 4): <= 1/3 of pdfsig's time; peak RSS <= 64 MB on 1 GB.  The letter and
# the 10 MB file are timed in ROUNDS alternating batches (lib.sh time_pair).
# tte verify exits 2 (INDETERMINATE: no revocation data for the throwaway PKI); that is fine here.
HF_FLAGS=-i
source "$(dirname "$0")/lib.sh"
pki
"$B/certs-example/tte-sample-letter" "$W/letter.pdf"
[ -f "$W/ten.pdf" ] || python3 "$SRC/bench/make-big-pdf.py" "$W/ten.pdf" 10
for input in letter ten; do
  "$TTE" sign "$W/$input.pdf" -o "$W/$input-signed.pdf" --key-file "$W/signer.key" --cert "$W/signer.pem"
  f=$W/$input-signed.pdf
  time_pair "vtte-$input" "$TTE verify $f --trust $W/root.pem" "vpdfsig-$input" "pdfsig -nssdir sql:$W/nss $f"
  t=$(median_all "vtte-$input"); s=$(median_all "vpdfsig-$input")
  printf '%-8s tte verify %7s ms | pdfsig %7s ms (ratio %s)\n' "$input" "$(ms "$t")" "$(ms "$s")" "$(ratio "$t" "$s")"
done
# What no OpenSSL 3 verifier can avoid: process start, OpenSSL initialisation, reading
# the PEM root, one public-key operation (bench/floor.c, linked like the lean tte).
time_cmd vfloor "$B/bench/floor --verify $W/signer.pem"
f=$(median_of vfloor); s=$(median_all vpdfsig-letter)
printf 'floor    start+OpenSSL init+PEM+1 signature check, no PDF %7s ms (ratio to pdfsig 1 page %s)\n' "$(ms "$f")" "$(ratio "$f" "$s")"
BIG_MB=${BIG_MB:-1024}
if [ "$BIG_MB" -gt 0 ]; then
  # On disk ($WD, see lib.sh): pages of a tmpfs file that a process maps count in its RSS.
  [ -f "$WD/big.pdf" ] || python3 "$SRC/bench/make-big-pdf.py" "$WD/big.pdf" "$BIG_MB"
  "$TTE" sign "$WD/big.pdf" -o "$WD/big-signed.pdf" --key-file "$W/signer.key" --cert "$W/signer.pem"
  rss=$(peak_rss_kb "$TTE" verify "$WD/big-signed.pdf" --trust "$W/root.pem" || true)
  prss=$(peak_rss_kb pdfsig -nssdir "sql:$W/nss" "$WD/big-signed.pdf" || true)
  echo "peak RSS verifying a ${BIG_MB} MB PDF: tte verify $((rss / 1024)) MB (target <= 64 MB); pdfsig $((prss / 1024)) MB"
  time_cmd "vtte-big" "$TTE verify $WD/big-signed.pdf --trust $W/root.pem"
  time_cmd "vpdfsig-big" "pdfsig -nssdir sql:$W/nss $WD/big-signed.pdf"
  t=$(median_of vtte-big); s=$(median_of vpdfsig-big)
  printf '%-8s tte verify %7s ms | pdfsig %7s ms (ratio %s)\n' "big" "$(ms "$t")" "$(ms "$s")" "$(ratio "$t" "$s")"
  if [ "${BIG_REVISIONS:-1}" = 1 ]; then
    # A second signature: the first one's revision is no longer the whole file, so the
    # change analysis runs, and (without --no-visual) the rendered-page comparison.
    "$TTE" sign "$WD/big-signed.pdf" -o "$WD/big-signed2.pdf" --key-file "$W/signer.key" --cert "$W/signer.pem"
    arss=$(peak_rss_kb "$TTE" verify "$WD/big-signed2.pdf" --trust "$W/root.pem" --no-visual || true)
    vrss=$(peak_rss_kb "$TTE" verify "$WD/big-signed2.pdf" --trust "$W/root.pem" || true)
    echo "peak RSS, two signatures on ${BIG_MB} MB: change analysis $((arss / 1024)) MB (--no-visual); with the page comparison $((vrss / 1024)) MB"
    rm -f "$WD/big-signed2.pdf"
  fi
fi
echo "work dir: $W (1 GB inputs: $WD)"
