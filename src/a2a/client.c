/* client.c - placeholder until the A2A client lands. */
