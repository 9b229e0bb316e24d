/* cmd_bench_platform.c - `molecule bench --platform URL`. */
#include <stdio.h>
#include "cli/cli.h"
int mol_cli__bench_platform(int argc, char **argv) { (void)argc; (void)argv; return 2; }
