#!/bin/sh
# run.sh EXE SEEDS SECONDS: one bounded libFuzzer run of EXE, starting from the committed seed
# corpus SEEDS. New inputs go to a work corpus beside EXE in the build dir, never into SEEDS.
set -eu
exe=$1 seeds=$2 secs=$3
work="$(dirname "$exe")/corpus-$(basename "$exe")"
mkdir -p "$work"
exec "$exe" -max_total_time="$secs" -rss_limit_mb=1024 -print_final_stats=1 "$work" "$seeds"
