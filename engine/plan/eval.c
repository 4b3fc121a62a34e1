/* Plan evaluation: manifest + sources (read-only discovery) + rules →
 * each VM's desired steps, with canonical inputs and fingerprints. */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "convert/convert.h"
#include "guest/guest.h"
#include "plan/plan.h"
#include "plan/plan-priv.h"
#include "util/autoptr.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/rulefile.h"

const char *
plan_action_name(enum plan_action a)
{
    switch (a) {
    case PLAN_ACTION_DONE:
        return "done";
    case PLAN_ACTION_TODO:
        return "todo";
    case PLAN_ACTION_RESUME:
        return "resume";
    case PLAN_ACTION_REDO:
        return "redo";
    case PLAN_ACTION_BLOCKED:
        return "blocked";
    case PLAN_ACTION_LAST:
    default:
        return "?";
    }
}

static void
plan_disk_free(gpointer p)
{
    struct plan_disk *d = p;

    g_free(d->dev);
    g_free(d->location);
    g_free(d);
}

static void
plan_step_free(gpointer p)
{
    struct plan_step *s = p;

    g_free(s->key);
    g_free(s->inputs);
    g_free(s->fingerprint);
    g_free(s->reason);
    if (s->deps != NULL)
        g_ptr_array_unref(s->deps);
    state_step_record_free(s->rec);
    g_free(s);
}

static void
plan_vm_free(gpointer p)
{
    struct plan_vm *v = p;

    source_vm_free(v->sv);
    g_free(v->kvm_xml);
    g_free(v->kvm_xml_sha256);
    g_free(v->source_xml_sha256);
    g_free(v->rules_text);
    if (v->changes != NULL)
        g_ptr_array_unref(v->changes);
    if (v->disks != NULL)
        g_ptr_array_unref(v->disks);
    if (v->steps != NULL)
        g_ptr_array_unref(v->steps);
    if (v->guest_sets != NULL)
        g_ptr_array_unref(v->guest_sets);
    if (v->guest_names != NULL)
        g_ptr_array_unref(v->guest_names);
    g_free(v->guest_inspect);
    g_free(v->guest_inspect_json);
    g_free(v->error);
    g_free(v->move_at);
    g_free(v);
}

void
plan_free(struct plan *p)
{
    if (p == NULL)
        return;
    if (p->vms != NULL)
        g_ptr_array_unref(p->vms);
    if (p->sources != NULL)
        g_hash_table_unref(p->sources);
    if (p->targets != NULL)
        g_hash_table_unref(p->targets);
    if (p->errors != NULL)
        g_ptr_array_unref(p->errors);
    if (p->warnings != NULL)
        g_ptr_array_unref(p->warnings);
    g_free(p->wave);
    g_free(p->state_path);
    g_free(p->wave_blocked);
    if (p->guest_all != NULL)
        g_ptr_array_unref(p->guest_all);
    if (p->guest_sets != NULL)
        g_hash_table_unref(p->guest_sets);
    g_free(p);
}

bool
plan_has_changes(const struct plan *p)
{
    for (int a = 0; a < PLAN_ACTION_LAST; a++) {
        if (a != PLAN_ACTION_DONE && p->counts[a] > 0)
            return true;
    }
    return false;
}

char *
plan_fingerprint(const struct step_ops *ops, const char *inputs)
{
    g_autofree char *text = g_strdup_printf("%s\nversion=%u\n%s", ops->name,
                                            ops->version, inputs);
    return hash_sha256_hex(text, strlen(text));
}

/* The directories searched for rule set NAME.yaml of one kind
 * ("domain" or "guest"), most specific first.  New NULL-terminated. */
static char **
rules_dirs(const struct manifest *m, const char *kind)
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
static bool
vm_rule_sets(struct plan *p, struct plan_eval *ev, const struct manifest_vm *mvm,
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
    g_auto(GStrv) domain_dirs = rules_dirs(m, "domain");
    g_auto(GStrv) guest_dirs = rules_dirs(m, "guest");
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

/* Set the text of the first node matching xpath (if any). */
static void
set_text(xmlDoc *doc, const char *xpath, const char *text)
{
    g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(doc);
    g_autoptr(xmlXPathObject) obj = NULL;

    if (ctx == NULL)
        return;
    obj = xmlXPathEvalExpression((const xmlChar *)xpath, ctx);
    if (obj == NULL || obj->nodesetval == NULL)
        return;
    for (int i = 0; i < obj->nodesetval->nodeNr; i++) {
        xmlNode *n = obj->nodesetval->nodeTab[i];
        xmlNodeSetContent(n, (const xmlChar *)text);
        if (n->type == XML_ELEMENT_NODE && xmlHasProp(n, (const xmlChar *)"unit"))
            xmlSetProp(n, (const xmlChar *)"unit", (const xmlChar *)"KiB");
    }
}

/* Manifest overrides on the converted XML: name, memory, vcpus, and the
 * target's domain type (qemu where KVM cannot run guests). */
static void
apply_overrides(xmlDoc *doc, const struct manifest_vm *mvm,
                const struct manifest_target *mt)
{
    xmlNode *root = xmlDocGetRootElement(doc);

    if (root != NULL && mt->domain_type != NULL)
        xmlSetProp(root, (const xmlChar *)"type", (const xmlChar *)mt->domain_type);
    set_text(doc, "/domain/name", manifest_vm_target_name(mvm));
    if (mvm->memory != 0) {
        g_autofree char *kib = g_strdup_printf("%" G_GUINT64_FORMAT, mvm->memory / 1024);
        set_text(doc, "/domain/memory", kib);
        set_text(doc, "/domain/currentMemory", kib);
    }
    if (mvm->vcpus != 0) {
        g_autofree char *n = g_strdup_printf("%u", mvm->vcpus);
        g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(doc);
        g_autoptr(xmlXPathObject) obj = NULL;

        set_text(doc, "/domain/vcpu", n);
        obj = xmlXPathEvalExpression((const xmlChar *)"/domain/vcpu", ctx);
        if (obj != NULL && obj->nodesetval != NULL && obj->nodesetval->nodeNr > 0)
            xmlUnsetProp(obj->nodesetval->nodeTab[0], (const xmlChar *)"current");
    }
}

/* The pool a disk lands in: the target's pools.map by the disk's SR
 * name_label (XenServer, XVA) or by its path or a folder above it (file
 * sources, the longest match), else pools.default (*pool NULL).  With a
 * map, a disk that matches nothing and no default is a plan-time error
 * naming it. */
static bool
disk_pool(const struct manifest_target *mt, const struct source_disk *sd,
          const char **pool, const char **key_out, GError **error)
{
    GHashTableIter it;
    gpointer k, val;
    size_t best = 0;

    *pool = NULL;
    *key_out = NULL;
    if (mt->pool_map == NULL || g_hash_table_size(mt->pool_map) == 0)
        return true;
    if (sd->storage != NULL) {
        if (g_hash_table_lookup_extended(mt->pool_map, sd->storage, &k, &val)) {
            *pool = val;
            *key_out = k;
            return true;
        }
        g_hash_table_iter_init(&it, mt->pool_map);
        while (sd->storage[0] == '/' && g_hash_table_iter_next(&it, &k, &val)) {
            const char *key = k;
            size_t n = strlen(key);
            while (n > 1 && key[n - 1] == '/')
                n--;
            if (key[0] == '/' && n > best && strncmp(sd->storage, key, n) == 0 &&
                (sd->storage[n] == '/' || n == 1)) {
                best = n;
                *pool = val;
                *key_out = key;
            }
        }
        if (*pool != NULL)
            return true;
    }
    if (mt->pool_default != NULL)
        return true;
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                "disk '%s' (%s '%s') has no storage pool on target '%s': add it to pools.map, or set pools.default",
                sd->xen_dev, sd->storage != NULL && sd->storage[0] == '/' ? "path" : "SR",
                sd->storage != NULL ? sd->storage : "unknown", mt->name);
    return false;
}

/* Every volumes: key must name a disk the VM converted to. */
static bool
check_volume_names(const struct plan_vm *v, GError **error)
{
    GHashTableIter it;
    gpointer k;

    if (v->mvm->volumes == NULL)
        return true;
    g_hash_table_iter_init(&it, v->mvm->volumes);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        bool found = false;
        for (guint i = 0; i < v->disks->len && !found; i++)
            found = strcmp(((const struct plan_disk *)v->disks->pdata[i])->dev, k) == 0;
        if (found)
            continue;
        g_autoptr(GString) devs = g_string_new(NULL);
        for (guint i = 0; i < v->disks->len; i++)
            g_string_append_printf(devs, "%s%s", i ? ", " : "",
                                   ((const struct plan_disk *)v->disks->pdata[i])->dev);
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                    "volumes: '%s' is not a disk of the converted domain; its disks are %s",
                    (const char *)k, devs->len > 0 ? devs->str : "none");
        return false;
    }
    return true;
}

/* Convert the VM's domain XML and map its disks and networks. */
static bool
eval_domain(struct plan_vm *v, GPtrArray *sets, GPtrArray *warnings, GError **error)
{
    g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(GArray) maps = g_array_new(FALSE, TRUE, sizeof(struct convert_netmap));
    g_autoptr(GPtrArray) xdisks = NULL;
    g_autoptr(GString) rules_text = g_string_new(NULL);
    struct convert_request req = {0};

    for (guint i = 0; i < sets->len; i++) {
        const struct rule_set *rs = sets->pdata[i];
        g_string_append_printf(rules_text, "%s@%u:%s\n", rule_set_name(rs),
                               rule_set_version(rs), rule_set_digest(rs));
    }
    v->rules_text = g_strdup(rules_text->str);
    doc = convert_xml_parse(v->sv->domain_xml, strlen(v->sv->domain_xml),
                            v->sv->location, error);
    if (doc == NULL)
        return false;
    v->changes = g_ptr_array_new_with_free_func((GDestroyNotify)convert_change_free);
    for (guint i = 0; i < v->mtgt->networks->len; i++) {
        const struct manifest_netmap *n = v->mtgt->networks->pdata[i];
        struct convert_netmap cm = {
            .from = (enum convert_net_from)n->from,
            .from_value = n->from_value,
            .to = (enum convert_net_to)n->to,
            .to_value = n->to_value,
        };
        g_array_append_val(maps, cm);
    }
    req.input_name = v->sv->location;
    req.count_changes = true;
    req.sets = (struct rule_set *const *)sets->pdata;
    req.n_sets = sets->len;
    req.map_networks = true;
    req.netmaps = (const struct convert_netmap *)(void *)maps->data;
    req.n_netmaps = maps->len;
    req.xen_networks = v->sv->xen_networks;
    req.boot_dir = v->mvm->boot_dir;
    g_autoptr(GArray) cdmaps = g_array_new(FALSE, TRUE, sizeof(struct convert_cdmap));
    if (v->mvm->cdroms != NULL) {
        g_autoptr(GList) devs = g_list_sort(g_hash_table_get_keys(v->mvm->cdroms),
                                            (GCompareFunc)strcmp);
        for (GList *l = devs; l != NULL; l = l->next) {
            struct convert_cdmap cm = {
                .dev = l->data,
                .iso = g_hash_table_lookup(v->mvm->cdroms, l->data),
            };
            g_array_append_val(cdmaps, cm);
        }
    }
    req.cdmaps = (const struct convert_cdmap *)(void *)cdmaps->data;
    req.n_cdmaps = cdmaps->len;
    if (!convert_domain(doc, &req, v->changes, notes, error))
        return false;
    /* The conversion's warnings ("LOCATION: warning: TEXT") go to the
     * plan, per VM. */
    for (guint i = 0; i < notes->len; i++) {
        const char *n = notes->pdata[i];
        const char *w = strstr(n, ": warning: ");
        if (w != NULL)
            g_ptr_array_add(warnings, g_strdup_printf("vm '%s': %s", v->mvm->name,
                                                      w + strlen(": warning: ")));
    }

    xdisks = convert_list_disks(doc);
    v->disks = g_ptr_array_new_with_free_func(plan_disk_free);
    for (guint i = 0; i < v->sv->disks->len; i++) {
        const struct source_disk *sd = v->sv->disks->pdata[i];
        const struct convert_disk *xd = NULL;
        struct plan_disk *pd;

        for (guint k = 0; k < xdisks->len && xd == NULL; k++) {
            const struct convert_disk *c = xdisks->pdata[k];
            if (g_strcmp0(c->source, sd->xml_source) == 0)
                xd = c;
        }
        if (xd == NULL) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONVERT,
                        "disk '%s' (%s) is not in the converted domain XML; a rule removed it",
                        sd->xen_dev, sd->id);
            return false;
        }
        const char *pool = NULL;
        const char *pool_key = NULL;
        if (!disk_pool(v->mtgt, sd, &pool, &pool_key, error))
            return false;
        pd = g_new0(struct plan_disk, 1);
        pd->sdisk = sd;
        pd->dev = g_strdup(xd->dev);
        pd->pool_key = pool_key;
        pd->location = v->tgt->ops->disk_location(v->tgt,
                                                  manifest_vm_target_name(v->mvm),
                                                  xd->dev, v->mvm->disk_format,
                                                  pool,
                                                  v->mvm->volumes != NULL ?
                                                  g_hash_table_lookup(v->mvm->volumes, xd->dev) :
                                                  NULL);
        g_ptr_array_add(v->disks, pd);
        if (v->tgt->ops->set_disk != NULL) {
            if (!v->tgt->ops->set_disk(v->tgt, doc, pd->dev, pd->location,
                                       v->mvm->disk_format, error))
                return false;
        } else if (!convert_set_disk_file(doc, pd->dev, pd->location,
                                          disk_format_name(v->mvm->disk_format),
                                          error)) {
            return false;
        }
    }
    if (!check_volume_names(v, error))
        return false;
    apply_overrides(doc, v->mvm, v->mtgt);
    v->kvm_xml = convert_xml_format(doc);
    /* The steps' inputs name these digests; computed here, on the
     * evaluation's threads. */
    v->kvm_xml_sha256 = hash_sha256_hex(v->kvm_xml, strlen(v->kvm_xml));
    v->source_xml_sha256 = hash_sha256_hex(v->sv->domain_xml,
                                           strlen(v->sv->domain_xml));
    return true;
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
static bool
vm_guest_sets(struct plan *p, struct plan_eval *ev, struct plan_vm *v, GError **error)
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

static struct plan_step *
add_step(struct plan_vm *v, const struct step_ops *ops, struct plan_disk *d)
{
    struct plan_step *s = g_new0(struct plan_step, 1);

    s->ops = ops;
    s->vm = v;
    s->disk = d;
    s->key = d != NULL ? g_strdup_printf("%s/%s/%s", v->mvm->name, ops->name, d->dev)
                       : g_strdup_printf("%s/%s", v->mvm->name, ops->name);
    s->deps = g_ptr_array_new();
    g_ptr_array_add(v->steps, s);
    return s;
}

/* Did convoy make the disk (a done copy, or a checkpoint, which is only
 * written after the target disk was created)? */
static bool
disk_owned(struct state *st, const char *key, const struct target *t,
           const char *location)
{
    g_autoptr(state_step_record) rec = state_step_get(st, key, NULL);

    return step_disk_owned(st, key, rec, t, location);
}

/* The target's read-only check of one VM: problems block it (they become
 * its evaluation error), notes become plan warnings. */
static void
check_target(struct plan *p, struct plan_eval *ev, struct plan_vm *v,
             GError **error)
{
    g_autoptr(GArray) disks = g_array_new(FALSE, TRUE, sizeof(struct target_disk_req));
    g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *def_key = g_strdup_printf("%s/%s", v->mvm->name,
                                               step_domain_define.name);
    g_autoptr(state_step_record) def = NULL;
    g_autofree char *domain_uuid = NULL;
    struct target_vm_req req = {
        .vm = manifest_vm_target_name(v->mvm),
        .xml = v->kvm_xml,
        .adopt = v->mvm->adopt,
    };

    if (v->tgt->ops->check == NULL)
        return;
    /* The domain is convoy's when it defined it under this name on this
     * target (the location names both) -- and, where the define recorded
     * the domain's uuid, when the domain there now has that uuid. */
    def = state_step_get(ev->st, def_key, NULL);
    if (def != NULL) {
        req.domain_owned = step_domain_recorded(def, v->tgt, req.vm, &domain_uuid, NULL);
        req.domain_uuid = domain_uuid;
    }
    for (guint i = 0; i < v->disks->len; i++) {
        const struct plan_disk *pd = v->disks->pdata[i];
        char *key = g_strdup_printf("%s/%s/%s", v->mvm->name,
                                    step_disk_copy.name, pd->dev);
        struct target_disk_req d = {
            .dev = pd->dev,
            .location = pd->location,
            .format = v->mvm->disk_format,
            .allocation = v->mvm->allocation,
            .size = pd->sdisk->size,
            .owned = disk_owned(ev->st, key, v->tgt, pd->location),
        };
        g_ptr_array_add(keys, key);
        g_array_append_val(disks, d);
    }
    req.disks = (const struct target_disk_req *)(void *)disks->data;
    req.n_disks = disks->len;
    v->tgt->ops->check(v->tgt, &req, problems, notes);
    for (guint i = 0; i < notes->len; i++)
        g_ptr_array_add(p->warnings, g_strdup_printf("vm '%s': %s", v->mvm->name,
                                                     (const char *)notes->pdata[i]));
    if (problems->len > 0) {
        g_autofree char *all = NULL;
        g_ptr_array_add(problems, NULL);
        all = g_strjoinv("; ", (char **)problems->pdata);
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT, "%s", all);
    }
}

/* The chain: [source-shutdown] → disk-copy × N → [guest-fixup] → domain-convert →
 * domain-define → domain-start (when asked and the target runs domains). */
static void
build_steps(struct plan_vm *v)
{
    struct plan_step *down = NULL;
    struct plan_step *fix = NULL;
    struct plan_step *conv;
    struct plan_step *def;
    guint first_copy;

    v->steps = g_ptr_array_new_with_free_func(plan_step_free);
    if (v->error != NULL)
        return;
    if (v->move != NULL) {
        struct plan_step *s = add_step(v, &step_host_migrate, NULL);
        s->inputs = s->ops->inputs(s);
        s->fingerprint = plan_fingerprint(s->ops, s->inputs);
        return;
    }
    if (v->mvm->source_power == MANIFEST_SOURCE_POWER_SHUTDOWN &&
        v->src->ops->shutdown != NULL)
        down = add_step(v, &step_source_shutdown, NULL);
    first_copy = v->steps->len;
    for (guint i = 0; i < v->disks->len; i++) {
        struct plan_step *c = add_step(v, &step_disk_copy, v->disks->pdata[i]);
        if (down != NULL)
            g_ptr_array_add(c->deps, down);
    }
    if (v->guest_sets != NULL) {
        fix = add_step(v, &step_guest_fixup, NULL);
        for (guint i = 0; i < v->disks->len; i++)
            g_ptr_array_add(fix->deps, v->steps->pdata[first_copy + i]);
    }
    conv = add_step(v, &step_domain_convert, NULL);
    if (fix != NULL)
        g_ptr_array_add(conv->deps, fix);
    def = add_step(v, &step_domain_define, NULL);
    g_ptr_array_add(def->deps, conv);
    if (fix != NULL)
        g_ptr_array_add(def->deps, fix);
    for (guint i = 0; i < v->disks->len; i++)
        g_ptr_array_add(def->deps, v->steps->pdata[first_copy + i]);
    if (v->mvm->start && v->tgt->ops->start != NULL) {
        struct plan_step *start = add_step(v, &step_domain_start, NULL);
        g_ptr_array_add(start->deps, def);
    }
    for (guint i = 0; i < v->steps->len; i++) {
        struct plan_step *s = v->steps->pdata[i];
        s->inputs = s->ops->inputs(s);
        s->fingerprint = plan_fingerprint(s->ops, s->inputs);
    }
}

static struct source *
get_source(struct plan *p, const struct manifest_source *ms, GPtrArray *warnings,
           GError **error)
{
    struct source *s = g_hash_table_lookup(p->sources, ms->name);

    if (s == NULL) {
        s = source_open(ms, error);
        if (s == NULL)
            return NULL;
        g_hash_table_insert(p->sources, g_strdup(ms->name), s);
        if (s->note != NULL)
            g_ptr_array_add(warnings, g_strdup_printf("source '%s': %s", ms->name, s->note));
        if (ms->insecure)
            g_ptr_array_add(warnings,
                            g_strdup_printf("source '%s': insecure: true — TLS certificates are not verified; anyone on the path can read or change what is copied",
                                            ms->name));
        if (ms->url != NULL && g_ascii_strncasecmp(ms->url, "http://", 7) == 0 &&
            (ms->password_file != NULL || ms->password_env != NULL || ms->token_file != NULL))
            g_ptr_array_add(warnings,
                            g_strdup_printf("source '%s': url is plain http:// — the %s and the disks cross the network unencrypted; use https://",
                                            ms->name, ms->token_file != NULL ? "token" : "password"));
    }
    return s;
}

struct target *
plan_get_target(struct plan *p, const struct manifest_target *mt,
                GError **error)
{
    struct target *t = g_hash_table_lookup(p->targets, mt->name);

    if (t == NULL) {
        t = target_open(mt, error);
        if (t == NULL)
            return NULL;
        g_hash_table_insert(p->targets, g_strdup(mt->name), t);
    }
    return t;
}

/* One item of the plan while it is evaluated: a VM (or a host move, move
 * set), and what each phase found.  Phase 1 (serial, in order) opens its
 * source and target and loads its rule sets; phase 2 reads the source and
 * converts the domain, on a thread pool for VMs whose source can be read
 * concurrently (xva files); phase 3 (serial, in order) turns the results
 * into warnings, errors, target checks and steps, exactly as one pass in
 * order would, so the output does not depend on the threads. */
struct eval_job {
    struct plan_vm *v;
    GPtrArray *sets;          /* struct rule_set*, borrowed from ev */
    GPtrArray *guest;         /* guest rule set names, borrowed */
    GPtrArray *warnings;      /* of char*, owned: phase 1's */
    GError *rules_error;      /* loading the rule sets failed */
    GError *err;              /* opening, describing or converting failed */
    bool parallel;            /* phase 2 on the pool */
    bool built;               /* phase 2 made its steps already */
};

static void
eval_job_free(gpointer p)
{
    struct eval_job *j = p;

    g_ptr_array_unref(j->sets);
    g_ptr_array_unref(j->guest);
    g_ptr_array_unref(j->warnings);
    g_clear_error(&j->rules_error);
    g_clear_error(&j->err);
    g_free(j);
}

static void
eval_open(struct plan *p, struct plan_eval *ev, struct eval_job *j)
{
    struct plan_vm *v = j->v;

    v->msrc = manifest_find_source(p->m, v->mvm->source);
    v->mtgt = manifest_find_target(p->m, v->mvm->target);
    v->src = get_source(p, v->msrc, j->warnings, &j->err);
    if (v->src != NULL)
        v->tgt = plan_get_target(p, v->mtgt, &j->err);
    if (v->tgt != NULL)
        vm_rule_sets(p, ev, v->mvm, j->sets, j->guest, &j->rules_error);
    /* Guest rule sets load here, serially: phase 2 only reads them. */
    if (v->tgt != NULL && j->guest->len > 0) {
        v->guest_names = g_ptr_array_new_with_free_func(g_free);
        for (guint i = 0; i < j->guest->len; i++)
            g_ptr_array_add(v->guest_names, g_strdup(j->guest->pdata[i]));
    }
    if (v->tgt != NULL && j->rules_error == NULL)
        vm_guest_sets(p, ev, v, &j->rules_error);
    /* xva files are read with nothing shared but the folder scan (under
     * its lock); other sources hold one connection. */
    j->parallel = v->tgt != NULL && v->msrc->kind == MANIFEST_SOURCE_XVA &&
                  v->msrc->url == NULL;
}

static void
eval_read(struct eval_job *j)
{
    struct plan_vm *v = j->v;

    if (v->tgt == NULL || j->err != NULL)
        return;
    v->sv = v->src->ops->describe(v->src, v->mvm, &j->err);
    if (v->sv != NULL && j->rules_error == NULL)
        eval_domain(v, j->sets, j->warnings, &j->err);
    /* The steps, their inputs and fingerprints depend only on the VM (the
     * target check can still block it in phase 3, which drops them). */
    if (j->err == NULL && v->kvm_xml != NULL) {
        build_steps(v);
        j->built = true;
    }
}

static void
eval_read_pooled(gpointer data, gpointer user_data)
{
    eval_read(data);
}

/* Two VMs' disks must not land on one volume or file (a volumes: name
 * can point at another VM's default name). */
static void
claim_locations(struct plan_eval *ev, const struct plan_vm *v, GError **error)
{
    for (guint i = 0; i < v->disks->len; i++) {
        const struct plan_disk *pd = v->disks->pdata[i];
        g_autofree char *key = g_strdup_printf("%s\n%s", v->mtgt->name, pd->location);
        const char *other = g_hash_table_lookup(ev->locations, key);
        if (other != NULL) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_CONFLICT,
                        "disk %s lands on '%s', where vm '%s' already puts a disk; give one of them another name with volumes:",
                        pd->dev, pd->location, other);
            return;
        }
    }
    for (guint i = 0; i < v->disks->len; i++) {
        const struct plan_disk *pd = v->disks->pdata[i];
        g_hash_table_insert(ev->locations,
                            g_strdup_printf("%s\n%s", v->mtgt->name, pd->location),
                            v->mvm->name);
    }
}

/* After a whole plan: a pools.map entry of a target that placed no disk
 * is likely a typo or a stale SR name.  Not said for one wave (another
 * wave's disks may use it), nor for a target where a VM failed. */
static void
warn_unused_pool_keys(struct plan *p, struct plan_eval *ev)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

    for (guint i = 0; i < p->vms->len; i++) {
        const struct plan_vm *v = p->vms->pdata[i];
        const struct manifest_target *mt = v->mtgt;
        if (mt == NULL || mt->pool_map == NULL || g_hash_table_contains(seen, mt->name))
            continue;
        g_hash_table_add(seen, mt->name);
        if (g_hash_table_contains(ev->failed_targets, mt->name))
            continue;
        g_autoptr(GList) keys = g_list_sort(g_hash_table_get_keys(mt->pool_map),
                                            (GCompareFunc)strcmp);
        for (GList *l = keys; l != NULL; l = l->next) {
            g_autofree char *k = g_strdup_printf("%s\n%s", mt->name, (const char *)l->data);
            if (!g_hash_table_contains(ev->pool_keys, k))
                g_ptr_array_add(p->warnings,
                                g_strdup_printf("target '%s': pools.map entry '%s' matches no disk of the VMs planned on it",
                                                mt->name, (const char *)l->data));
        }
    }
}

static void
eval_finish(struct plan *p, struct plan_eval *ev, struct eval_job *j,
            GError **fatal)
{
    struct plan_vm *v = j->v;

    if (!j->parallel)
        eval_read(j);
    for (guint i = 0; i < j->warnings->len; i++)
        g_ptr_array_add(p->warnings, g_strdup(j->warnings->pdata[i]));
    /* XenAPI exports only halted VMs: say so before apply fails. */
    if (v->sv != NULL && v->sv->powered_on &&
        v->mvm->source_power == MANIFEST_SOURCE_POWER_LEAVE &&
        v->msrc->kind == MANIFEST_SOURCE_XENSERVER)
        g_ptr_array_add(p->warnings,
                        g_strdup_printf("vm '%s' is running and source_power is leave: its disks cannot be exported until it is shut down",
                                        v->mvm->name));
    for (guint i = 0; v->sv != NULL && v->sv->warnings != NULL &&
                      i < v->sv->warnings->len; i++)
        g_ptr_array_add(p->warnings, g_strdup_printf("vm '%s': %s", v->mvm->name,
                                                     (const char *)v->sv->warnings->pdata[i]));
    if (v->sv != NULL) {
        /* A guest rule set in rules: joins guest: {rules}. */
        for (guint i = 0; i < j->guest->len && !v->mvm->guest.fixup; i++) {
            const char *name = j->guest->pdata[i];
            if (g_hash_table_contains(ev->warned, name))
                continue;
            g_ptr_array_add(p->warnings,
                            g_strdup_printf("guest rule set '%s' is not applied: in-guest repair is off (set guest: {fixup: true})",
                                            name));
            g_hash_table_add(ev->warned, g_strdup(name));
        }
        if (j->rules_error != NULL)
            j->err = g_steal_pointer(&j->rules_error);
        if (g_error_matches(j->err, CONVOY_ERROR, CONVOY_ERROR_INVALID)) {
            g_propagate_error(fatal, g_steal_pointer(&j->err));
            return;
        }
    }
    if (j->err == NULL && v->guest_sets != NULL && v->tgt->ops->disks_local != NULL &&
        !v->tgt->ops->disks_local(v->tgt))
        g_set_error(&j->err, CONVOY_ERROR, CONVOY_ERROR_CONFLICT,
                    "guest-fixup needs the target's disks on this machine, but target '%s' keeps them out of reach (a remote libvirt connection or upload: stream); run convoy on the KVM host, or set guest: {fixup: false}",
                    v->mtgt->name);
    if (j->err == NULL && v->kvm_xml != NULL)
        claim_locations(ev, v, &j->err);
    if (j->err == NULL && v->kvm_xml != NULL)
        check_target(p, ev, v, &j->err);
    if (j->err == NULL && v->disks != NULL) {
        for (guint i = 0; i < v->disks->len; i++) {
            const struct plan_disk *pd = v->disks->pdata[i];
            if (pd->pool_key != NULL)
                g_hash_table_add(ev->pool_keys, g_strdup_printf("%s\n%s", v->mtgt->name,
                                                               pd->pool_key));
        }
    }
    if (j->err != NULL && v->mtgt != NULL)
        g_hash_table_add(ev->failed_targets, v->mtgt->name);
    if (j->err != NULL) {
        v->error = g_strdup(j->err->message);
        g_ptr_array_add(p->errors, g_strdup_printf("vm '%s': %s", v->mvm->name,
                                                   j->err->message));
    }
    if (j->built && v->error != NULL)
        g_clear_pointer(&v->steps, g_ptr_array_unref);
    if (!j->built || v->error != NULL)
        build_steps(v);
}

/* Threads for phase 2: CONVOY_PLAN_THREADS, else one per CPU (at most
 * 8); 1 evaluates everything in one pass. */
static unsigned
eval_threads(void)
{
    const char *env = g_getenv("CONVOY_PLAN_THREADS");
    guint64 n = 0;

    if (env != NULL && g_ascii_string_to_unsigned(env, 10, 1, 64, &n, NULL))
        return (unsigned)n;
    return MIN(g_get_num_processors(), 8);
}

/* Phase 2 for every pooled job.  With too few of them to be worth
 * threads, or when no thread can be started, they run in phase 3. */
static void
eval_pool(GPtrArray *jobs)
{
    unsigned n = eval_threads();
    unsigned pooled = 0;
    g_autoptr(GError) err = NULL;
    GThreadPool *pool;

    for (guint i = 0; i < jobs->len; i++) {
        struct eval_job *j = jobs->pdata[i];
        if (j->parallel)
            pooled++;
    }
    if (n <= 1 || pooled < 2 * n) {
        for (guint i = 0; i < jobs->len; i++)
            ((struct eval_job *)jobs->pdata[i])->parallel = false;
        return;
    }
    pool = g_thread_pool_new(eval_read_pooled, NULL, (gint)n, TRUE, &err);
    if (pool == NULL) {
        for (guint i = 0; i < jobs->len; i++)
            ((struct eval_job *)jobs->pdata[i])->parallel = false;
        return;
    }
    for (guint i = 0; i < jobs->len; i++) {
        struct eval_job *j = jobs->pdata[i];
        if (j->parallel)
            g_thread_pool_push(pool, j, NULL);
    }
    /* Waits for every pushed job. */
    g_thread_pool_free(pool, FALSE, TRUE);
}

/* For --wave: the waves it runs after must be complete (every VM's last
 * step recorded done). */
static char *
check_after(const struct manifest *m, const struct manifest_wave *w,
            struct state *st)
{
    for (guint i = 0; i < w->after->len; i++) {
        const struct manifest_wave *a = manifest_find_wave(m, w->after->pdata[i]);
        unsigned left = 0;

        if (a == NULL)
            continue;
        for (guint k = 0; k < a->vms->len; k++) {
            const struct manifest_vm *vm = a->vms->pdata[k];
            g_autofree char *key = g_strdup_printf("%s/%s", vm->name,
                                                   step_domain_define.name);
            g_autoptr(state_step_record) rec = state_step_get(st, key, NULL);
            if (rec == NULL || rec->status != STATE_STEP_DONE)
                left++;
        }
        for (guint k = 0; k < a->moves->len; k++) {
            const struct manifest_move *mv = a->moves->pdata[k];
            g_autofree char *key = g_strdup_printf("%s/%s", mv->domain,
                                                   step_host_migrate.name);
            g_autoptr(state_step_record) rec = state_step_get(st, key, NULL);
            if (rec == NULL || rec->status != STATE_STEP_DONE)
                left++;
        }
        if (left > 0)
            return g_strdup_printf("wave '%s' runs after wave '%s', which is not complete (%u VM%s left); apply '%s' first",
                                   w->name, a->name, left, left == 1 ? "" : "s",
                                   a->name);
    }
    return NULL;
}

struct plan *
plan_evaluate(const struct manifest *m, struct state *st, const char *wave,
              GError **error)
{
    g_autoptr(plan) p = g_new0(struct plan, 1);
    struct plan_eval ev = {0};
    const struct manifest_wave *w = NULL;
    GError *fatal = NULL;

    p->m = m;
    p->wave = g_strdup(wave);
    p->state_path = g_strdup(state_path(st));
    p->vms = g_ptr_array_new_with_free_func(plan_vm_free);
    p->sources = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify)source_close);
    p->targets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify)target_close);
    p->errors = g_ptr_array_new_with_free_func(g_free);
    p->warnings = g_ptr_array_new_with_free_func(g_free);
    p->guest_sets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify)guest_rule_set_free);
    if (wave != NULL) {
        w = manifest_find_wave(m, wave);
        if (w == NULL) {
            g_autoptr(GString) names = g_string_new(NULL);
            for (guint i = 0; i < m->waves->len; i++)
                g_string_append_printf(names, "%s'%s'", i ? ", " : "",
                                       ((struct manifest_wave *)m->waves->pdata[i])->name);
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_USAGE,
                        "unknown wave '%s'; the manifest defines %s", wave,
                        names->len ? names->str : "no waves");
            return NULL;
        }
        p->wave_blocked = check_after(m, w, st);
    }

    ev.rule_sets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify)rule_set_free);
    ev.warned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ev.locations = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ev.pool_keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ev.failed_targets = g_hash_table_new(g_str_hash, g_str_equal);
    ev.domain_dirs = rules_dirs(m, "domain");
    ev.guest_dirs = rules_dirs(m, "guest");
    ev.st = st;
    /* Wave by wave: its VMs, then its host moves. */
    g_autoptr(GPtrArray) jobs = g_ptr_array_new_with_free_func(eval_job_free);
    for (guint i = 0; i < m->waves->len; i++) {
        const struct manifest_wave *wi = m->waves->pdata[i];

        if (w != NULL && wi != w)
            continue;
        for (guint k = 0; k < wi->vms->len; k++) {
            struct eval_job *j = g_new0(struct eval_job, 1);
            j->v = g_new0(struct plan_vm, 1);
            j->v->mvm = wi->vms->pdata[k];
            j->sets = g_ptr_array_new();
            j->guest = g_ptr_array_new();
            j->warnings = g_ptr_array_new_with_free_func(g_free);
            g_ptr_array_add(p->vms, j->v);
            g_ptr_array_add(jobs, j);
            eval_open(p, &ev, j);
        }
        for (guint k = 0; k < wi->moves->len; k++) {
            struct eval_job *j = g_new0(struct eval_job, 1);
            j->v = g_new0(struct plan_vm, 1);
            j->v->move = wi->moves->pdata[k];
            j->sets = g_ptr_array_new();
            j->guest = g_ptr_array_new();
            j->warnings = g_ptr_array_new_with_free_func(g_free);
            g_ptr_array_add(p->vms, j->v);
            g_ptr_array_add(jobs, j);
        }
    }
    /* libxml2 sets its globals up once, before any thread parses. */
    xmlInitParser();
    eval_pool(jobs);
    for (guint i = 0; i < jobs->len && fatal == NULL; i++) {
        struct eval_job *j = jobs->pdata[i];

        if (j->v->move != NULL) {
            plan_eval_move(p, j->v);
            build_steps(j->v);
        } else {
            eval_finish(p, &ev, j, &fatal);
        }
    }
    if (fatal == NULL && w == NULL)
        warn_unused_pool_keys(p, &ev);
    if (fatal == NULL)
        plan_diff(p, st, &fatal);
    g_hash_table_unref(ev.rule_sets);
    g_hash_table_unref(ev.warned);
    g_hash_table_unref(ev.locations);
    g_hash_table_unref(ev.pool_keys);
    g_hash_table_unref(ev.failed_targets);
    g_strfreev(ev.domain_dirs);
    g_strfreev(ev.guest_dirs);
    if (fatal != NULL) {
        g_propagate_error(error, fatal);
        return NULL;
    }
    return g_steal_pointer(&p);
}
