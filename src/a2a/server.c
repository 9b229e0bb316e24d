/* server.c - placeholder until the A2A server binding lands. */
