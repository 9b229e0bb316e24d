/* plugin.c - placeholder until plugin install lands. */
