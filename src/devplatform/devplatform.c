/* devplatform.c - placeholder until the dev platform lands. */
