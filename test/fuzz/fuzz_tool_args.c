/* fuzz_tool_args.c - a tool call's arguments: whenever the scanner builds the object itself
 * (mol_tools__args_scan), json_loads (what the registry used before, and still uses for what
 * the scanner declines) must accept the same text and give the same value, members in the same
 * order; and mol_tools__args_parse must give json_loads' answer on every text. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/args.h"

static int same(const json_t *a, const json_t *b) {
  if (!json_equal((json_t *)a, (json_t *)b)) return 0;
  if (json_is_array(a)) {
    for (size_t i = 0; i < json_array_size(a); i++)
      if (!same(json_array_get(a, i), json_array_get(b, i))) return 0;
    return 1;
  }
  if (!json_is_object(a)) return 1;
  void *ia = json_object_iter((json_t *)a), *ib = json_object_iter((json_t *)b);
  for (; ia && ib; ia = json_object_iter_next((json_t *)a, ia), ib = json_object_iter_next((json_t *)b, ib))
    if (strcmp(json_object_iter_key(ia), json_object_iter_key(ib)) ||
        !same(json_object_iter_value(ia), json_object_iter_value(ib)))
      return 0;
  return !ia && !ib;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1); /* NUL-terminated, as the registry's arguments are */
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  int declined;
  json_t *fast = mol_tools__args_scan(text, size, &declined);
  json_t *dom = mol_tools__args_dom(text, size);
  if (fast && (!dom || !same(fast, dom))) abort(); /* the scanner read what jansson would not */
  json_t *both = mol_tools__args_parse(text, size);
  if ((both == NULL) != (dom == NULL) || (both && !same(both, dom))) abort();
  json_decref(both);
  json_decref(fast);
  json_decref(dom);
  free(text);
  return 0;
}
