/* codec.c - placeholder until the A2A codec lands. */
