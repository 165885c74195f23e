#!/usr/bin/env bash
# TAP: banned C functions (STYLE.md) do not appear in the project's sources.
# atoi/atol/strtol family: unchecked conversions — use g_ascii_string_to_signed/unsigned or TteCursor.
# sprintf/vsprintf/strcpy/strcat/gets/strtok: unbounded or non-reentrant.
set -uo pipefail
: "${TTE_SOURCE_DIR:?}"
cd "$TTE_SOURCE_DIR"
n=0; fails=0
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find common pkcs11 signer verifier api tests bench -name '*.[ch]')
for fn in atoi atol atoll strtol strtoul strtoll strtoull sprintf vsprintf strcpy strcat gets strtok; do
  n=$((n+1))
  hits=$(echo "$files" | xargs -r grep -nE "(^|[^_a-zA-Z0-9.>])$fn[[:space:]]*\(" 2>/dev/null | grep -v "banned-ok" || true)
  if [ -z "$hits" ]; then echo "ok $n - no $fn()"; else
    fails=$((fails+1)); echo "not ok $n - $fn() used"; echo "$hits" | sed 's/^/# /'; fi
done
echo "1..$n"
exit $((fails > 0))
