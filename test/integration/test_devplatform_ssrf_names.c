/* The dev platform's SSRF guard for agent URLs given by host *name*, over loopback sockets.
 * Names pass registration and are judged at dispatch, on every address they resolve to: a
 * name that the system resolver maps to loopback (from /etc/hosts: the machine's own name,
 * ip6-localhost, ...; never "localhost", which is refused by spelling before any lookup) must
 * be refused by the A2A proxy without --dev with 502 "workspace URL is not publicly routable",
 * and the agent listening at that address never contacted. With --dev the same name reaches
 * the agent, which shows the name really leads to it. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "test_devplatform_util.h"

/* ---- a host name that resolves to one loopback address and nothing else -------------------- */

typedef struct {
  char name[256];
  char addr[INET6_ADDRSTRLEN]; /* the address it resolves to, to listen on */
} loop_name;

static int is_literal(const char *h) {
  unsigned char b[16];
  return inet_pton(AF_INET, h, b) == 1 || inet_pton(AF_INET6, h, b) == 1;
}

/* "localhost" and *.localhost are refused by spelling, before any lookup: not what we test. */
static int spelled_local(const char *h) {
  size_t n = strlen(h);
  return strcasecmp(h, "localhost") == 0 ||
         (n > 10 && strcasecmp(h + n - 10, ".localhost") == 0);
}

static int loopback_text(const struct sockaddr *sa, char *out) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    if ((ntohl(s4->sin_addr.s_addr) >> 24) != 127) return 0;
    return inet_ntop(AF_INET, &s4->sin_addr, out, INET6_ADDRSTRLEN) != NULL;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    if (!IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr)) return 0;
    return inet_ntop(AF_INET6, &s6->sin6_addr, out, INET6_ADDRSTRLEN) != NULL;
  }
  return 0;
}

/* 1 when name resolves (as the platform resolves it: AF_UNSPEC, stream) to exactly one
 * address, a loopback one, written to out->addr. */
static int resolves_to_one_loopback(const char *name, loop_name *out) {
  if (is_literal(name) || spelled_local(name) || strlen(name) >= sizeof out->name) return 0;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
  if (getaddrinfo(name, NULL, &hints, &res) != 0) return 0;
  char first[INET6_ADDRSTRLEN] = "", cur[INET6_ADDRSTRLEN];
  int ok = res != NULL;
  for (struct addrinfo *ai = res; ok && ai; ai = ai->ai_next) {
    ok = loopback_text(ai->ai_addr, cur) && (!first[0] || strcmp(first, cur) == 0);
    if (ok) snprintf(first, sizeof first, "%s", cur);
  }
  freeaddrinfo(res);
  if (!ok) return 0;
  snprintf(out->name, sizeof out->name, "%s", name);
  snprintf(out->addr, sizeof out->addr, "%s", first);
  return 1;
}

/* The machine's own name first, then every name in /etc/hosts. */
static int find_loopback_name(loop_name *out) {
  char host[256];
  if (gethostname(host, sizeof host) == 0 && resolves_to_one_loopback(host, out)) return 1;
  FILE *f = fopen("/etc/hosts", "r");
  if (!f) return 0;
  char line[1024];
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) {
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save); /* the address */
    while (!found && tok && (tok = strtok_r(NULL, " \t\r\n", &save)))
      found = resolves_to_one_loopback(tok, out);
  }
  fclose(f);
  return found;
}

/* ---- the test ------------------------------------------------------------------------------- */

/* An agent on the name's address (responder_start would take 127.0.0.1); its URL, by name,
 * goes to url. */
static void agent_start(env *e, responder *agent, const loop_name *ln, char *url, size_t cap) {
  memset(agent, 0, sizeof *agent);
  agent->mode = R_ECHO;
  assert_int_equal(mol_http_server_new(&e->loop, NULL, &agent->srv), 0);
  assert_int_equal(mol_http_server_route(agent->srv, "POST", "/", 1, responder_handler, agent), 0);
  assert_int_equal(mol_http_server_listen(agent->srv, ln->addr, 0), 0);
  agent->port = mol_http_server_port(agent->srv);
  snprintf(url, cap, "http://%s:%d/a2a", ln->name, agent->port);
  (void)responder_start;
}

/* Registers a workspace at the name, sends it a canvas message; returns the status and how many
 * requests the agent saw. */
static int dispatch_by_name(const loop_name *ln, int dev, int *agent_calls, char *error,
                            size_t cap) {
  env e;
  responder agent;
  char url[320], path[256], ws[64];
  env_start(&e, dev);
  env_open(&e);
  agent_start(&e, &agent, ln, url, sizeof url);
  snprintf(ws, sizeof ws, "%s", create_ws(&e, mol_devplatform_admin_token(e.dp), "w", NULL));
  register_ws(&e, ws, url, NULL); /* a name passes registration: it is judged at dispatch */
  snprintf(path, sizeof path, "/workspaces/%s/a2a", ws);
  int status = 0;
  json_t *j = callj(&e, "POST", path, NULL, NULL, MSG_BODY, &status);
  const char *err = json_string_value(json_object_get(j, "error"));
  snprintf(error, cap, "%s", err ? err : "");
  json_decref(j);
  *agent_calls = agent.received;
  responder_stop(&e, &agent);
  env_stop(&e);
  return status;
}

static void test_name_resolving_to_loopback(void **state) {
  (void)state;
  loop_name ln;
  if (!find_loopback_name(&ln))
    fail_msg("no host name on this machine resolves to a single loopback address (the host "
             "name, or a name in /etc/hosts such as ip6-localhost); this test needs one");
  print_message("agent URL host: %s (resolves to %s)\n", ln.name, ln.addr);
  int calls;
  char error[256];
  /* --dev allows loopback: the name reaches the agent */
  assert_int_equal(dispatch_by_name(&ln, 1, &calls, error, sizeof error), 200);
  assert_int_equal(calls, 1);
  /* without --dev the resolved address is refused and the agent never hears of it */
  assert_int_equal(dispatch_by_name(&ln, 0, &calls, error, sizeof error), 502);
  assert_string_equal(error, "workspace URL is not publicly routable");
  assert_int_equal(calls, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_name_resolving_to_loopback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
