/* Unit tests of the time limit of in-guest commands: the rule's timeout
 * or the session's default, four times longer when the appliance runs
 * under TCG, and the text that says which in messages. */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "guest/guest-priv.h"

struct timeout_case {
    unsigned rule;
    unsigned session;
    bool tcg;
    unsigned seconds;
    const char *text;
};

static const struct timeout_case cases[] = {
    {0, 600, false, 600, "600 s"},
    {0, 600, true, 2400, "2400 s: 600 s ×4 under TCG"},
    {30, 600, false, 30, "30 s"},
    {30, 600, true, 120, "120 s: 30 s ×4 under TCG"},
    {0, 0, false, 600, "600 s"},
    {0, 0, true, 2400, "2400 s: 600 s ×4 under TCG"},
    {4000000000u, 600, true, G_MAXUINT, "4294967295 s: 4000000000 s ×4 under TCG"},
    {0, 0, false, 0, NULL},
};

int
main(void)
{
    for (const struct timeout_case *c = cases; c->text != NULL; c++) {
        struct guest_timeout t = guest_command_timeout(c->rule, c->session, c->tcg);
        g_autofree char *text = guest_timeout_describe(&t);

        if (t.seconds != c->seconds || t.tcg != c->tcg || strcmp(text, c->text) != 0) {
            fprintf(stderr, "rule %u session %u tcg %d: got %u '%s', expected %u '%s'\n",
                    c->rule, c->session, c->tcg, t.seconds, text, c->seconds, c->text);
            return 1;
        }
    }
    fprintf(stderr, "ok\n");
    return 0;
}
