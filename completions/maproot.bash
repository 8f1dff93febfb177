# bash completion for maproot(1).
#
# Subcommands and their options are read from the installed binary's own
# help (`maproot --help`, `maproot COMMAND --help`), so the completion never
# drifts from what the binary accepts. Inputs are told apart by content, but
# the usual file kinds (profiles, snapshots, heap dumps) are offered first.

_maproot_commands() {
    "$1" --help 2>/dev/null | awk '/^Commands:|Commands:$/ {on = 1; next}
        on && /^  [a-z]/ {print $1; next} on && /^$/ {on = 0}'
}

_maproot_options() {
    "$1" "$2" --help 2>/dev/null | grep -oE '^ +(-[a-zA-Z], )?--[a-z][a-z0-9-]*' |
        grep -oE -- '--[a-z][a-z0-9-]*'
}

# Values of options that take one of a few words (COMMAND OPTION).
_maproot_values() {
    case $1:$2 in
    trace:--format | trace:-f | ps:--format | ps:-f) echo "text json" ;;
    diff:--format | diff:-f | gate:--format | gate:-f) echo "text json" ;;
    path:--format | path:-f) echo "text json dot" ;;
    trace:*) ;;
    *:--format | *:-f) echo "text json pprof dot" ;;
    *:--sample-index | *:-i) echo "alloc_objects alloc_space inuse_objects inuse_space" ;;
    *:--fail-on) echo "suspect growth" ;;
    *:--by) echo "type" ;;
    *:--index) echo "auto off rebuild" ;;
    esac
}

# The pids maproot ps lists (programs that can be traced).
_maproot_pids() {
    "$1" ps 2>/dev/null | awk 'NR > 1 {print $1}'
}

_maproot_files() {
    local cur=$1 f
    local IFS=$'\n'
    COMPREPLY=()
    for f in $(compgen -f -- "$cur"); do
        if [ -d "$f" ]; then
            COMPREPLY+=("$f")
        else
            case $f in
            *.pb.gz | *.pb | *.gcstack.gz | *.gcstack | *.dump | *.heap | *.pprof | *.prof) COMPREPLY+=("$f") ;;
            esac
        fi
    done
    [ ${#COMPREPLY[@]} -eq 0 ] && COMPREPLY=($(compgen -f -- "$cur"))
    compopt -o filenames 2>/dev/null
}

_maproot() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local bin=${COMP_WORDS[0]} cmd="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        -*) ;;
        *) cmd=${COMP_WORDS[i]}; break ;;
        esac
    done
    if [ -z "$cmd" ]; then
        COMPREPLY=($(compgen -W "$(_maproot_commands "$bin") help --help --version" -- "$cur"))
        return
    fi
    if [ "$cmd" = help ]; then
        COMPREPLY=($(compgen -W "$(_maproot_commands "$bin")" -- "$cur"))
        return
    fi
    local values
    values=$(_maproot_values "$cmd" "$prev")
    if [ -n "$values" ]; then
        COMPREPLY=($(compgen -W "$values" -- "$cur"))
        return
    fi
    case $prev in
    -o | --output | --policy | --baseline | --write-baseline | --junit | --binary)
        COMPREPLY=($(compgen -f -- "$cur"))
        compopt -o filenames 2>/dev/null
        return
        ;;
    -p | --pid)
        COMPREPLY=($(compgen -W "$(_maproot_pids "$bin")" -- "$cur"))
        return
        ;;
    -n | --top | --steps | --interval | --duration | --max-memory | -e | --every)
        return
        ;;
    -d | --dir)
        [ "$cmd" = trace ] && return # trace's -d is --duration
        COMPREPLY=($(compgen -d -- "$cur"))
        compopt -o filenames 2>/dev/null
        return
        ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_maproot_options "$bin" "$cmd")" -- "$cur"))
        return
    fi
    _maproot_files "$cur"
}

complete -F _maproot maproot
