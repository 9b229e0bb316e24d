/* server.c - placeholder until the HTTP server lands. */
