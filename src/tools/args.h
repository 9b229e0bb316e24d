/* args.h - a tool call's arguments text read into the jansson object the tool receives. Every
 * tool call of every model round reads one, and jansson's own reader was a third of the tool
 * loop's CPU, so the common shape is read with the validating scanner (base/jscan) and the
 * object built straight from its tokens. Whatever the scanner leaves undecided is read again
 * with json_loads (flags 0, what the registry always used), which then gives the answer: both
 * paths agree on every text (unit test + fuzz target). */
#ifndef MOL_TOOLS_ARGS_H
#define MOL_TOOLS_ARGS_H

#include <jansson.h>
#include <stddef.h>

/* The arguments text (len bytes, NUL-terminated at len) as a new jansson value: what
 * json_loads(text, 0, NULL) gives, NULL when it is not JSON it accepts. */
json_t *mol_tools__args_parse(const char *text, size_t len);

/* The two ways it reads, for the agreement test. scan: the value, or NULL with *declined set
 * when the text is left to jansson (*declined clear: out of memory). dom: json_loads. */
json_t *mol_tools__args_scan(const char *text, size_t len, int *declined);
json_t *mol_tools__args_dom(const char *text, size_t len);

#endif
