#!/bin/sh
# test_completion.sh - the shell completion of dist/completion completes what the real
# `molecule` binary offers: commands, subcommands ("molecule plugin <TAB>"), two levels deep
# ("molecule platform workspace <TAB>"), a command's and a subcommand's options, and nothing
# (so file names) where a positional argument goes.
# bash: the script is sourced and _molecule called with COMP_WORDS/COMP_CWORD set, as bash does;
# zsh: the completion function runs with compadd and _files replaced by printers (compadd's
# printer keeps the words that start with the one typed, as zsh matches them).
# Usage: test_completion.sh bash|zsh MOLECULE_BIN SOURCE_ROOT
set -eu
shell=$1 src=$3
bin=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")   # absolute: it is linked from elsewhere
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ln -s "$bin" "$dir/molecule"   # completion runs `molecule` as typed: the one on PATH
PATH="$dir:$PATH"
export PATH
failed=0

complete_words() { # words...; the last one is the word being completed; prints the sorted offers
  case $shell in
  bash)
    bash --norc -c '
      source "$1/dist/completion/molecule.bash"; shift
      COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
      _molecule
      printf "%s\n" "${COMPREPLY[@]}"' sh "$src" "$@" ;;
  zsh)
    zsh -f -c '
      # compadd offers the words that start with what is typed (the prefix matching of zsh).
      compadd() { [[ $1 == -a ]] && print -l -- ${(M)${(P)2}:#${words[CURRENT]}*} }
      _files() { print -- "<files>" }
      src=$1; shift
      words=("$@"); CURRENT=$#
      source "$src/dist/completion/_molecule"' zsh "$src" "$@" ;;
  esac | sed '/^$/d' | sort | uniq -c | awk '{ print ($1 > 1 ? $2 "(x" $1 ")" : $2) }' | tr '\n' ' ' | sed 's/ $//'
}

expect() { # "wanted offers" words...
  want=$1
  shift
  got=$(complete_words "$@")
  if [ "$got" = "$want" ]; then
    echo "ok   '$*' -> $got"
  else
    echo "FAIL '$*': got '$got', want '$want'"
    failed=1
  fi
}

# Where nothing is offered bash falls back to file names (complete -o default); zsh calls _files.
none=""
[ "$shell" = zsh ] && none="<files>"

expect "platform plugin" molecule pl
expect "delegate dev" molecule de
expect "hash install list remove" molecule plugin ""
expect "create list" molecule platform workspace ""
expect "approvals approve" molecule platform appr
expect "approvals approve delete deny pause resume secret workspace" molecule platform ""
expect "cancel get" molecule task ""
expect "--timeout-ms" molecule call --timeout-m
expect "--stream" molecule call --str
expect "--sha256" molecule plugin install --sha
expect "--help --version" molecule --
expect "$none" molecule call http://127.0.0.1:8000/ ""
expect "$none" molecule host -c ""

# Every command of `molecule --help`, nothing else.
want=$("$bin" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p' | sort | tr '\n' ' ' |
  sed 's/ $//')
[ -n "$want" ] || { echo "FAIL: no commands in molecule --help"; exit 1; }
expect "$want" molecule ""

exit $failed
