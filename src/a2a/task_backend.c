/* task_backend.c - the default storage of durable A2A task stores (task_backend.h): a slot the
 * layer that owns the database fills when the library loads. */
#include "a2a/task_backend.h"

static const mol_a2a_task_backend *default_backend;

const mol_a2a_task_backend *mol_a2a_task_backend_default(void) { return default_backend; }

void mol_a2a_task_backend_set_default(const mol_a2a_task_backend *b) { default_backend = b; }
