/* Unit tests of engine/exec's maintenance windows: absolute windows, and
 * weekly ones in a time zone, across both DST changes of a year (the
 * window's ends are the zone's wall clock, not fixed offsets). */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "exec/exec.h"
#include "manifest/manifest.h"

#define DAY (24 * 60)

static gint64
at(const char *iso)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(iso, NULL);
    assert(dt != NULL);
    return g_date_time_to_unix(dt) * G_USEC_PER_SEC;
}

static char *
iso(gint64 us)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(us / G_USEC_PER_SEC);
    return g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
}

/* "Sat 22:00-Sun 04:00" in Europe/Paris. */
static struct manifest_wave
weekend(void)
{
    struct manifest_wave w = {0};
    w.name = (char *)"night";
    w.weekly = (char *)"Sat 22:00-Sun 04:00";
    w.weekly_start = 5 * DAY + 22 * 60;
    w.weekly_end = 6 * DAY + 4 * 60;
    w.timezone = (char *)"Europe/Paris";
    return w;
}

static int fails;

static void
expect_open(const struct manifest_wave *w, const char *now, const char *closes)
{
    gint64 end = 0;
    g_autofree char *why = NULL;
    g_autofree char *got = NULL;

    if (!exec_window_check(w, at(now), &end, &why)) {
        fprintf(stderr, "at %s: expected open, got closed (%s)\n", now, why);
        fails++;
        return;
    }
    got = end == G_MAXINT64 ? g_strdup("never") : iso(end);
    if (strcmp(got, closes) != 0) {
        fprintf(stderr, "at %s: closes at %s, expected %s\n", now, got, closes);
        fails++;
    }
}

static void
expect_closed(const struct manifest_wave *w, const char *now, const char *msg)
{
    gint64 end = 0;
    g_autofree char *why = NULL;

    if (exec_window_check(w, at(now), &end, &why)) {
        fprintf(stderr, "at %s: expected closed, got open\n", now);
        fails++;
        return;
    }
    if (strstr(why, msg) == NULL) {
        fprintf(stderr, "at %s: '%s' does not say '%s'\n", now, why, msg);
        fails++;
    }
}

int
main(void)
{
    struct manifest_wave w = weekend();
    struct manifest_wave abs = {0};

    /* An ordinary weekend: CET, UTC+1. */
    expect_open(&w, "2026-12-05T21:00:00Z", "2026-12-06T03:00:00Z");
    expect_closed(&w, "2026-12-05T20:59:00Z", "opens next at 2026-12-05T22:00:00+01:00");
    expect_closed(&w, "2026-12-06T03:00:00Z", "opens next at 2026-12-12T22:00:00+01:00");
    /* Autumn: clocks go back at 03:00 CEST on Sunday 2026-10-25; the
     * window opens at 22:00 CEST (20:00Z) and closes at 04:00 CET (03:00Z),
     * seven hours later. */
    expect_open(&w, "2026-10-24T21:00:00Z", "2026-10-25T03:00:00Z");
    expect_open(&w, "2026-10-25T02:30:00Z", "2026-10-25T03:00:00Z");
    expect_closed(&w, "2026-10-24T12:00:00Z", "opens next at 2026-10-24T22:00:00+02:00");
    /* before the change, the next opening is after it */
    expect_closed(&w, "2026-10-18T03:00:00Z", "opens next at 2026-10-24T22:00:00+02:00");
    expect_closed(&w, "2026-10-25T03:00:00Z", "opens next at 2026-10-31T22:00:00+01:00");
    /* Spring: clocks go forward at 02:00 CET on Sunday 2026-03-29; the
     * window opens at 22:00 CET (21:00Z) and closes at 04:00 CEST (02:00Z),
     * five hours later. */
    expect_open(&w, "2026-03-28T22:00:00Z", "2026-03-29T02:00:00Z");
    expect_open(&w, "2026-03-29T01:30:00Z", "2026-03-29T02:00:00Z");
    expect_closed(&w, "2026-03-29T02:00:00Z", "opens next at 2026-04-04T22:00:00+02:00");
    expect_closed(&w, "2026-03-22T03:00:00Z", "opens next at 2026-03-28T22:00:00+01:00");

    /* A window that wraps the week (Sun 22:00-Mon 02:00), in UTC. */
    struct manifest_wave wrap = {0};
    wrap.name = (char *)"wrap";
    wrap.weekly = (char *)"Sun 22:00-Mon 02:00";
    wrap.weekly_start = 6 * DAY + 22 * 60;
    wrap.weekly_end = 2 * 60;
    expect_open(&wrap, "2026-12-06T23:00:00Z", "2026-12-07T02:00:00Z");
    expect_open(&wrap, "2026-12-07T01:59:00Z", "2026-12-07T02:00:00Z");
    expect_closed(&wrap, "2026-12-07T02:00:00Z", "opens next at 2026-12-13T22:00:00+00:00");

    /* Absolute windows; together with a weekly one, the earlier end wins. */
    abs.name = (char *)"abs";
    abs.not_before = (char *)"2026-12-05T22:00:00Z";
    abs.not_after = (char *)"2026-12-06T02:00Z";
    expect_closed(&abs, "2026-12-05T21:59:59Z", "it opens at 2026-12-05T22:00:00Z");
    expect_open(&abs, "2026-12-05T22:00:00Z", "2026-12-06T02:00:00Z");
    expect_closed(&abs, "2026-12-06T02:00:00Z", "it closed at 2026-12-06T02:00Z");
    abs.weekly = w.weekly;
    abs.weekly_start = w.weekly_start;
    abs.weekly_end = w.weekly_end;
    abs.timezone = w.timezone;
    abs.not_after = (char *)"2026-12-06T05:00:00Z";
    expect_open(&abs, "2026-12-05T23:00:00Z", "2026-12-06T03:00:00Z");

    /* No window at all: open, never closes. */
    struct manifest_wave none = {0};
    none.name = (char *)"none";
    expect_open(&none, "2026-12-05T23:00:00Z", "never");

    fprintf(stderr, "%s\n", fails == 0 ? "ok" : "FAILED");
    return fails == 0 ? 0 : 1;
}
