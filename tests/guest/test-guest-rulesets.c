/* The shipped guest rule sets without an appliance: they load, carry the
 * metadata the format asks for, and select themselves (and their
 * refusals) by the facts of each family. */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "guest/guest-priv.h"

struct family {
    const char *distro;
    const char *major;
    const char *sets;       /* the sets that match, in order */
};

static const struct family families[] = {
    {"debian", "12", "linux-common linux-debian"},
    {"ubuntu", "22", "linux-common linux-debian"},
    {"centos", "7", "linux-common linux-rhel"},
    {"rhel", "8", "linux-common linux-rhel"},
    {"oraclelinux", "9", "linux-common linux-rhel"},
    {"fedora", "39", "linux-common linux-rhel"},
    {"sles", "12", "linux-common linux-suse"},
    {"opensuse", "15", "linux-common linux-suse"},
    {"archlinux", "0", "linux-common"},
    {NULL, NULL, NULL},
};

/* Which package a Xen-only guest of each distribution is told to add. */
static const struct {
    const char *distro;
    const char *package;
} refusals[] = {
    {"sles", "install the kernel-default package"},
    {"opensuse", "install the kernel-default package"},
    {"rhel", "install the kernel package"},
    {"centos", "install the kernel package"},
    {"debian", "install the linux-image-amd64 package"},
    {"ubuntu", "install the linux-image-generic package"},
    {NULL, NULL},
};

static GHashTable *
facts_for(const char *distro, const char *major, bool xen_only)
{
    GHashTable *f = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);

    g_hash_table_insert(f, (char *)"os", g_strdup("linux"));
    g_hash_table_insert(f, (char *)"distro", g_strdup(distro));
    g_hash_table_insert(f, (char *)"major", g_strdup(major));
    g_hash_table_insert(f, (char *)"xen_kernels_only", g_strdup(xen_only ? "true" : "false"));
    g_hash_table_insert(f, (char *)"kernels", g_strdup("3.0.101-63-xen"));
    return f;
}

static bool
no_paths(const char *path, void *opaque)
{
    return false;
}

int
main(void)
{
    const char *dirs[] = {ABS_TOP_SRCDIR "/rules/guest", NULL};
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) sets = guest_rule_sets_load_all(dirs, &err);
    unsigned checks = 0;

    if (sets == NULL) {
        fprintf(stderr, "%s\n", err->message);
        return 1;
    }
    assert(sets->len == 4);
    for (guint i = 0; i < sets->len; i++) {
        const struct guest_rule_set *rs = sets->pdata[i];
        g_autofree char *base = g_path_get_basename(rs->path);
        g_autofree char *want = g_strdup_printf("%s.yaml", rs->name);

        assert(strcmp(base, want) == 0);
        assert(rs->version == 1);
        assert(rs->description != NULL && *rs->description != '\0');
        assert(rs->when.conds->len > 0);
        for (guint k = 0; k < rs->rules->len; k++) {
            const struct guest_rule *r = rs->rules->pdata[k];
            if (r->description == NULL || *r->description == '\0') {
                fprintf(stderr, "%s: rule '%s' has no description\n", rs->path, r->id);
                return 1;
            }
        }
        checks++;
    }

    for (const struct family *f = families; f->distro != NULL; f++) {
        g_autoptr(GHashTable) facts = facts_for(f->distro, f->major, false);
        g_autoptr(GString) got = g_string_new(NULL);

        for (guint i = 0; i < sets->len; i++) {
            if (guest_rule_set_matches(sets->pdata[i], facts))
                g_string_append_printf(got, "%s%s", got->len ? " " : "",
                                       guest_rule_set_name(sets->pdata[i]));
        }
        if (strcmp(got->str, f->sets) != 0) {
            fprintf(stderr, "%s %s: sets '%s', expected '%s'\n", f->distro, f->major, got->str,
                    f->sets);
            return 1;
        }
        checks++;
    }

    /* The first rule of linux-common that holds for a Xen-only guest is
     * its refusal, naming the package; a guest with a normal kernel
     * meets no refusal. */
    for (size_t n = 0; refusals[n].distro != NULL; n++) {
        const struct guest_rule_set *common = sets->pdata[0];
        g_autoptr(GHashTable) xen = facts_for(refusals[n].distro, "11", true);
        g_autoptr(GHashTable) ok = facts_for(refusals[n].distro, "11", false);
        const struct guest_rule *first = NULL;

        assert(strcmp(common->name, "linux-common") == 0);
        for (guint k = 0; k < common->rules->len && first == NULL; k++) {
            const struct guest_rule *r = common->rules->pdata[k];
            if (guest_when_holds(&r->when, xen, no_paths, NULL))
                first = r;
            if (r->op == GUEST_OP_REFUSE)
                assert(!guest_when_holds(&r->when, ok, no_paths, NULL));
        }
        assert(first != NULL && first->op == GUEST_OP_REFUSE);
        g_autofree char *msg = guest_expand(first->message, xen);
        if (strstr(msg, refusals[n].package) == NULL || strstr(msg, "3.0.101-63-xen") == NULL) {
            fprintf(stderr, "%s: refusal '%s' does not say '%s'\n", refusals[n].distro, msg,
                    refusals[n].package);
            return 1;
        }
        checks++;
    }
    printf("%u passed, 0 failed\n", checks);
    return 0;
}
