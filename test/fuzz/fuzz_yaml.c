/* fuzz_yaml.c - libFuzzer target for the YAML reader of host and config files
 * (runtime/yaml_json.h): any input either fails with a message or gives a JSON value that
 * serialises and reads back equal; nothing leaks or crashes. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/yaml_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  if (len > 65536) return 0;
  char err[256] = "";
  json_t *v = mol_yaml_parse((const char *)data, len, err, sizeof(err));
  if (!v) {
    if (!err[0]) abort(); /* a failure always says why */
    return 0;
  }
  char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  if (text) {
    json_t *back = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!back || !json_equal(v, back)) abort();
    json_decref(back);
    free(text);
  }
  json_decref(v);
  return 0;
}
