#!/usr/bin/env bash
# tests/test_completion.sh -- the bash and zsh completions of maproot offer the
# real binary's subcommands, its options per subcommand, option values and
# input files.
# usage: test_completion.sh MAPROOT SRCDIR WORKDIR
set -u
maproot=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 2
touch heap.pb.gz heap.gcstack.gz notes.txt
mkdir sub
fails=0
check() { # check NAME GOT WANT-WORD...: every wanted word is in GOT
  local name=$1 got=$2
  shift 2
  for w in "$@"; do
    if ! grep -qxF -- "$w" <<<"$got"; then
      echo "FAIL $name: '$w' not offered; got: $(tr '\n' ' ' <<<"$got")"
      fails=$((fails + 1))
    fi
  done
}
refuse() { # refuse NAME GOT WORD: WORD must not be offered
  if grep -qxF -- "$3" <<<"$2"; then
    echo "FAIL $1: '$3' offered"
    fails=$((fails + 1))
  fi
}

# bash: simulate the line as words, as readline would
bash_complete() {
  bash -c '
    complete() { :; }
    compopt() { :; }
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    _maproot
    printf "%s\n" "${COMPREPLY[@]}"' _ "$src/completions/maproot.bash" "$@"
}
got=$(bash_complete "$maproot" "")
check "bash commands" "$got" analyze diff path help --version
got=$(bash_complete "$maproot" help "")
check "bash help COMMAND" "$got" analyze diff
got=$(bash_complete "$maproot" analyze --)
check "bash analyze options" "$got" --format --output --top --all --summary --help
got=$(bash_complete "$maproot" analyze --)
check "bash analyze views" "$got" --by --dominators --timings
got=$(bash_complete "$maproot" analyze --by "")
check "bash --by values" "$got" type
got=$(bash_complete "$maproot" path --)
check "bash path --index" "$got" --index
got=$(bash_complete "$maproot" diff --index "")
check "bash --index values" "$got" auto off rebuild
got=$(bash_complete "$maproot" path --)
check "bash path options" "$got" --type --object --all --top --format --output
refuse "bash path options" "$got" --summary
got=$(bash_complete "$maproot" diff --)
check "bash diff options" "$got" --format --top --sample-index
refuse "bash diff options" "$got" --summary
got=$(bash_complete "$maproot" analyze --format "")
check "bash --format values" "$got" text json pprof dot
got=$(bash_complete "$maproot" analyze "")
check "bash input files" "$got" heap.pb.gz heap.gcstack.gz sub
refuse "bash input files" "$got" notes.txt
got=$(bash_complete "$maproot" analyze -o "")
check "bash output file" "$got" notes.txt
got=$(bash_complete "$maproot" "")
check "bash live commands" "$got" trace ps
got=$(bash_complete "$maproot" trace --)
check "bash trace options" "$got" --pid --interval --duration --top --output --format --once --force-gc
# each command's own formats (as its --help lists them)
for c in diff gate; do
  got=$(bash_complete "$maproot" $c --format "")
  check "bash $c --format values" "$got" text json
  refuse "bash $c --format values" "$got" pprof
  refuse "bash $c --format values" "$got" dot
done
got=$(bash_complete "$maproot" path -f "")
check "bash path -f values" "$got" text json dot
refuse "bash path -f values" "$got" pprof
got=$(bash_complete "$maproot" trace --format "")
check "bash trace --format values" "$got" text json
refuse "bash trace --format values" "$got" pprof
got=$(bash_complete "$maproot" trace -i "")
refuse "bash trace -i is no sample index" "$got" inuse_space
got=$(bash_complete "$maproot" diff -i "")
check "bash diff -i values" "$got" inuse_space
got=$(bash_complete "$maproot" ps --)
check "bash ps options" "$got" --format
# the gate and --fail-on
got=$(bash_complete "$maproot" "")
check "bash commands" "$got" gate
got=$(bash_complete "$maproot" gate --)
check "bash gate options" "$got" --policy --baseline --write-baseline --junit --github --every --dir --format
got=$(bash_complete "$maproot" analyze --)
check "bash analyze --fail-on" "$got" --fail-on
got=$(bash_complete "$maproot" diff --fail-on "")
check "bash --fail-on values" "$got" suspect growth
got=$(bash_complete "$maproot" gate --policy "")
check "bash gate --policy file" "$got" notes.txt

# zsh: the completion function with zsh's completion builtins stubbed, so its
# own logic (what it reads from the binary, what it offers) runs for real
if command -v zsh >/dev/null; then
  zsh_complete() { # zsh_complete STATE PREFIX WORD...
    zsh -f -c '
      state=$1 prefix=$2; shift 2
      _arguments() { return 1 }
      _describe() { local -a a; a=(${(P)4}); print -l -- ${a%%:*} }
      _values() { shift; print -l -- "$@" }
      compadd() { [[ $1 == -a ]] && print -l -- ${(P)2} || print -l -- "$@" }
      _files() { print -- FILES "$@" }
      _message() { :; }
      _call_program() { shift; "$@" }
      source "$0"
      words=("$@"); CURRENT=$#; PREFIX=$prefix
      # _arguments with "*:: :->args" drops the command name from words
      if [[ $state == args ]]; then
        functions[_arguments]="state=args; shift words; (( CURRENT-- )); return 1"
      else
        functions[_arguments]="state=$state; return 1"
      fi
      _maproot' "$src/completions/_maproot" "$@"
  }
  got=$(zsh_complete command "" "$maproot" "")
  check "zsh commands" "$got" analyze diff
  got=$(zsh_complete args -- "$maproot" analyze --)
  check "zsh analyze options" "$got" --format --output --summary
  got=$(zsh_complete args "" "$maproot" analyze --format "")
  check "zsh --format values" "$got" json dot
  got=$(zsh_complete args "" "$maproot" trace --format "")
  check "zsh trace --format values" "$got" text json
  refuse "zsh trace --format values" "$got" dot
  for c in diff gate; do
    got=$(zsh_complete args "" "$maproot" $c --format "")
    check "zsh $c --format values" "$got" text json
    refuse "zsh $c --format values" "$got" pprof
  done
  got=$(zsh_complete args "" "$maproot" path -f "")
  check "zsh path -f values" "$got" dot
  refuse "zsh path -f values" "$got" pprof
  got=$(zsh_complete args -- "$maproot" trace --)
  check "zsh trace options" "$got" --pid --interval --once --force-gc
  got=$(zsh_complete command "" "$maproot" "")
  check "zsh commands" "$got" gate
  got=$(zsh_complete args -- "$maproot" gate --)
  check "zsh gate options" "$got" --policy --junit --github --write-baseline
  got=$(zsh_complete args "" "$maproot" diff --fail-on "")
  check "zsh --fail-on values" "$got" suspect growth
  got=$(zsh_complete args "" "$maproot" analyze --by "")
  check "zsh --by values" "$got" type
  got=$(zsh_complete args "" "$maproot" analyze --index "")
  check "zsh --index values" "$got" auto off rebuild
  got=$(zsh_complete args -- "$maproot" path --)
  check "zsh path options" "$got" --type --object --all
fi

[ $fails -eq 0 ] && echo "completion: all checks passed"
[ $fails -eq 0 ]
