/* client.c - placeholder until the HTTP client lands. */
