/* A stop request: SIGINT/SIGTERM set a flag that every long loop polls
 * (copy loops, uploads, in-guest commands) to stop at its next
 * consistent point; a second signal exits at once with
 * CONVOY_EXIT_INTERRUPTED (the last checkpoint still holds).  Lives in
 * util/ so that any layer may poll it without depending on the executor. */
#pragma once

#include <stdbool.h>
#include <glib.h>

/* Install the SIGINT/SIGTERM handlers (the CLI, before an apply). */
void interrupt_install(void);
/* Has a stop been requested? */
bool interrupt_requested(void);
/* Fail with CONVOY_ERROR_INTERRUPTED ("interrupted by SIGINT") if a stop
 * was requested. */
bool interrupt_check(GError **error);
