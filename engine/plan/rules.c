/* The rule sets of each VM: the domain rule sets its rules: names and the
 * guest rule sets of guest-fixup, found on the rules search path, loaded
 * once per plan and cached in struct plan_eval. */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "convert/convert.h"
#include "guest/guest.h"
#include "plan/plan.h"
#include "plan/plan-priv.h"
#include "util/error.h"
#include "util/rulefile.h"

/* The directories searched for rule set NAME.yaml of one kind
 * ("domain" or "guest"), most specific first.  New NULL-terminated. */
char **
plan_rules_dirs(const struct manifest *m, const char *kind)
{
    return rulefile_search_path(m->base_dir, kind);
}

static bool
rule_exists_in(char **dirs, const char *name)
{
    for (size_t i = 0; dirs[i] != NULL; i++) {
        g_autofree char *base = g_strdup_printf("%s.yaml", name);
        g_autofree char *path = g_build_filename(dirs[i], base, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
            return true;
    }
    return false;
}

/* Load (once) the domain rule sets a VM names.  Guest rule sets are not
 * applied here: their names go to guest (borrowed), for a warning; a name
 * that is neither is an error. */
bool
plan_vm_rule_sets(struct plan *p, struct plan_eval *ev, const struct manifest_vm *mvm,
             GPtrArray *out, GPtrArray *guest, GError **error)
{
    for (guint i = 0; i < mvm->rules->len; i++) {
        const char *name = mvm->rules->pdata[i];
        struct rule_set *rs = g_hash_table_lookup(ev->rule_sets, name);

        if (rs == NULL) {
            if (!rule_exists_in(ev->domain_dirs, name)) {
                if (rule_exists_in(ev->guest_dirs, name)) {
                    g_ptr_array_add(guest, (gpointer)name);
                    continue;
                }
                g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INVALID,
                            "%s:%u:%u: error: rule set '%s' not found (looked in %s/rules/domain, %s and the shipped rules)",
                            mvm->loc.file, mvm->loc.line, mvm->loc.col, name,
                            p->m->base_dir,
                            g_getenv("CONVOY_RULESDIR") ? g_getenv("CONVOY_RULESDIR")
                                                        : "$CONVOY_RULESDIR");
                return false;
            }
            rs = rule_set_load_named(name, (const char *const *)ev->domain_dirs,
                                     error);
            if (rs == NULL)
                return false;
            g_hash_table_insert(ev->rule_sets, g_strdup(name), rs);
        }
        g_ptr_array_add(out, rs);
    }
    return true;
}

bool
plan_check_rules(const struct manifest *m, GPtrArray *errors)
{
    g_auto(GStrv) domain_dirs = plan_rules_dirs(m, "domain");
    g_auto(GStrv) guest_dirs = plan_rules_dirs(m, "guest");
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    guint before = errors->len;

    for (guint i = 0; i < m->vms->len; i++) {
        const struct manifest_vm *mvm = m->vms->pdata[i];
        g_autoptr(GPtrArray) names = g_ptr_array_new();

        for (guint k = 0; k < mvm->rules->len; k++)
            g_ptr_array_add(names, mvm->rules->pdata[k]);
        for (guint k = 0; mvm->guest.rules != NULL && k < mvm->guest.rules->len; k++)
            if (strcmp(mvm->guest.rules->pdata[k], "auto") != 0)
                g_ptr_array_add(names, mvm->guest.rules->pdata[k]);
        for (guint k = 0; k < names->len; k++) {
            const char *name = names->pdata[k];
            g_autoptr(GError) err = NULL;

            if (g_hash_table_contains(seen, name))
                continue;
            g_hash_table_add(seen, g_strdup(name));
            if (rule_exists_in(domain_dirs, name)) {
                g_autoptr(rule_set) rs = rule_set_load_named(name, (const char *const *)domain_dirs, &err);
                if (rs == NULL)
                    g_ptr_array_add(errors, g_strdup(err->message));
            } else if (rule_exists_in(guest_dirs, name)) {
                g_autoptr(guest_rule_set) rs = guest_rule_set_load_named(name, (const char *const *)guest_dirs, &err);
                if (rs == NULL)
                    g_ptr_array_add(errors, g_strdup(err->message));
            } else {
                g_ptr_array_add(errors,
                                g_strdup_printf("%s:%u:%u: error: rule set '%s' not found (looked in %s/rules/domain and rules/guest, $CONVOY_RULESDIR and the shipped rules)",
                                                mvm->loc.file, mvm->loc.line, mvm->loc.col, name,
                                                m->base_dir));
            }
        }
    }
    return errors->len == before;
}

/* One guest rule set by name, loaded once per plan. */
static struct guest_rule_set *
guest_set_named(struct plan *p, struct plan_eval *ev, const char *name, GError **error)
{
    struct guest_rule_set *rs = g_hash_table_lookup(p->guest_sets, name);

    if (rs == NULL) {
        rs = guest_rule_set_load_named(name, (const char *const *)ev->guest_dirs, error);
        if (rs != NULL)
            g_hash_table_insert(p->guest_sets, g_strdup(name), rs);
    }
    return rs;
}

/* The candidate guest rule sets of a VM with guest: {fixup: true}: its
 * guest: {rules} ("auto": every set found) and the guest sets named in
 * rules:.  CONVOY_ERROR_INVALID for a set that is missing or invalid. */
bool
plan_vm_guest_sets(struct plan *p, struct plan_eval *ev, struct plan_vm *v, GError **error)
{
    const struct manifest_vm *mvm = v->mvm;

    if (!mvm->guest.fixup)
        return true;
    v->guest_sets = g_ptr_array_new();
    for (guint i = 0; i < mvm->guest.rules->len; i++) {
        const char *name = mvm->guest.rules->pdata[i];

        if (strcmp(name, "auto") == 0) {
            if (p->guest_all == NULL) {
                g_autoptr(GPtrArray) all =
                    guest_rule_sets_load_all((const char *const *)ev->guest_dirs, error);
                if (all == NULL)
                    return false;
                p->guest_all = g_ptr_array_new();
                for (guint k = 0; k < all->len; k++) {
                    struct guest_rule_set *rs = all->pdata[k];
                    const char *n = guest_rule_set_name(rs);
                    struct guest_rule_set *have = g_hash_table_lookup(p->guest_sets, n);
                    if (have == NULL) {
                        have = g_ptr_array_steal_index(all, k--);
                        g_hash_table_insert(p->guest_sets, g_strdup(n), have);
                    }
                    g_ptr_array_add(p->guest_all, have);
                }
            }
            for (guint k = 0; k < p->guest_all->len; k++)
                if (!g_ptr_array_find(v->guest_sets, p->guest_all->pdata[k], NULL))
                    g_ptr_array_add(v->guest_sets, p->guest_all->pdata[k]);
            continue;
        }
        struct guest_rule_set *rs = guest_set_named(p, ev, name, error);
        if (rs == NULL) {
            g_prefix_error(error, "%s:%u:%u: vm '%s': guest: ", mvm->loc.file, mvm->loc.line,
                           mvm->loc.col, mvm->name);
            return false;
        }
        if (!g_ptr_array_find(v->guest_sets, rs, NULL))
            g_ptr_array_add(v->guest_sets, rs);
    }
    for (guint i = 0; v->guest_names != NULL && i < v->guest_names->len; i++) {
        struct guest_rule_set *rs = guest_set_named(p, ev, v->guest_names->pdata[i], error);
        if (rs == NULL)
            return false;
        if (!g_ptr_array_find(v->guest_sets, rs, NULL))
            g_ptr_array_add(v->guest_sets, rs);
    }
    return true;
}

/* The OS family an OS hint names, as the guest facts' os says it; NULL
 * when the hint does not tell (most Linux hints name only a distro). */
static const char *
hint_os(const char *hint)
{
    g_autofree char *low = g_ascii_strdown(hint, -1);

    if (strstr(low, "windows") != NULL)
        return "windows";
    if (strstr(low, "freebsd") != NULL)
        return "freebsd";
    if (strstr(low, "netbsd") != NULL)
        return "netbsd";
    if (strstr(low, "openbsd") != NULL)
        return "openbsd";
    if (strstr(low, "solaris") != NULL)
        return "solaris";
    return NULL;
}

bool
plan_vm_guest_auto(struct plan_vm *v, GPtrArray *warnings, GError **error)
{
    const char *os;

    if (v->guest_sets == NULL || !v->mvm->guest.fixup_auto || v->sv == NULL)
        return true;
    /* A KVM domain read from a libvirt host needs no Xen repair. */
    if (v->sv->domain_xml == NULL || (strstr(v->sv->domain_xml, "<domain type='xen'") == NULL &&
                                      strstr(v->sv->domain_xml, "<domain type=\"xen\"") == NULL)) {
        g_clear_pointer(&v->guest_sets, g_ptr_array_unref);
        return true;
    }
    os = v->sv->os_hint != NULL ? hint_os(v->sv->os_hint) : NULL;
    if (os != NULL) {
        g_autoptr(GHashTable) facts = g_hash_table_new(g_str_hash, g_str_equal);
        g_autoptr(GPtrArray) matched = NULL;

        g_hash_table_insert(facts, (gpointer) "os", (gpointer)os);
        matched = guest_rule_sets_matching(v->guest_sets, facts);
        if (matched->len == 0) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT,
                        "the source says the guest is '%s', which no guest rule set repairs (convoy repairs Linux guests only): make it ready for KVM yourself (virtio drivers, see convoy-manifest(5)), then set guest: {fixup: false} for it",
                        v->sv->os_hint);
            return false;
        }
    }
    if (v->tgt->ops->disks_local != NULL && !v->tgt->ops->disks_local(v->tgt)) {
        g_ptr_array_add(warnings,
                        g_strdup_printf("vm '%s': no guest repair: target '%s' keeps its disks out of reach of this machine (a remote libvirt connection or upload: stream); run convoy on the KVM host to repair the guest, or set guest: {fixup: false} to say it needs none",
                                        v->mvm->name, v->mtgt->name));
        g_clear_pointer(&v->guest_sets, g_ptr_array_unref);
    }
    return true;
}
