#!/usr/bin/env bash
# tests/test_same_answer.sh -- one heap, one answer: same_answer.py runs
# the reports of analyze and path on each heap below one thread and two,
# with every store in memory and spilled, the index off, rebuilt, read
# back and grown from the paths alone, and fails on any byte that differs
# (but the "analysed in" time). The heaps: split_heaps' (maps of every
# size whose records come out of order, values shared within and between
# maps, a growing map's stale words under an iterator, garbage pointing
# into the live heap, a single map, thousands of tiny maps, leaves only),
# gen_snapshot's shapes at odd sizes, a runtime's heap (groups of small
# maps under one holder) and the seed snapshots of testdata. Then one
# run's series of snapshots (gate_heaps' two leaks, a snapshot a GC cycle)
# as a whole: the gate's report over it and the diff of its ends.
# usage: test_same_answer.sh MAPROOT SPLIT_HEAPS GEN_SNAPSHOT ANALYSIS_HEAPS
#        SAME_ANSWER_PY TESTDATA WORKDIR GATE_HEAPS
set -uo pipefail
maproot=$1 split=$2 gen=$3 heaps=$4 same=$5 testdata=$6 work=$7 gate_heaps=$8
rm -rf "$work" && mkdir -p "$work/in" && cd "$work/in" || exit 1
make() { "$@" >/dev/null || { echo "FAIL: $* exited $?" >&2; exit 1; }; }
make "$split" random 1 3001 random_1.gcstack.gz
make "$split" random 2 8009 random_2.gcstack.gz
make "$split" one 1 3001 one.gcstack.gz
make "$split" many 1 4001 many.gcstack.gz
make "$split" leaves 1 501 leaves.gcstack.gz
make "$gen" mix 20011 mix.gcstack.gz
make "$gen" maps 9001 maps.gcstack.gz
make "$heaps" groups groups.gcstack.gz
for f in iterator_pin nested_maps; do
    cp "$testdata/fuzz/gcstack/$f.gcstack.gz" . || exit 1
done
cp "$testdata/fuzz/godump/global.dump" . || exit 1
mkdir -p "$work/series" && cd "$work/series" || exit 1
MAPROOT_SNAPSHOT_FORK=0 MAPROOT_SNAPSHOT=run.gcstack.gz MAPROOT_PROFILE_EVERY=1 \
    make "$gate_heaps" two
series=(run.00*.gcstack.gz)
[ "${#series[@]}" -ge 6 ] || { echo "FAIL: gate_heaps wrote ${#series[@]} snapshots" >&2; exit 1; }
exec python3 "$same" --quick --maproot "$maproot" --work "$work/work" "$work/in" \
    --series "${series[@]/#/$work/series/}"
