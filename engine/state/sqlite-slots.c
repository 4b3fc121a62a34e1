/* Slots of work in flight for the SQLite backend: one process runs an
 * apply on a store (the apply lock), so the counts live in that process,
 * under the store's mutex, and die with it as the flock does. */
#include "config.h"

#include <string.h>

#include "state/sqlite-priv.h"
#include "util/error.h"

bool
sqlite_slot_acquire(struct state *base, const char *holder,
                    const struct state_slot *slots, size_t n, size_t *blocked,
                    GError **error)
{
    struct sqlite_state *st = sqlite_state_of(base);
    STATE_LOCKED(st);

    if (g_hash_table_contains(st->slot_holders, holder)) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: '%s' already holds slots of state '%s'",
                    holder, st->path);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned held = GPOINTER_TO_UINT(
            g_hash_table_lookup(st->slot_counts, slots[i].key));
        if (slots[i].limit > 0 && held >= slots[i].limit) {
            *blocked = i;
            return true;
        }
    }
    GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; i < n; i++) {
        unsigned held = GPOINTER_TO_UINT(
            g_hash_table_lookup(st->slot_counts, slots[i].key));
        g_hash_table_insert(st->slot_counts, g_strdup(slots[i].key),
                            GUINT_TO_POINTER(held + 1));
        g_ptr_array_add(keys, g_strdup(slots[i].key));
    }
    g_hash_table_insert(st->slot_holders, g_strdup(holder), keys);
    *blocked = n;
    return true;
}

bool
sqlite_slot_release(struct state *base, const char *holder, GError **error)
{
    struct sqlite_state *st = sqlite_state_of(base);
    STATE_LOCKED(st);
    GPtrArray *keys = g_hash_table_lookup(st->slot_holders, holder);

    if (keys == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                    "internal error: '%s' holds no slots of state '%s'",
                    holder, st->path);
        return false;
    }
    for (guint i = 0; i < keys->len; i++) {
        const char *key = keys->pdata[i];
        unsigned held = GPOINTER_TO_UINT(g_hash_table_lookup(st->slot_counts, key));
        if (held <= 1)
            g_hash_table_remove(st->slot_counts, key);
        else
            g_hash_table_insert(st->slot_counts, g_strdup(key),
                                GUINT_TO_POINTER(held - 1));
    }
    g_hash_table_remove(st->slot_holders, holder);
    return true;
}

unsigned
sqlite_slot_count(struct state *base, const char *key)
{
    struct sqlite_state *st = sqlite_state_of(base);
    STATE_LOCKED(st);
    return GPOINTER_TO_UINT(g_hash_table_lookup(st->slot_counts, key));
}
