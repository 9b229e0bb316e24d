/* codec.c - method names of both versions, version negotiation, SSE framing. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "a2a/codec.h"
#include "molecule.h"

typedef struct {
  mol_a2a_method method;
  const char *v03;
  const char *v10;
} method_names;

static const method_names k_methods[] = {
  {MOL_A2A_M_SEND, "message/send", "SendMessage"},
  {MOL_A2A_M_STREAM, "message/stream", "SendStreamingMessage"},
  {MOL_A2A_M_GET, "tasks/get", "GetTask"},
  {MOL_A2A_M_CANCEL, "tasks/cancel", "CancelTask"},
  {MOL_A2A_M_RESUBSCRIBE, "tasks/resubscribe", "SubscribeToTask"},
  {MOL_A2A_M_PUSH_SET, "tasks/pushNotificationConfig/set", "CreateTaskPushNotificationConfig"},
  {MOL_A2A_M_PUSH_GET, "tasks/pushNotificationConfig/get", "GetTaskPushNotificationConfig"},
  {MOL_A2A_M_PUSH_LIST, "tasks/pushNotificationConfig/list", "ListTaskPushNotificationConfigs"},
  {MOL_A2A_M_PUSH_DELETE, "tasks/pushNotificationConfig/delete",
   "DeleteTaskPushNotificationConfig"},
  {MOL_A2A_M_GET_EXTENDED_CARD, "agent/getAuthenticatedExtendedCard", "GetExtendedAgentCard"},
  {MOL_A2A_M_LIST_TASKS, NULL, "ListTasks"},
};
#define N_METHODS (sizeof(k_methods) / sizeof(k_methods[0]))

const char *mol_a2a_method_name(mol_a2a_method m, mol_a2a_version v) {
  for (size_t i = 0; i < N_METHODS; i++)
    if (k_methods[i].method == m) return v == MOL_A2A_V10 ? k_methods[i].v10 : k_methods[i].v03;
  return NULL;
}

mol_a2a_method mol_a2a_method_parse(const char *name, mol_a2a_version v) {
  if (!name) return MOL_A2A_M_UNKNOWN;
  for (size_t i = 0; i < N_METHODS; i++) {
    const char *n = v == MOL_A2A_V10 ? k_methods[i].v10 : k_methods[i].v03;
    if (n && strcmp(n, name) == 0) return k_methods[i].method;
  }
  /* The singular spelling of the list method appears in some v1.0 drafts and SDKs. */
  if (v == MOL_A2A_V10 && strcmp(name, "ListTaskPushNotificationConfig") == 0)
    return MOL_A2A_M_PUSH_LIST;
  return MOL_A2A_M_UNKNOWN;
}

int mol_a2a_method_is_streaming(mol_a2a_method m) {
  return m == MOL_A2A_M_STREAM || m == MOL_A2A_M_RESUBSCRIBE;
}

/* "M.m" or "M.m.x" with the given major.minor; digits only after the second dot. */
static int version_is(const char *s, size_t n, const char *major_minor) {
  size_t k = strlen(major_minor);
  if (n < k || strncmp(s, major_minor, k) != 0) return 0;
  if (n == k) return 1;
  if (s[k] != '.' || n == k + 1) return 0;
  for (size_t i = k + 1; i < n; i++)
    if (!isdigit((unsigned char)s[i])) return 0;
  return 1;
}

int mol_a2a_version_parse(const char *header, mol_a2a_version *out) {
  const char *s = header ? header : "";
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  if (n == 0 || version_is(s, n, "0.3")) {
    *out = MOL_A2A_V03;
    return 0;
  }
  if (version_is(s, n, "1.0")) {
    *out = MOL_A2A_V10;
    return 0;
  }
  return MOL_EINVAL;
}

int mol_a2a_sse_frame(mol_buf *out, const char *body, int is_error) {
  if (!body || strpbrk(body, "\r\n")) return MOL_EINVAL; /* one data line per event */
  if (is_error && mol_buf_append_str(out, "event: error\n") != 0) return MOL_ENOMEM;
  if (mol_buf_append_str(out, "data: ") != 0 || mol_buf_append_str(out, body) != 0 ||
      mol_buf_append_str(out, "\n\n") != 0)
    return MOL_ENOMEM;
  return 0;
}

static int mode_matches(const char *mode, const char *mime) {
  if (strcmp(mode, "*/*") == 0 || strcasecmp(mode, mime) == 0) return 1;
  size_t n = strlen(mode);
  /* a trailing "/" + star accepts any subtype */
  return n >= 2 && strcmp(mode + n - 2, "/*") == 0 && strncasecmp(mode, mime, n - 1) == 0;
}

int mol_a2a_accepts_output(const mol_a2a_send_config *cfg, const char *mime) {
  const json_t *modes = cfg ? cfg->accepted_output_modes : NULL;
  if (json_array_size(modes) == 0) return 1;
  size_t i;
  json_t *m;
  json_array_foreach(modes, i, m) {
    const char *mode = json_string_value(m);
    if (mode && mime && mode_matches(mode, mime)) return 1;
  }
  return 0;
}
