/* echo.c - the echo executor. Each turn owns one timer; its steps are driven by it. */
#include "a2a_uv/echo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "molecule.h"

typedef struct {
  mol_echo_opts opts;
} echo;

typedef struct {
  uv_timer_t timer;
  mol_a2a_turn *turn;   /* NULL once the turn has ended */
  const echo *e;
  int step;
} echo_turn;

static void on_timer_closed(uv_handle_t *h) { free(h->data); }

static void finish(echo_turn *et) {
  et->turn = NULL;
  uv_close((uv_handle_t *)&et->timer, on_timer_closed);
}

/* "echo: " and the text (two copies: snprintf cost more than the rest of the turn). */
static char *reply_text(mol_a2a_turn *t) {
  const char *in = mol_a2a_turn_text(t);
  size_t n = strlen(in);
  char *s = malloc(n + 7);
  if (s) {
    memcpy(s, "echo: ", 6);
    memcpy(s + 6, in, n + 1);
  }
  return s;
}

static void end_message_mode(echo_turn *et) {
  mol_a2a_turn *t = et->turn;
  char *text = reply_text(t);
  finish(et);
  mol_a2a_turn_reply_text(t, text ? text : "echo:");
  free(text);
}

static void on_timer(uv_timer_t *timer);

/* Whether the turn ends in input-required rather than completed. */
static int wants_more(const echo *e, const char *text) {
  if (e->opts.until_done) return strcasecmp(text, "done") != 0;
  return strncmp(text, "input-required", 14) == 0;
}

/* Task mode: working -> artifact -> completed (or input-required). */
static void task_step(echo_turn *et) {
  mol_a2a_turn *t = et->turn;
  char *text;
  switch (et->step++) {
    case 0:
      mol_a2a_turn_working(t, NULL);
      break;
    case 1:
      text = reply_text(t);
      mol_a2a_turn_artifact(t, NULL, "echo", text ? text : "echo:", 0, 1);
      free(text);
      break;
    default:
      finish(et);
      if (wants_more(et->e, mol_a2a_turn_text(t)))
        mol_a2a_turn_input_required(t, et->e->opts.until_done
                                           ? "more input needed: say \"done\" to finish"
                                           : "more input needed: continue with this taskId");
      else
        mol_a2a_turn_complete(t, NULL);
      return;
  }
  uv_timer_start(&et->timer, on_timer, et->e->opts.delay_ms, 0);
}

static void on_timer(uv_timer_t *timer) {
  echo_turn *et = timer->data;
  if (!et->turn) return;
  if (et->e->opts.task_mode) task_step(et);
  else end_message_mode(et);
}

static int echo_execute(void *self, mol_a2a_turn *t) {
  const echo *e = self;
  if (!e->opts.task_mode && e->opts.delay_ms == 0) {
    char *text = reply_text(t);
    mol_a2a_turn_reply_text(t, text ? text : "echo:");
    free(text);
    return 0;
  }
  echo_turn *et = calloc(1, sizeof(*et));
  if (!et) return MOL_ENOMEM;
  et->turn = t;
  et->e = e;
  uv_timer_init(mol_a2a_turn_loop(t), &et->timer);
  et->timer.data = et;
  mol_a2a_turn_set_data(t, et);
  if (!e->opts.task_mode) mol_a2a_turn_working(t, NULL);
  uv_timer_start(&et->timer, on_timer, e->opts.delay_ms, 0);
  return 0;
}

static void echo_cancel(void *self, mol_a2a_turn *t) {
  (void)self;
  echo_turn *et = mol_a2a_turn_data(t);
  if (et && et->turn) finish(et);
  mol_a2a_turn_canceled(t);
}

int mol_echo_new(const mol_echo_opts *opts, mol_a2a_executor *ex) {
  echo *e = calloc(1, sizeof(*e));
  if (!e) return MOL_ENOMEM;
  if (opts) e->opts = *opts;
  if (e->opts.until_done) e->opts.task_mode = 1;
  ex->name = "echo";
  ex->execute = echo_execute;
  ex->cancel = echo_cancel;
  ex->self = e;
  return 0;
}

void mol_echo_free(mol_a2a_executor *ex) {
  free(ex->self);
  ex->self = NULL;
}
