#!/usr/bin/env bash
# bench/sign.sh — whole-process `tte sign` beside podofosign and `pdfsig -add-signature`
# on a 1-page letter and a 10 MB PDF, in the same run, as ratios; then the peak RSS of
# `tte sign` on a 1 GB PDF.  Targets (issue 3): <= 1/4 of podofosign on 1 page,
# <= 1/5 on 10 MB, peak RSS <= 64 MB on 1 GB.  Set BIG_MB=0 to skip the 1 GB run.
source "$(dirname "$0")/lib.sh"
pki
"$B/certs-example/tte-sample-letter" "$W/letter.pdf"
[ -f "$W/ten.pdf" ] || python3 "$SRC/bench/make-big-pdf.py" "$W/ten.pdf" 10
for input in letter ten; do
  in=$W/$input.pdf
  time_cmd "tte-$input" "$TTE sign $in -o $W/out-tte.pdf --key-file $W/signer.key --cert $W/signer.pem --chain $W/root.pem"
  time_cmd "podofo-$input" "podofosign -in $in -out $W/out-podofo.pdf -cert $W/signer.pem -pkey $W/signer.key -digest SHA256"
  :
  time_cmd "pdfsig-$input" "pdfsig -nssdir sql:$W/nss -add-signature -nick signer $in $W/out-pdfsig.pdf"
  cp "$in" "$WD/$input.pdf"
  time_cmd "tte-disk-$input" "$TTE sign $WD/$input.pdf -o $WD/out-tte.pdf --key-file $W/signer.key --cert $W/signer.pem --chain $W/root.pem"
  t=$(median_of "tte-$input"); p=$(median_of "podofo-$input"); s=$(median_of "pdfsig-$input")
  d=$(median_of "tte-disk-$input")
  printf '%-8s tte sign %7s ms | podofosign %7s ms (ratio %s) | pdfsig -add-signature %7s ms (ratio %s) | tte on disk incl. fsync %7s ms\n' \
    "$input" "$(ms "$t")" "$(ms "$p")" "$(ratio "$t" "$p")" "$(ms "$s")" "$(ratio "$t" "$s")" "$(ms "$d")"
done
rm -f "$WD/letter.pdf" "$WD/ten.pdf" "$WD/out-tte.pdf"
# What no OpenSSL 3 signer can avoid: process start, OpenSSL initialisation, reading the
# PEM certificate and key, one RSA signature (bench/floor.c, linked like the lean tte).
time_cmd floor "$B/bench/floor $W/signer.pem $W/signer.key"
time_cmd true "/bin/true"
f=$(median_of floor); p=$(median_of podofo-letter); tr=$(median_of true)
printf 'floor    start+OpenSSL init+PEM+1 signature, no PDF %7s ms (ratio to podofosign 1 page %s); bare exec of /bin/true %s ms\n' \
  "$(ms "$f")" "$(ratio "$f" "$p")" "$(ms "$tr")"
BIG_MB=${BIG_MB:-1024}
if [ "$BIG_MB" -gt 0 ]; then
  [ -f "$WD/big.pdf" ] || python3 "$SRC/bench/make-big-pdf.py" "$WD/big.pdf" "$BIG_MB"
  rss=$(peak_rss_kb "$TTE" sign "$WD/big.pdf" -o "$WD/big-signed.pdf" --key-file "$W/signer.key" --cert "$W/signer.pem")
  prss=$(peak_rss_kb podofosign -in "$WD/big.pdf" -out "$WD/big-podofo.pdf" -cert "$W/signer.pem" -pkey "$W/signer.key" -digest SHA256 || echo n/a)
  echo "peak RSS signing a ${BIG_MB} MB PDF: tte sign $((rss / 1024)) MB (target <= 64 MB); podofosign ${prss} kB"
  rm -f "$WD/big-signed.pdf" "$WD/big-podofo.pdf"
fi
echo "work dirs: $W (timings), $WD (disk)"
