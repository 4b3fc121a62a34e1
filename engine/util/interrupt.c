/* Signals: SIGINT/SIGTERM ask the run to stop at the next consistent
 * point; a second signal exits at once (the last checkpoint still holds). */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "util/interrupt.h"

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
    if (interrupted)
        _exit(CONVOY_EXIT_INTERRUPTED);
    interrupted = sig;
}

void
interrupt_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool
interrupt_requested(void)
{
    return interrupted != 0;
}

bool
interrupt_check(GError **error)
{
    if (!interrupted)
        return true;
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERRUPTED,
                "interrupted by %s", interrupted == SIGINT ? "SIGINT" : "SIGTERM");
    return false;
}
