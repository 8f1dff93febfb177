# Shared by the scripts: where the tree is and how to (re)configure a build.
# Source it; it does not run anything by itself.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# setup_build DIR [meson options...]: configure DIR once, reconfigure if the
# options changed, then build it.
setup_build() {
  local dir=$1
  shift
  if [ -f "$dir/build.ninja" ]; then
    meson configure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$root" "$@" >/dev/null
  fi
  ninja -C "$dir" >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; echo "build failed in $dir (log: $dir/build.log)" >&2; return 1; }
}
