/* api_exec_int.h - shared by api_exec.c (the binding, the turn's life, emits and endings) and
 * api_turn.c (reading the turn). */
#ifndef MOL_A2A_UV_API_EXEC_INT_H
#define MOL_A2A_UV_API_EXEC_INT_H

#include <uv.h>

#include "a2a_uv/api_exec.h"

typedef struct api_cancel api_cancel;

struct mol_a2a_api_exec {
  mol_executor user;           /* user.name points at name */
  char *name;
  mol_a2a_executor inner;
  unsigned live;               /* turns not ended yet */
};

/* What the turn hands out as text, built on first use. */
typedef struct {
  char *message_json, *message_meta, *request_meta;
  mol_part *parts;
  char **strings;              /* the parts' own strings */
  size_t nparts, nstrings;
  int parts_built;
} api_turn_cache;

struct mol_turn {
  mol_a2a_turn *it;            /* the internal turn; gone once ended */
  mol_a2a_api_exec *x;
  void *data;
  api_cancel *cancel;          /* the deferred call of user.cancel, while due */
  int in_execute;              /* inside user.execute: an ending does not free the handle */
  int ended;
  api_turn_cache cache;
};

/* api_turn.c: frees what the accessors built. */
void mol_a2a__api_turn_cache_free(api_turn_cache *c);

#endif
