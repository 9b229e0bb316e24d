/* setup.h - an agent's setup pipeline (upstream's _common_setup), for an agent with a config
 * dir: what it reads from the dir at start, and what it asks the platform once registered.
 *
 * At start (in the thread pool, before the agent serves: its files are read and written
 * with blocking calls, up to 1 MiB a text and 16 MiB a copied file): config.yaml; the plugins of
 * <config_dir>/plugins, then of $PLUGINS_DIR (a plugin directory name seen first wins), each
 * installed the Agentskills way (setup_install.c); the skills config.yaml names, then every
 * skill the plugins ship (<plugin>/skills/<id>/SKILL.md), de-duplicated by id; the prompt and
 * memory files. Once registered: the platform's instructions, the parent's shared context,
 * the peers and, among them, the children (this workspace is their parent: coordinator mode).
 * The system prompt (prompt.h) is built from all of it and handed to the chat executor, first
 * from what the dir holds, then again with what the platform said, and again whenever the
 * peers change (read on the heartbeat's cadence). Coordinator mode adds route_task_to_team to
 * the tools the chat executor offers. All of it is docs/runtime.md, "Setup pipeline". */
#ifndef MOL_RUNTIME_SETUP_H
#define MOL_RUNTIME_SETUP_H

#include <stddef.h>

#include "a2a/card.h"
#include "runtime/plugins.h"

typedef struct mol_agent mol_agent;

/* Called on the loop once the config dir has been read: err 0 (the agent has its setup
 * state, unless it is ending) or the error that ends the start. */
typedef void (*mol_agent__setup_loaded_cb)(mol_agent *a, int err);
/* Reads the config dir dir in the thread pool (one work item, holding the agent until it has
 * ended): config.yaml, the plugins and their install, the skills, the prompt and memory
 * files. loaded fires exactly once, on the loop, never inside this call; an agent that began
 * ending meanwhile gets loaded all the same (and no setup state). Returns 0, or an error and
 * loaded never fires. Errors reaching loaded: a config.yaml that cannot be read, out of
 * memory; warnings are logged. */
int mol_agent__setup_start(mol_agent *a, const char *dir, mol_agent__setup_loaded_cb loaded);
/* The card's skills: the loaded ones (n 0 when none; the card then keeps its default). Valid
 * until the agent is freed. */
const mol_a2a_skill *mol_agent__setup_card_skills(const mol_agent *a, size_t *n);
/* The executor exists: give it the prompt built so far, and the tools. */
void mol_agent__setup_executor(mol_agent *a);
/* A hermes agent's chat-completions fallback (agent_health.c) was just made: it gets the
 * prompt built so far, and every rebuild from now on, as a chat agent's executor does. */
void mol_agent__setup_fallback(mol_agent *a);
/* Registered: ask the platform (instructions, parent context, peers), then rebuild. */
void mol_agent__setup_registered(mol_agent *a);
/* Before every heartbeat: read the peers again when no read is in flight; a change rebuilds
 * the prompt. */
void mol_agent__setup_beat(mol_agent *a);
void mol_agent__setup_free(mol_agent *a);

/* ---- setup_install.c ---- */
/* The Agentskills install of every plugin into config_dir: rules and root fragments as
 * content-hashed blocks of <config_dir>/CLAUDE.md (one per file, replaced when it changes,
 * never doubled), skills/<id> copied to <config_dir>/skills/<id> unless present, the files
 * of hooks/ to .claude/hooks/, the .md files of commands/ to .claude/commands/,
 * settings-fragment.json deep-merged into .claude/settings.json. Blocking. Problems are logged and skipped (a plugin never stops the
 * agent); returns the number of problems. */
int mol_agent__plugins_install(const char *config_dir, const mol_plugins *p);

#endif
