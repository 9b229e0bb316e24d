/* platform.c - placeholder, filled below. */
