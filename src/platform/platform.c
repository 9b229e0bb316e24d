/* platform.c - placeholder until the platform client lands. */
