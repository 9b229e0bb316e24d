/* test_plugin_cli_helper.c - `molecule plugin …` as a standalone executable (the same
 * cmd_plugin.c the molecule binary links), for tests that need a real installer process. */
#include "cli/cli.h"

int main(int argc, char **argv) { return mol_cli__cmd_plugin(argc, argv); }
