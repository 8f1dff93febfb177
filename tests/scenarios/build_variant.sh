#!/usr/bin/env bash
# tests/scenarios/build_variant.sh -- a scenario built the way some users
# build: another compiler, -O3, link-time optimization, no frame pointers,
# linked statically against the runtime's and the collector's archives;
# then checked like any scenario (check_scenario.py).
# usage: build_variant.sh COMPILER SRCDIR BUILDDIR MAPROOT NAME WORKDIR [FLAGS...]
# Exit 77 (skipped) when COMPILER is not installed or cannot link with
# FLAGS here (e.g. no LTO plugin): the variant says nothing then.
set -uo pipefail
cc=$1 srcdir=$2 builddir=$3 maproot=$4 name=$5 work=$6
shift 6
command -v "$cc" >/dev/null || { echo "SKIP: no $cc"; exit 77; }
mkdir -p "$work"
libs=$(pkg-config --static --libs libdw libunwind zlib) || { echo "SKIP: pkg-config"; exit 77; }
probe="$work/probe.c"
echo 'int main(void) { return 0; }' >"$probe"
"$cc" "$@" "$probe" -o "$work/probe" 2>"$work/probe.log" ||
    { echo "SKIP: $cc cannot build with $*"; cat "$work/probe.log"; exit 77; }
prog="$work/scenario_$name"
# -z now: see meson.build (no lazy-binding trampoline leaves stale words)
"$cc" "$@" -I"$srcdir/include" -I"$srcdir/tests" -I"$srcdir/tests/scenarios" \
    "$srcdir/tests/scenarios/$name.c" -o "$prog" \
    "$builddir/src/collector/libmaproot.a" "$builddir/src/rt/libmaprt.a" \
    $libs -pthread -lm -Wl,-z,now || { echo "FAIL: $cc $* could not build $name"; exit 1; }
if ldd "$prog" | grep -q 'libmaprt\|libmaproot'; then
    echo "FAIL: $prog loads the shared runtime though linked statically"
    exit 1
fi
exec python3 "$srcdir/tests/scenarios/check_scenario.py" --maproot "$maproot" --program "$prog" \
    --expect "$srcdir/tests/scenarios/$name.json" --dir "$work/run"
