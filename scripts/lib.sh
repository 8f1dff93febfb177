# Shared by the scripts: where the tree is and how to (re)configure a build.
# Source it; it does not run anything by itself.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The release build lives outside the tree, as a user's build directory
# often does: the compiler is then given the sources by paths that climb out
# of it ("../../home/me/maproot/tests/a.c"), and a program built without -g
# keeps such names. One directory per tree (MAPROOT_RELEASE_BUILD to choose).
release_build=${MAPROOT_RELEASE_BUILD:-${TMPDIR:-/tmp}/maproot-release-$(printf %s "$root" | cksum | cut -d' ' -f1)}

# setup_build DIR [meson options...] [-- targets...]: configure DIR once,
# reconfigure if the options changed, then build it (only the given targets
# when there are any: the demo needs two programs, not the test suite).
setup_build() {
  local dir=$1 options=() targets=()
  shift
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do options+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  targets=("$@")
  if [ -f "$dir/build.ninja" ]; then
    meson configure "$dir" "${options[@]}" >/dev/null
  else
    meson setup "$dir" "$root" "${options[@]}" >/dev/null
  fi
  ninja -C "$dir" "${targets[@]}" >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; echo "build failed in $dir (log: $dir/build.log)" >&2; return 1; }
}
