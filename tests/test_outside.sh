#!/usr/bin/env bash
# tests/test_outside.sh -- a program as users build it: outside this tree,
# from an absolute path, against the installed libraries, in every usual
# build; its own functions must be the allocation sites.
# usage: test_outside.sh BUILD_DIR SOURCE_DIR MAPROOT WORKDIR CC [SANITIZE]
#
# The build is installed with `meson install --destdir`; examples/sessiond.c
# is copied to a fresh directory under /tmp (outside the source tree) and
# compiled from there by its absolute path through pkg-config, one program
# per build: -O0 -g, -O2 -g, -O3 without -g, -fomit-frame-pointer, stripped
# to .symtab, fully stripped, static libraries (with -g and fully stripped),
# and LTO. Each runs with a heap profile and snapshots (periodic and at
# exit), and then:
#   - maproot analyze (profile + snapshot): the leak suspect's allocation
#     sites, the profile's top site and the map growth site are the
#     program's functions (new_session; lookup_or_login where DWARF names
#     inlined functions, else the function it was inlined into); a fully
#     stripped program's are its addresses;
#   - maproot diff of two snapshots and of two profiles: the same;
#   - go tool pprof -top: new_session first (a stripped program: its
#     mapping), and no frame of the allocator or the collector anywhere;
#   - file names: the global's file is the absolute source path, shown
#     relative to the directory maproot runs in, the same in text and JSON;
#     so is the relative name a build directory elsewhere gives it (-O2
#     without -g, from beside the program's directory and from another tree).
# SANITIZE is the build's b_sanitize (the program is built with it too).
set -uo pipefail
build=$1 srcdir=$2 maproot=$3 work=$4 cc=$5 sanitize=${6:-none}
rm -rf "$work"
mkdir -p "$work"
export HOME="$work" PPROF_TMPDIR="$work/pprof-tmp" GOFLAGS= GOTOOLCHAIN=local
unset MAPROOT_PROFILE MAPROOT_PROFILE_EVERY MAPROOT_PROFILE_RATE MAPROOT_STACK_DEPTH MAPROOT_SNAPSHOT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
have_go=0
command -v go >/dev/null && have_go=1

# ---- install, then find what pkg-config will use
dest="$work/destdir"
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$work/install.log" 2>&1 ||
    { cat "$work/install.log"; echo "meson install --destdir failed"; exit 1; }
pcfile=$(find "$dest" -name maproot.pc | head -1)
[ -n "$pcfile" ] || { echo "no maproot.pc installed under $dest"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pcfile") PKG_CONFIG_SYSROOT_DIR="$dest"
libdir=$(pkg-config --variable=libdir maproot) # pkg-config may add the sysroot itself
case $libdir in "$dest"/*) ;; *) libdir="$dest$libdir" ;; esac
export LD_LIBRARY_PATH="$libdir"
# the JSON reports' schema is installed beside the man pages' share
schema=$(find "$dest" -path '*/share/maproot/maproot.schema.json' | head -1)
[ -n "$schema" ] && cmp -s "$schema" "$srcdir/doc/schema/maproot.schema.json" ||
    fail "doc/schema/maproot.schema.json is not installed as share/maproot/maproot.schema.json"

# ---- the program, outside the tree
app=$(mktemp -d /tmp/maproot-outside.XXXXXX)
trap 'rm -rf "$app" "$app-build"' EXIT
cp "$srcdir/examples/sessiond.c" "$srcdir/examples/example.h" "$app/"
san=()
[ "$sanitize" != none ] && san=("-fsanitize=$sanitize" -fno-sanitize-recover=all)

# The allocator's and the collector's functions: never in a profile (a map
# operation's frame stays, with its inlined map code where there is DWARF).
internals='(on_alloc|mr__[a-z_]*|mrc_[a-z_]*|alloc|alloc_refill|alloc_large|finish_alloc|unw_[a-z_]*|_ULx86_64_[a-z_]*|mr_new|mr_new_array|mr_alloc_blob|mr_str_new|mr_str_from|mr_str_printf|str_new)'

# build NAME LINK CFLAGS...: compiles $app/sessiond.c into $app/NAME;
# LINK is shared or static (the installed .a files, the collector whole).
# The compiler runs in $from (default $app) and is given the source as
# $source (default its absolute name).
build_prog() {
    local name=$1 link=$2 source=${source:-$app/sessiond.c}
    shift 2
    if [ "$link" = shared ]; then
        # shellcheck disable=SC2046
        (cd "${from:-$app}" && "$cc" "$@" "${san[@]}" "$source" -o "$app/$name" \
            $(pkg-config --cflags --libs maproot))
    else
        # shellcheck disable=SC2046
        (cd "${from:-$app}" && "$cc" "$@" "${san[@]}" "$source" -o "$app/$name" $(pkg-config --cflags maproot) \
            -Wl,--whole-archive "$libdir/libmaproot.a" -Wl,--no-whole-archive "$libdir/libmaprt.a" \
            $(pkg-config --static --libs libdw libunwind zlib) -pthread -lm) # as libmaproot(3)
    fi
}

# check NAME KIND LINK: runs $app/NAME and checks what the tools say. KIND:
# dwarf (names inlined functions), symbols (names physical functions),
# stripped (addresses); LINK: shared or static, as it was built.
check() {
    local name=$1 kind=$2 link=$3 d="$work/$1" fails_before=$fails
    mkdir -p "$d"
    (cd "$d" && MAPROOT_PROFILE=heap.pb.gz MAPROOT_SNAPSHOT=heap.gcstack.gz MAPROOT_PROFILE_EVERY=3 \
        "$app/$name" >out.txt 2>err.txt) ||
        { fail "$name: exited non-zero: $(head -3 "$d/err.txt")"; return; }
    local first
    first=$(ls "$d"/heap.0*.gcstack.gz 2>/dev/null | head -1)
    [ -n "$first" ] && [ -s "$d/heap.gcstack.gz" ] || { fail "$name: no snapshots"; return; }
    # the program uses the installed libraries (or none, linked statically)
    local loaded
    loaded=$(LD_TRACE_LOADED_OBJECTS=1 "$app/$name" 2>&1)
    if [ "$link" = shared ]; then
        grep -q "$libdir/libmaprt.so" <<<"$loaded" || fail "$name: does not load the installed libmaprt.so"
    else
        grep -q "libmaprt.so" <<<"$loaded" && fail "$name: loads libmaprt.so though linked statically"
    fi
    # maproot runs in the program's directory: its files show relative to it
    (cd "$app" && "$maproot" analyze --format json "$d/heap.pb.gz" >"$d/a.json" &&
        "$maproot" analyze "$d/heap.pb.gz" >"$d/a.txt" &&
        "$maproot" diff --format json "$first" "$d/heap.gcstack.gz" >"$d/ds.json" &&
        "$maproot" diff --format json "${first%.gcstack.gz}.pb.gz" "$d/heap.pb.gz" >"$d/dp.json") ||
        { fail "$name: maproot analyze or diff failed"; return; }
    python3 - "$d" "$kind" "$name" "$srcdir/tests" <<'PY' || fail "$name ($kind): the analysis names the wrong functions (above)"
import json, re, sys
d, kind, name = sys.argv[1:4]
sys.path.insert(0, sys.argv[4])
from schema_check import load
a = load(d + "/a.json")
ds = load(d + "/ds.json")
dp = load(d + "/dp.json")
bad = []
def want(cond, what):
    if not cond: bad.append(what)
program = {"dwarf": ["new_session"], "symbols": ["new_session"]}.get(kind)
def is_program(fn, allowed):
    if kind == "stripped":
        return re.fullmatch(re.escape(name) + r"\+0x[0-9a-f]+", fn) is not None
    return fn in allowed
s = a["suspects"][0]
sites = [x["function"] for x in s["sites"]]
want(sites and is_program(sites[0], ["new_session"]), "suspect's first site: %s" % sites)
want(all(is_program(f, ["new_session", "lookup_or_login", "handle_request", "main"]) for f in sites),
     "every suspect site is the program's: %s" % sites)
entry_sites = [e["site"]["function"] for e in s["entries"] if e.get("site")]
want(entry_sites and all(is_program(f, ["new_session", "lookup_or_login", "handle_request", "main"]) for f in entry_sites),
     "entry sites: %s" % entry_sites[:4])
r = s["retainer"]
want(r["kind"] == "global" and r["name"] == "session_cache" and r["file"] == "sessiond.c" and r["line"] == 44,
     "root: global session_cache (sessiond.c:44): %s" % r["text"])
if kind == "dwarf":
    want(s["sites"][0]["file"] == "sessiond.c", "site file shown relative: %s" % s["sites"][0]["file"])
p = a["profile_analysis"]
top = p["top"][0]["function"]
want(top == ("[%s]" % name if kind == "stripped" else "new_session"), "profile's top site: %s" % top)
g = p["map_growth"]
grow = "lookup_or_login" if kind == "dwarf" else None
want(g and g[0]["via"] == "mr_map_set", "map growth via mr_map_set: %s" % g[:1])
if g and kind != "stripped":
    want(g[0]["site"] == grow if grow else g[0]["site"] in ("lookup_or_login", "handle_request", "main"),
         "map growth site: %s" % g[0]["site"])
# diff of snapshots: the cache grew; of profiles: new_session grew most
gm = [m for m in ds["maps"] if "session_cache" in m["root"]]
want(gm and gm[0]["entries_added"] > 0 and gm[0]["growing"], "snapshot diff: session_cache grew: %s" % (gm[:1],))
want(gm and gm[0]["root"] == "global session_cache (sessiond.c:44)", "snapshot diff: root %s" % (gm[:1],))
want(dp["sites"] and (dp["sites"][0]["function"] == ("[%s]" % name if kind == "stripped" else "new_session")),
     "profile diff's first site: %s" % dp["sites"][:1])
want(not re.search(r'"(function|site)": "(on_alloc|alloc_refill|mr_new|mr__[a-z_]*|mrc_[a-z_]*)"', json.dumps([a, ds, dp])),
     "a runtime or collector frame in the JSON")
if bad:
    print(name + ": " + "; ".join(bad))
    sys.exit(1)
PY
    grep -q "^  root     global session_cache (sessiond.c:44)" "$d/a.txt" ||
        fail "$name: text report: root not shown as (sessiond.c:44): $(grep -m1 '^  root' "$d/a.txt")"
    if [ $have_go = 1 ]; then
        go tool pprof -top -nodecount=1000 "$d/heap.pb.gz" >"$d/top.txt" 2>/dev/null ||
            { fail "$name: go tool pprof -top failed"; return; }
        local want=new_session
        [ "$kind" = stripped ] && want="[$name]"
        [ "$(awk '/flat%/ {getline; print $NF; exit}' "$d/top.txt")" = "$want" ] ||
            fail "$name: go tool pprof -top: first row is not $want: $(grep -A1 'flat%' "$d/top.txt" | tail -1)"
        grep -Eq "% +$internals\$" "$d/top.txt" &&
            fail "$name: go tool pprof -top shows the allocator's or the collector's frames: $(grep -E "% +$internals\$" "$d/top.txt" | head -2)"
        go tool pprof -raw "$d/heap.pb.gz" >"$d/raw.txt" 2>/dev/null
        grep -Eq "(M=[0-9]+| {8,}) $internals [^ ]*:-?[0-9]+ s=" "$d/raw.txt" &&
            fail "$name: go tool pprof -raw shows the allocator's or the collector's frames"
        [ "$kind" = dwarf ] && ! grep -q " new_session $app/sessiond.c:[0-9]" "$d/raw.txt" &&
            fail "$name: new_session is not at $app/sessiond.c:LINE in the profile"
    fi
    [ "$fails" = "$fails_before" ] && echo "$name: ok ($kind)"
}

# a failed build is a failure; each check runs the program it built
b() { build_prog "$@" || fail "$1: the build failed"; }
b O0g shared -O0 -g && check O0g dwarf shared
b O2g shared -O2 -g && check O2g dwarf shared
b O3 shared -O3 && check O3 symbols shared
b O2-omit-fp shared -O2 -fomit-frame-pointer && check O2-omit-fp symbols shared
b O2-symtab shared -O2 -g && strip --strip-debug "$app/O2-symtab" && check O2-symtab symbols shared
b O2-stripped shared -O2 && strip --strip-all "$app/O2-stripped" && check O2-stripped stripped shared
b static-g static -O2 -g && check static-g dwarf static
b static-stripped static -O2 && strip --strip-all "$app/static-stripped" &&
    check static-stripped stripped static
# A build directory elsewhere, as meson and cmake make one: the compiler is
# given the source relative to it, and without -g the global's __FILE__
# stays so. Beside the program's directory ("../maproot-outside.X/...") and
# with a path that climbs to / ("../../../tmp/maproot-outside.X/...": a
# build directory in another tree): its file is still sessiond.c.
mkdir -p "$app-build/sub"
from=$app-build/sub source=../../$(basename "$app")/sessiond.c b rel-beside shared -O2 &&
    check rel-beside symbols shared
up=$(cd "$app-build/sub" && pwd | sed 's|/[^/]*|../|g')
from=$app-build/sub source=$up${app#/}/sessiond.c b rel-root shared -O2 && check rel-root symbols shared
rm -rf "$app-build"

# LTO over the program and the static libraries (which are LTO objects
# themselves when the build was made with -Db_lto=true)
if [ "$("$cc" --version | head -1 | grep -c clang)" = 0 ]; then
    b lto static -O2 -flto && check lto symbols static
else
    echo "lto: skipped (LTO with $cc needs a linker plugin this test does not assume)"
fi

[ $fails -eq 0 ] && echo "test_outside: all passed"
exit $((fails > 0))
