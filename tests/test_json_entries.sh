#!/usr/bin/env bash
# tests/test_json_entries.sh -- the JSON report of a map of many entries,
# every one asked for (--all), is written entry by entry: at its peak it
# takes about the memory of the text report without them (built whole, a
# map of 667,000 entries took 4.7 GB for a 2 GB report), and it parses
# with every entry in it.
# Not in a sanitizer build: its allocator holds freed memory in
# quarantine, so the peak measures the sanitizer, not the report.
# usage: test_json_entries.sh MAPROOT GEN_SNAPSHOT WORKDIR
set -uo pipefail
maproot=$1 gen=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# one map map[string]*Config of 20,000 entries and their keys
"$gen" hot 30000 hot.gcstack.gz >/dev/null || { echo "FAIL: gen_snapshot hot"; exit 1; }
"$maproot" analyze --index=off --format json --all hot.gcstack.gz >hot.json ||
  fail "analyze --format json --all failed"
python3 - hot.json <<'PY' || fail "the JSON report does not hold every entry"
import json, sys
a = json.load(open(sys.argv[1]))
s = a["suspects"]
assert len(s) == 1 and s[0]["entries_walked"] == 20000 and len(s[0]["entries"]) == 20000, \
    [(m["entries_walked"], len(m["entries"])) for m in s]
PY
if [ -x /usr/bin/time ] && [ "${MAPROOT_TEST_SANITIZE:-none}" = none ]; then
  /usr/bin/time -f %M -o json.rss "$maproot" analyze --index=off --format json --all hot.gcstack.gz >/dev/null 2>&1
  /usr/bin/time -f %M -o txt.rss "$maproot" analyze --index=off hot.gcstack.gz >/dev/null 2>&1
  jr=$(tail -1 json.rss) tr=$(tail -1 txt.rss)
  echo "peak: JSON with every entry $jr KB, text $tr KB"
  [ "$jr" -le $((tr * 2 + 8192)) ] || fail "the JSON report with every entry peaks at $jr KB, the text at $tr KB"
fi
[ "$fails" -eq 0 ] && echo "ok: json entries" || exit 1
