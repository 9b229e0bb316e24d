/* chat_script.h - a scripted chat-completions server on the test's loop, for what the real
 * mock-llm cannot do: stream delta.tool_calls fragments (mock-llm answers 500 or drops them)
 * and hold a model request open until the client gives up.
 *
 * A scenario is a path prefix ("/<name>/...") and a list of steps, one per request in order:
 * raw SSE pieces written one per loop pass (so an event, or a line, can be split between
 * writes), a plain JSON body, or "hang" (never answers; the abort is counted). Every request
 * body is kept so the test can read what the client sent. */
#ifndef CHAT_SCRIPT_H
#define CHAT_SCRIPT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "http/server.h"

#define CS_MAX_REQUESTS 8

typedef struct {
  const char *const *pieces; /* SSE: raw pieces, NULL-terminated */
  const char *json;          /* or a plain JSON answer */
  int hang;                  /* or never answer */
} cs_step;

typedef struct {
  const char *name;
  const cs_step *steps;
  size_t nsteps;
  size_t seen;                        /* requests received */
  char *bodies[CS_MAX_REQUESTS];      /* their bodies, in order */
  int aborted;                        /* clients that went away before an answer */
  int streams_done;                   /* SSE answers finished */
} cs_scenario;

typedef struct {
  mol_http_req *r;
  cs_scenario *sc;
  const cs_step *step;
  size_t next;
  uv_timer_t timer;
  int gone;
} cs_stream;

typedef struct {
  uv_loop_t *loop;
  mol_http_server *srv;
  cs_scenario **scenarios;
  size_t n;
  int closed;
} chat_script;

static void cs_stream_closed(uv_handle_t *h) { free(h->data); }

static void cs_stream_finish(cs_stream *s) {
  uv_timer_stop(&s->timer);
  mol_http_resp_end(s->r);
  if (!s->gone) s->sc->streams_done++;
  uv_close((uv_handle_t *)&s->timer, cs_stream_closed);
}

static void cs_stream_abort(mol_http_req *r, void *arg) {
  (void)r;
  cs_stream *s = arg;
  s->gone = 1;
  s->sc->aborted++;
  cs_stream_finish(s);
}

static void cs_stream_tick(uv_timer_t *t) {
  cs_stream *s = t->data;
  const char *piece = s->step->pieces[s->next];
  if (!piece) {
    cs_stream_finish(s);
    return;
  }
  s->next++;
  mol_http_resp_write(s->r, piece, strlen(piece));
}

static void cs_hang_abort(mol_http_req *r, void *arg) {
  cs_scenario *sc = arg;
  sc->aborted++;
  mol_http_respond(r, 499, NULL, NULL, 0); /* releases the request */
}

static cs_scenario *cs_find(chat_script *cs, const char *path) {
  for (size_t i = 0; i < cs->n; i++) {
    size_t len = strlen(cs->scenarios[i]->name);
    if (path[0] == '/' && strncmp(path + 1, cs->scenarios[i]->name, len) == 0 && path[len + 1] == '/')
      return cs->scenarios[i];
  }
  return NULL;
}

static void cs_handle(mol_http_req *r, void *arg) {
  chat_script *cs = arg;
  cs_scenario *sc = cs_find(cs, mol_http_req_path(r));
  if (!sc || sc->seen >= sc->nsteps || sc->seen >= CS_MAX_REQUESTS) {
    const char *e = "{\"error\":{\"message\":\"no scripted answer\"}}";
    mol_http_respond(r, 500, "application/json", e, strlen(e));
    return;
  }
  sc->bodies[sc->seen] = strdup(mol_http_req_body(r, NULL));
  const cs_step *step = &sc->steps[sc->seen++];
  if (step->hang) {
    mol_http_req_on_abort(r, cs_hang_abort, sc);
  } else if (step->json) {
    mol_http_respond(r, 200, "application/json", step->json, strlen(step->json));
  } else {
    cs_stream *s = calloc(1, sizeof *s);
    s->r = r;
    s->sc = sc;
    s->step = step;
    uv_timer_init(cs->loop, &s->timer);
    s->timer.data = s;
    mol_http_req_on_abort(r, cs_stream_abort, s);
    mol_http_resp_start(r, 200, "text/event-stream");
    uv_timer_start(&s->timer, cs_stream_tick, 1, 1); /* one piece per millisecond */
  }
}

/* Serves the scenarios (borrowed, NULL-terminated array) on an ephemeral loopback port. */
static void cs_start(chat_script *cs, uv_loop_t *loop, cs_scenario **scenarios) {
  memset(cs, 0, sizeof *cs);
  cs->loop = loop;
  cs->scenarios = scenarios;
  while (scenarios[cs->n]) cs->n++;
  mol_http_server_opts o = {.max_body_bytes = 4u << 20}; /* requests carrying big results */
  if (mol_http_server_new(loop, &o, &cs->srv) || mol_http_server_route(cs->srv, "POST", "/", 1, cs_handle, cs) ||
      mol_http_server_listen(cs->srv, "127.0.0.1", 0)) {
    fprintf(stderr, "chat_script: cannot listen\n");
    abort();
  }
}

static int cs_port(const chat_script *cs) { return mol_http_server_port(cs->srv); }

static void cs_on_closed(void *arg) { ((chat_script *)arg)->closed = 1; }

/* Closes the server (streams still open are cut) and frees what the scenarios kept. */
static void cs_stop(chat_script *cs) {
  mol_http_server_close(cs->srv, 100, cs_on_closed, cs);
  while (!cs->closed) uv_run(cs->loop, UV_RUN_ONCE);
  for (size_t i = 0; i < cs->n; i++)
    for (size_t k = 0; k < CS_MAX_REQUESTS; k++) {
      free(cs->scenarios[i]->bodies[k]);
      cs->scenarios[i]->bodies[k] = NULL;
    }
}

#endif
