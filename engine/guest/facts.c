/* facts: the inspection facts' names, conditions on them, ${FACT}
 * expansion and their JSON/text forms. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "guest/guest-priv.h"
#include "util/json.h"

const char *const guest_fact_names[] = {
    "os",          "distro",        "major",         "minor",     "product",
    "package_format", "package_management", "init",  "root_device", "root_uuid",
    "root_fstype", "boot_disk",     "boot_dev",      "partitioned", "boot_sector",
    "bootloader",  "needs_bootloader", "direct_boot", "kernels",   "kernel",
    "xen_kernels_only", "has_xen_kernel", "encrypted_root", "initrd", "initrd_drivers",
    "initrd_missing", "initrd_xen_only", "needs_initrd", "initrd_decision",
    "needs_boot_config", "boot_decision", NULL,
};

/* Facts whose values are booleans or numbers in JSON. */
static const char *const bool_facts[] = {
    "partitioned", "boot_sector", "needs_bootloader", "direct_boot",
    "xen_kernels_only", "has_xen_kernel", "encrypted_root", "initrd_xen_only", "needs_initrd",
    "needs_boot_config", NULL,
};

static bool
in(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(list[i], s) == 0)
            return true;
    }
    return false;
}

bool
guest_fact_known(const char *name)
{
    return in(guest_fact_names, name);
}

static bool
cond_holds(const struct guest_cond *c, GHashTable *facts)
{
    const char *have = g_hash_table_lookup(facts, c->fact);

    if (c->values != NULL) {
        for (guint i = 0; i < c->values->len; i++) {
            if (g_strcmp0(have, c->values->pdata[i]) == 0)
                return true;
        }
        return false;
    }
    if (have == NULL || *have == '\0')
        return false;
    long v = strtol(have, NULL, 10);
    if (strcmp(c->op, ">=") == 0)
        return v >= c->number;
    if (strcmp(c->op, ">") == 0)
        return v > c->number;
    if (strcmp(c->op, "<=") == 0)
        return v <= c->number;
    if (strcmp(c->op, "<") == 0)
        return v < c->number;
    return v != c->number;
}

bool
guest_when_holds(const struct guest_when *w, GHashTable *facts,
                 bool (*exists)(const char *path, void *opaque), void *opaque)
{
    for (guint i = 0; i < w->conds->len; i++) {
        if (!cond_holds(w->conds->pdata[i], facts))
            return false;
    }
    if (exists == NULL)
        return w->exists->len == 0 && w->missing->len == 0;
    for (guint i = 0; i < w->exists->len; i++) {
        if (!exists(w->exists->pdata[i], opaque))
            return false;
    }
    for (guint i = 0; i < w->missing->len; i++) {
        if (exists(w->missing->pdata[i], opaque))
            return false;
    }
    return true;
}

char *
guest_expand(const char *text, GHashTable *facts)
{
    GString *out = g_string_new(NULL);
    const char *p = text;
    const char *s;

    while ((s = strstr(p, "${")) != NULL) {
        const char *end = strchr(s + 2, '}');
        g_autofree char *name = NULL;
        const char *v;

        if (end == NULL)
            break;
        g_string_append_len(out, p, s - p);
        name = g_strndup(s + 2, (gsize)(end - s - 2));
        v = g_hash_table_lookup(facts, name);
        g_string_append(out, v != NULL ? v : "");
        p = end + 1;
    }
    g_string_append(out, p);
    return g_string_free(out, FALSE);
}

static int
cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static GPtrArray *
sorted_keys(GHashTable *facts)
{
    GPtrArray *keys = g_ptr_array_new();
    GHashTableIter it;
    gpointer k;

    g_hash_table_iter_init(&it, facts);
    while (g_hash_table_iter_next(&it, &k, NULL))
        g_ptr_array_add(keys, k);
    g_ptr_array_sort(keys, cmp_str);
    return keys;
}

char *
guest_facts_json(GHashTable *facts)
{
    g_autoptr(GPtrArray) keys = sorted_keys(facts);
    struct json j;
    char *text;

    json_init(&j, false);
    json_begin_object(&j);
    for (guint i = 0; i < keys->len; i++) {
        const char *k = keys->pdata[i];
        const char *v = g_hash_table_lookup(facts, k);

        if (in(bool_facts, k))
            json_kv_bool(&j, k, g_strcmp0(v, "true") == 0);
        else if ((strcmp(k, "major") == 0 || strcmp(k, "minor") == 0) && v != NULL &&
                 *v != '\0' && strspn(v, "0123456789") == strlen(v))
            json_kv_uint(&j, k, g_ascii_strtoull(v, NULL, 10));
        else
            json_kv_string(&j, k, v);
    }
    json_end_object(&j);
    text = json_steal(&j);
    json_release(&j);
    return text;
}

char *
guest_facts_text(GHashTable *facts)
{
    g_autoptr(GPtrArray) keys = sorted_keys(facts);
    GString *out = g_string_new(NULL);

    for (guint i = 0; i < keys->len; i++)
        g_string_append_printf(out, "%s: %s\n", (const char *)keys->pdata[i],
                               (const char *)g_hash_table_lookup(facts, keys->pdata[i]));
    return g_string_free(out, FALSE);
}

/* "debian 12, root /dev/sda1 (partitioned), kernel 6.1.0-13-amd64, boot
 * bootloader install" */
char *
guest_facts_summary(GHashTable *f)
{
    const char *boot = g_strcmp0(g_hash_table_lookup(f, "direct_boot"), "true") == 0
                           ? "direct kernel"
                       : g_strcmp0(g_hash_table_lookup(f, "needs_bootloader"), "true") == 0
                           ? "install the guest's bootloader"
                           : "from the disk";
    const char *kernel = g_hash_table_lookup(f, "kernel");
    const char *initrd = g_hash_table_lookup(f, "initrd_decision");
    const char *bootcfg = g_hash_table_lookup(f, "boot_decision");

    return g_strdup_printf("%s %s, root %s (%s), kernel %s, boot %s%s%s%s%s",
                           (const char *)g_hash_table_lookup(f, "distro"),
                           (const char *)g_hash_table_lookup(f, "major"),
                           (const char *)g_hash_table_lookup(f, "root_device"),
                           g_strcmp0(g_hash_table_lookup(f, "partitioned"), "true") == 0
                               ? "partitioned"
                               : "whole disk",
                           kernel != NULL && *kernel ? kernel : "none for KVM", boot,
                           initrd != NULL ? "; " : "", initrd != NULL ? initrd : "",
                           bootcfg != NULL ? "; " : "", bootcfg != NULL ? bootcfg : "");
}
