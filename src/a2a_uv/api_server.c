/* api_server.c - the public A2A server (molecule/a2a.h): an HTTP server of its own, listening
 * on one address, with the internal A2A server (server.h) mounted on it and the caller's
 * executor bound through api_exec.h.
 *
 * Closing goes down in order: the A2A server (its turns are asked to cancel and waited for,
 * their callers answered), then the executor's close, then the HTTP server (the last answers
 * get a moment to flush), then the caller's callback. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/card.h"
#include "a2a_uv/api_exec.h"
#include "a2a_uv/server.h"
#include "molecule/uv.h"

#define FLUSH_MS 1000
#define MAX_SKILLS 256

struct mol_server {
  mol_http_server *http;
  mol_a2a_server *a2a;
  mol_a2a_api_exec *x;
  char *url;
  int closing;
  void (*close_cb)(void *arg);
  void *close_arg;
};

static int is_wildcard(const char *host) {
  return !*host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}

/* http://<host>:<port><prefix>/, an IPv6 address in brackets. */
static char *listener_url(const char *host, int port, const char *prefix) {
  char *url = NULL;
  int v6 = strchr(host, ':') != NULL;
  if (asprintf(&url, "http://%s%s%s:%d%s/", v6 ? "[" : "", host, v6 ? "]" : "", port, prefix) < 0)
    return NULL;
  return url;
}

/* The internal card's skills: the caller's, or one named after the agent. */
static int card_skills(const mol_card *c, mol_a2a_skill *out, size_t *n) {
  if (c->n_skills && !c->skills) return MOL_EINVAL;
  for (size_t i = 0; i < c->n_skills; i++) {
    const mol_skill *s = &c->skills[i];
    if (!s->id || !s->name) return MOL_EINVAL;
    out[i] = (mol_a2a_skill){.id = s->id, .name = s->name, .description = s->description,
                             .tags = s->tags, .n_tags = s->n_tags, .examples = s->examples,
                             .n_examples = s->n_examples};
  }
  *n = c->n_skills;
  if (!*n) {
    out[0] = (mol_a2a_skill){.id = c->name, .name = c->name, .description = c->description};
    *n = 1;
  }
  return 0;
}

static int mount(uv_loop_t *loop, mol_server *s, const mol_server_opts *o, const char *prefix) {
  const mol_card *c = o->card;
  mol_a2a_skill *skills = calloc(c->n_skills ? c->n_skills : 1, sizeof(*skills));
  if (!skills) return MOL_ENOMEM;
  size_t n = 0;
  int rc = card_skills(c, skills, &n);
  mol_a2a_card card = {
    .name = c->name, .description = c->description, .url = s->url, .version = c->version,
    .provider_organization = c->provider_organization, .provider_url = c->provider_url,
    .documentation_url = c->documentation_url, .icon_url = c->icon_url,
    .streaming = !c->no_streaming,
    .default_input_modes = c->input_modes, .n_default_input_modes = c->n_input_modes,
    .default_output_modes = c->output_modes, .n_default_output_modes = c->n_output_modes,
    .skills = skills, .n_skills = n};
  mol_a2a_server_opts so = {
    .card = &card, .executor = mol_a2a_api_exec_inner(s->x), .prefix = prefix,
    .store = {.max_bytes = o->max_task_bytes, .max_tasks = o->max_tasks,
              .terminal_ttl_ms = o->task_ttl_ms},
    .cancel_wait_ms = o->cancel_wait_ms};
  if (!rc) rc = mol_a2a_server_new(loop, s->http, &so, &s->a2a);
  free(skills);
  return rc;
}

static void server_free(mol_server *s) {
  free(s->url);
  free(s);
}

static void on_failed_http_closed(void *arg) { server_free(arg); }

static int check(uv_loop_t *loop, const mol_server_opts *o, mol_server **out) {
  if (!loop || !o || !out || !o->card || !o->card->name || !*o->card->name || !o->executor ||
      !o->executor->execute || o->port < 0 || o->port > 65535)
    return MOL_EINVAL;
  if (o->card->n_skills > MAX_SKILLS || (o->card->n_input_modes && !o->card->input_modes) ||
      (o->card->n_output_modes && !o->card->output_modes))
    return MOL_EINVAL;
  const char *host = o->host ? o->host : "127.0.0.1";
  return is_wildcard(host) && !o->card->url ? MOL_EINVAL : 0;
}

int mol_server_new(uv_loop_t *loop, const mol_server_opts *o, mol_server **out) {
  int rc = check(loop, o, out);
  if (rc) return rc;
  const char *host = o->host ? o->host : "127.0.0.1";
  const char *prefix = o->prefix ? o->prefix : "";
  mol_server *s = calloc(1, sizeof(*s));
  if (!s) return MOL_ENOMEM;
  mol_http_server_opts ho = {.max_body_bytes = o->max_body_bytes,
                             .max_connections = o->max_connections};
  if ((rc = mol_http_server_new(loop, &ho, &s->http))) {
    free(s);
    return rc;
  }
  rc = mol_http_server_listen(s->http, host, o->port);
  if (!rc) {
    s->url = o->card->url ? strdup(o->card->url)
                          : listener_url(host, mol_http_server_port(s->http), prefix);
    rc = s->url ? mol_a2a_api_exec_new(o->executor, &s->x) : MOL_ENOMEM;
  }
  if (!rc) rc = mount(loop, s, o, prefix);
  if (rc) { /* the executor was never used: no close for it */
    mol_a2a_api_exec_free(s->x, 0);
    mol_http_server_close(s->http, 0, on_failed_http_closed, s);
    return rc;
  }
  *out = s;
  return 0;
}

int mol_server_port(const mol_server *s) { return mol_http_server_port(s->http); }

const char *mol_server_url(const mol_server *s) { return s->url; }

static void on_http_closed(void *arg) {
  mol_server *s = arg;
  void (*cb)(void *) = s->close_cb;
  void *cb_arg = s->close_arg;
  server_free(s);
  if (cb) cb(cb_arg);
}

static void on_a2a_closed(void *arg) {
  mol_server *s = arg;
  s->a2a = NULL;
  mol_a2a_api_exec_free(s->x, 1);
  s->x = NULL;
  mol_http_server_close(s->http, FLUSH_MS, on_http_closed, s);
}

void mol_server_close(mol_server *s, void (*cb)(void *arg), void *arg) {
  if (!s || s->closing) return;
  s->closing = 1;
  s->close_cb = cb;
  s->close_arg = arg;
  mol_a2a_server_close(s->a2a, on_a2a_closed, s);
}
