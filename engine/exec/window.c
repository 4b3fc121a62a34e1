/* Maintenance windows (absolute not_before/not_after and weekly
 * "Sat 22:00-Sun 04:00" in a time zone) and the estimates that decide
 * whether a VM still fits before its window closes. */
#include "config.h"

#include <string.h>

#include "exec/exec.h"
#include "util/jsonread.h"

#define WEEK_MIN (7 * 24 * 60)

static gint64
parse_rfc3339_us(const char *s)
{
    g_autofree char *full = NULL;
    g_autoptr(GDateTime) dt = NULL;

    /* The loader accepted it; GLib wants seconds ("22:00Z" → "22:00:00Z"). */
    if (strlen(s) > 16 && s[16] != ':')
        full = g_strdup_printf("%.16s:00%s", s, s + 16);
    dt = g_date_time_new_from_iso8601(full != NULL ? full : s, NULL);
    return dt != NULL ? g_date_time_to_unix(dt) * G_USEC_PER_SEC + g_date_time_get_microsecond(dt) : 0;
}

static char *
format_us(gint64 us, GTimeZone *tz)
{
    g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc(us / G_USEC_PER_SEC);
    g_autoptr(GDateTime) local = NULL;

    if (utc == NULL)
        return g_strdup("?");
    if (tz == NULL)
        return g_date_time_format(utc, "%Y-%m-%dT%H:%M:%SZ");
    local = g_date_time_to_timezone(utc, tz);
    return g_date_time_format(local, "%Y-%m-%dT%H:%M:%S%:z");
}

/* The instant that is `minutes` of wall-clock time after the local time
 * `now` (at the start of its minute) in tz: the local fields move, the
 * offset is the one in force then, so a DST change in between does not
 * shift a window's ends by an hour. */
static gint64
local_after(GDateTime *now, GTimeZone *tz, unsigned minutes)
{
    g_autoptr(GDateTime) naive = g_date_time_new_utc(g_date_time_get_year(now),
                                                     g_date_time_get_month(now),
                                                     g_date_time_get_day_of_month(now),
                                                     g_date_time_get_hour(now),
                                                     g_date_time_get_minute(now), 0);
    g_autoptr(GDateTime) later = g_date_time_add_minutes(naive, (gint)minutes);
    g_autoptr(GDateTime) at = g_date_time_new(tz, g_date_time_get_year(later),
                                              g_date_time_get_month(later),
                                              g_date_time_get_day_of_month(later),
                                              g_date_time_get_hour(later),
                                              g_date_time_get_minute(later), 0);

    return g_date_time_to_unix(at) * G_USEC_PER_SEC;
}

/* The weekly window: is t inside, and when does it close / next open?
 * Days and times are the zone's wall clock. */
static bool
weekly_check(const struct manifest_wave *w, gint64 t_us, gint64 *end_us,
             char **why)
{
    g_autoptr(GTimeZone) tz = w->timezone != NULL ? g_time_zone_new_identifier(w->timezone)
                                                  : g_time_zone_new_utc();
    g_autoptr(GDateTime) utc = g_date_time_new_from_unix_utc(t_us / G_USEC_PER_SEC);
    g_autoptr(GDateTime) now = g_date_time_to_timezone(utc, tz);
    unsigned cur = (unsigned)((g_date_time_get_day_of_week(now) - 1) * 24 * 60 +
                              g_date_time_get_hour(now) * 60 +
                              g_date_time_get_minute(now));
    unsigned start = w->weekly_start, end = w->weekly_end;
    /* Wall-clock minutes from start to now and to end, around the week. */
    unsigned since = (cur + WEEK_MIN - start) % WEEK_MIN;
    unsigned len = (end + WEEK_MIN - start) % WEEK_MIN;

    if (since < len) {
        *end_us = local_after(now, tz, len - since);
        return true;
    }
    {
        gint64 opens = local_after(now, tz, WEEK_MIN - since);
        g_autofree char *at = format_us(opens, tz);
        *why = g_strdup_printf("weekly window %s%s%s opens next at %s", w->weekly,
                               w->timezone ? " " : "", w->timezone ? w->timezone : "", at);
    }
    return false;
}

bool
exec_window_check(const struct manifest_wave *w, gint64 t_us, gint64 *end_us,
                  char **why)
{
    gint64 end = G_MAXINT64;

    if (w->not_before != NULL) {
        gint64 nb = parse_rfc3339_us(w->not_before);
        if (t_us < nb) {
            *why = g_strdup_printf("it opens at %s", w->not_before);
            return false;
        }
    }
    if (w->not_after != NULL) {
        gint64 na = parse_rfc3339_us(w->not_after);
        if (t_us >= na) {
            *why = g_strdup_printf("it closed at %s", w->not_after);
            return false;
        }
        end = na;
    }
    if (w->weekly != NULL) {
        gint64 wend = G_MAXINT64;
        if (!weekly_check(w, t_us, &wend, why))
            return false;
        if (wend < end)
            end = wend;
    }
    *end_us = end;
    return true;
}

void
exec_measured_copies(struct state *st, double *bytes, double *seconds)
{
    g_autoptr(GPtrArray) rows = state_step_list(st, NULL);

    *bytes = 0;
    *seconds = 0;
    if (rows == NULL)
        return;
    for (guint i = 0; i < rows->len; i++) {
        const struct state_step_record *r = rows->pdata[i];
        double b, s;

        if (r->status != STATE_STEP_DONE)
            continue;
        step_copy_measured(r->kind, r->key, r->outputs, &b, &s);
        if (b > 0 && s > 0) {
            *bytes += b;
            *seconds += s;
        }
    }
}

uint64_t
exec_vm_remaining_bytes(const struct plan_vm *v)
{
    uint64_t left = 0;

    for (guint k = 0; k < v->steps->len; k++)
        left += step_copy_remaining(v->steps->pdata[k]);
    return left;
}
