/* Maintenance windows (absolute not_before/not_after and weekly
 * "Sat 22:00-Sun 04:00" in a time zone) and the estimates that decide
 * whether a VM still fits before its window closes. */
#include "config.h"

#include <string.h>

#include "exec/exec.h"
#include "util/jsonread.h"
#include "util/size.h"

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

/* Average seconds of the done steps of the slow kinds (those with
 * default_seconds), from their last begin → done in the event log. */
static GHashTable *
measured_step_seconds(struct state *st)
{
    GHashTable *avg = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_autoptr(GHashTable) kind_of = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) begun = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_autoptr(GHashTable) took = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_autoptr(GPtrArray) rows = state_step_list(st, NULL);
    g_autoptr(GPtrArray) events = NULL;
    g_autoptr(GHashTable) sums = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    GHashTableIter it;
    gpointer k, v;

    for (guint i = 0; rows != NULL && i < rows->len; i++) {
        const struct state_step_record *r = rows->pdata[i];
        const struct step_ops *ops = step_ops_find(r->kind);

        if (r->status == STATE_STEP_DONE && ops != NULL && ops->default_seconds > 0)
            g_hash_table_insert(kind_of, g_strdup(r->key), (gpointer)ops->name);
    }
    if (g_hash_table_size(kind_of) == 0)
        return avg;
    events = state_event_list(st, 0, NULL);
    for (guint i = 0; events != NULL && i < events->len; i++) {
        const struct state_event_record *e = events->pdata[i];

        if (e->step_key == NULL || !g_hash_table_contains(kind_of, e->step_key))
            continue;
        if (strcmp(e->kind, "begin") == 0 || strcmp(e->kind, "resume") == 0) {
            g_hash_table_insert(begun, g_strdup(e->step_key), g_memdup2(&e->time, sizeof e->time));
        } else if (strcmp(e->kind, "done") == 0) {
            const double *t0 = g_hash_table_lookup(begun, e->step_key);
            if (t0 != NULL && e->time >= *t0) {
                double d = e->time - *t0;
                g_hash_table_insert(took, g_strdup(e->step_key), g_memdup2(&d, sizeof d));
            }
        }
    }
    /* kind → {sum, n} */
    g_hash_table_iter_init(&it, took);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const char *kind = g_hash_table_lookup(kind_of, k);
        double *sn = g_hash_table_lookup(sums, kind);
        if (sn == NULL) {
            sn = g_new0(double, 2);
            g_hash_table_insert(sums, (gpointer)kind, sn);
        }
        sn[0] += *(const double *)v;
        sn[1] += 1;
    }
    g_hash_table_iter_init(&it, sums);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const double *sn = v;
        double a = sn[0] / sn[1];
        g_hash_table_insert(avg, g_strdup(k), g_memdup2(&a, sizeof a));
    }
    return avg;
}

void
exec_rates_init(struct exec_rates *r, struct state *st)
{
    const char *env = g_getenv("CONVOY_COPY_RATE");
    uint64_t fixed = 0;
    double bytes = 0, seconds = 0;

    r->copy_rate = EXEC_DEFAULT_COPY_RATE;
    r->copy_source = "default";
    exec_measured_copies(st, &bytes, &seconds);
    if (env != NULL && size_parse(env, &fixed) && fixed > 0) {
        r->copy_rate = (double)fixed;
        r->copy_source = "CONVOY_COPY_RATE";
    } else if (bytes > 0 && seconds > 0) {
        r->copy_rate = bytes / seconds;
        r->copy_source = "measured";
    }
    r->step_seconds = measured_step_seconds(st);
}

void
exec_rates_release(struct exec_rates *r)
{
    g_clear_pointer(&r->step_seconds, g_hash_table_unref);
}

double
exec_rates_step_seconds(const struct exec_rates *r, const struct plan_step *s,
                        bool *measured)
{
    double t = 0;

    if (measured != NULL)
        *measured = false;
    if (s->action == PLAN_ACTION_DONE || s->action == PLAN_ACTION_BLOCKED)
        return 0;
    if (s->ops->copy_size != NULL && r->copy_rate > 0)
        t += (double)step_copy_to_read(s) / r->copy_rate;
    if (s->ops->default_seconds > 0) {
        const double *avg = r->step_seconds != NULL
            ? g_hash_table_lookup(r->step_seconds, s->ops->name) : NULL;
        if (avg != NULL && measured != NULL)
            *measured = true;
        t += avg != NULL ? *avg : (double)s->ops->default_seconds;
    }
    return t;
}

void
exec_plan_estimate(struct plan *p, struct state *st, GDateTime *now,
                   bool ignore_window)
{
    struct exec_rates rates;
    gint64 now_us = now != NULL ? g_date_time_to_unix(now) * G_USEC_PER_SEC
                                : g_get_real_time();

    exec_rates_init(&rates, st);
    for (guint i = 0; p->waves != NULL && i < p->waves->len; i++) {
        struct plan_wave *pw = p->waves->pdata[i];
        const struct manifest_wave *w = pw->w;
        gint64 end = G_MAXINT64;
        g_autofree char *why = NULL;

        g_clear_pointer(&pw->window_when, g_free);
        if (w->not_before == NULL && w->not_after == NULL && w->weekly == NULL) {
            pw->window = PLAN_WINDOW_NONE;
        } else if (ignore_window) {
            pw->window = PLAN_WINDOW_IGNORED;
        } else if (exec_window_check(w, now_us, &end, &why)) {
            pw->window = PLAN_WINDOW_OPEN;
            if (end != G_MAXINT64) {
                pw->window_when = format_us(end, NULL);
                pw->window_left = (double)(end - now_us) / G_USEC_PER_SEC;
            }
        } else {
            pw->window = PLAN_WINDOW_CLOSED;
            pw->window_when = g_steal_pointer(&why);
        }
        pw->rate = rates.copy_rate;
        pw->rate_source = rates.copy_source;
        pw->copy_seconds = (double)pw->bytes / rates.copy_rate;
        pw->slow_seconds = 0;
        pw->slow_measured = false;
        for (guint k = 0; k < p->vms->len; k++) {
            const struct plan_vm *v = p->vms->pdata[k];

            if (v->mvm->wave != w || v->steps == NULL)
                continue;
            for (guint x = 0; x < v->steps->len; x++) {
                const struct plan_step *s = v->steps->pdata[x];
                bool measured = false;

                if (s->ops->copy_size != NULL || s->ops->default_seconds == 0)
                    continue;
                pw->slow_seconds += exec_rates_step_seconds(&rates, s, &measured);
                pw->slow_measured = pw->slow_measured || measured;
            }
        }
        pw->seconds = pw->copy_seconds + pw->slow_seconds;
    }
    exec_rates_release(&rates);
}
