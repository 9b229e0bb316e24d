# molecule.bash - bash completion for `molecule`: commands, subcommands and options.
# Everything is read from the installed binary's own --help (the command list of `molecule
# --help`, the "molecule CMD SUB ..." usage lines, the --options of `molecule CMD [SUB] --help`),
# so the completion cannot disagree with the binary it completes. Where nothing fits (a URL,
# a file, an option's value) bash completes file names.

# The --help text of `molecule WORDS...`, or of its first word when WORDS has no help of its own.
_molecule_help() {
  local bin=$1 out
  shift
  out=$("$bin" "$@" --help 2>/dev/null)
  if [[ -z $out && $# -gt 1 ]]; then
    out=$("$bin" "$1" --help 2>/dev/null)
  fi
  printf '%s\n' "$out"
}

# The subcommands that may follow `molecule WORDS...`, one a line.
_molecule_subcommands() {
  local bin=$1 line rest word
  shift
  if [[ $# -eq 0 ]]; then
    # The command list: the indented first words under "commands:".
    "$bin" --help 2>/dev/null | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p'
    return
  fi
  while IFS= read -r line; do
    line=${line#usage:}
    line=${line#"${line%%[![:space:]]*}"}
    [[ $line == "molecule $* "* ]] || continue
    rest=${line#"molecule $* "}
    word=${rest%% *}
    # "pause|resume" is two subcommands; "[options]", "URL" or "--x" is none.
    [[ $word =~ ^[a-z][a-z0-9-]*(\|[a-z][a-z0-9-]*)*$ ]] && tr '|' '\n' <<<"$word"
  done < <(_molecule_help "$bin" "$@")
}

# The long options `molecule WORDS... --help` names, one a line.
_molecule_options() {
  _molecule_help "$@" | grep -oE -- '--[a-zA-Z0-9][a-zA-Z0-9-]*' | sort -u
}

_molecule() {
  local cur=${COMP_WORDS[COMP_CWORD]} bin=${COMP_WORDS[0]} path=() w i subs
  COMPREPLY=()
  # The command path typed so far: each word that is a subcommand of the words before it.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    [[ $w == -* ]] && continue
    subs=$(_molecule_subcommands "$bin" "${path[@]}")
    if grep -qxF -- "$w" <<<"$subs"; then path+=("$w"); else break; fi
  done
  if [[ $cur == -* ]]; then
    if [[ ${#path[@]} -eq 0 ]]; then
      mapfile -t COMPREPLY < <(compgen -W "--help --version" -- "$cur")
    else
      mapfile -t COMPREPLY < <(compgen -W "$(_molecule_options "$bin" "${path[@]}")" -- "$cur")
    fi
  elif [[ $i -eq $COMP_CWORD ]]; then
    # Every word so far was a subcommand (or an option): offer the next level, if there is one.
    mapfile -t COMPREPLY < <(compgen -W "$(_molecule_subcommands "$bin" "${path[@]}" | sort -u)" -- "$cur")
  fi
}

complete -o default -F _molecule molecule
