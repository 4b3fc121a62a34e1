/* Manifest targets: a directory (disks + domain XML) or a libvirt
 * connection, with storage pool and network mappings. */
#include "config.h"

#include <string.h>

#include "manifest/manifest-priv.h"

static const char *const kind_names[] = {"directory", "libvirt", NULL};
static const char *const directory_keys[] = {
    "type", "path", "domain_type", "networks", NULL,
};
static const char *const libvirt_keys[] = {
    "type", "uri", "domain_type", "pools", "networks", "upload", NULL,
};
/* Every key of a target mapping, for a misindented key read as a
 * target's name. */
static const char *const known_keys[] = {
    "type", "path", "uri", "domain_type", "pools", "networks", "upload", NULL,
};
static const char *const upload_modes[] = {"auto", "stream", NULL};
static const char *const domain_types[] = {"kvm", "qemu", NULL};
static const char *const pools_keys[] = {"default", "map", NULL};
static const char *const netmap_keys[] = {"from", "to", NULL};
static const char *const from_keys[] = {"bridge", "network", "mac", NULL};
static const char *const to_keys[] = {"network", "bridge", NULL};

static bool
mac_valid(const char *s)
{
    if (strlen(s) != 17)
        return false;
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2 ? s[i] != ':' : !g_ascii_isxdigit(s[i]))
            return false;
    }
    return true;
}

/* The one key of a {kind: value} mapping among keys; false (reported)
 * when there is not exactly one. */
static bool
one_of(struct mload *l, const struct ynode *map, const char *key,
       const char *const *keys, const char *expected, unsigned *kind,
       const struct ynode **value)
{
    unsigned found = 0;
    g_autofree char *what = g_strdup_printf("'%s'", key);

    if (!mcheck_keys(l, map, what, keys))
        return false;
    for (unsigned i = 0; keys[i] != NULL; i++) {
        const struct ynode *v = ynode_get(map, keys[i]);
        if (v != NULL) {
            found++;
            *kind = i;
            *value = v;
        }
    }
    if (found == 1)
        return true;
    ydiag_error(&l->diag, map, "'%s': expected exactly one of %s", key, expected);
    return false;
}

static void
parse_netmap(struct mload *l, const struct ynode *n, struct manifest_target *t,
             GHashTable *seen)
{
    if (!mcheck_mapping(l, n, "networks") ||
        !mcheck_keys(l, n, "network mapping", netmap_keys))
        return;
    bool have_from = mrequire(l, n, "from", "network mapping");
    bool have_to = mrequire(l, n, "to", "network mapping");
    if (!have_from || !have_to)
        return;

    g_autofree char *from_value = NULL;
    g_autofree char *to_value = NULL;
    enum manifest_net_from from = MANIFEST_NET_FROM_ANY;
    const struct ynode *f = ynode_get(n, "from");
    if (f->kind == YNODE_SCALAR) {
        if (f->quoted || strcmp(f->value, "any") != 0) {
            ydiag_error(&l->diag, f, "'from': expected any or a mapping with one of bridge, network or mac, got '%s'", f->value);
            return;
        }
    } else if (f->kind == YNODE_MAPPING) {
        unsigned kind = 0;
        const struct ynode *v = NULL;
        if (!one_of(l, f, "from", from_keys, "bridge, network or mac", &kind, &v))
            return;
        from = (enum manifest_net_from)kind;
        if (!mget_string(l, v, from_keys[kind], &from_value))
            return;
        if (from == MANIFEST_NET_FROM_MAC) {
            if (!mac_valid(from_value)) {
                ydiag_error(&l->diag, v, "'mac': expected a MAC address such as 52:54:00:12:34:56, got '%s'", from_value);
                return;
            }
            g_autofree char *lower = g_ascii_strdown(from_value, -1);
            g_free(from_value);
            from_value = g_steal_pointer(&lower);
        }
    } else {
        ydiag_error(&l->diag, f, "'from': expected any or a mapping with one of bridge, network or mac, got a sequence");
        return;
    }

    const struct ynode *to = ynode_get(n, "to");
    unsigned to_kind = 0;
    const struct ynode *tv = NULL;
    if (!mcheck_mapping(l, to, "to") ||
        !one_of(l, to, "to", to_keys, "network or bridge", &to_kind, &tv) ||
        !mget_string(l, tv, to_keys[to_kind], &to_value))
        return;

    g_autofree char *id = from == MANIFEST_NET_FROM_ANY
        ? g_strdup("any")
        : g_strdup_printf("%s '%s'", from_keys[from], from_value);
    const struct ynode *first = g_hash_table_lookup(seen, id);
    if (first != NULL) {
        ydiag_error(&l->diag, f, "duplicate network mapping from %s", id);
        ydiag_note(&l->diag, first, "first mapped here");
        return;
    }
    g_hash_table_insert(seen, g_steal_pointer(&id), (gpointer)f);

    struct manifest_netmap *nm = g_new0(struct manifest_netmap, 1);
    nm->from = from;
    nm->from_value = g_steal_pointer(&from_value);
    nm->to = (enum manifest_net_to)to_kind;
    nm->to_value = g_steal_pointer(&to_value);
    nm->loc = mloc(l, n);
    g_ptr_array_add(t->networks, nm);
}

static void
parse_pools(struct mload *l, const struct ynode *pools,
            struct manifest_target *t)
{
    if (!mcheck_mapping(l, pools, "pools") ||
        !mcheck_keys(l, pools, "pools", pools_keys))
        return;
    const struct ynode *d = ynode_get(pools, "default");
    if (d != NULL)
        mget_string(l, d, "default", &t->pool_default);
    const struct ynode *map = ynode_get(pools, "map");
    if (map == NULL || !mcheck_mapping(l, map, "map"))
        return;
    for (guint i = 0; i < map->pairs->len; i++) {
        const struct ynode_pair *p = g_ptr_array_index(map->pairs, i);
        char *pool = NULL;
        char *sr = NULL;
        if (!mget_string(l, p->key, "map", &sr))
            continue;
        if (!mget_string(l, p->value, sr, &pool)) {
            g_free(sr);
            continue;
        }
        g_hash_table_replace(t->pool_map, sr, pool);
    }
}

void
mtarget_parse(struct mload *l, const struct ynode *key,
              const struct ynode *body)
{
    const char *name = key->value;

    if (!mname_valid(name)) {
        ydiag_error(&l->diag, key, "target name '%s': expected letters, digits, '.', '_' and '-' starting with a letter or digit", name);
        return;
    }
    if (g_strv_contains(known_keys, name))
        ydiag_warning(&l->diag, key, "target '%s' is named like a key of a target; if it belongs to the target above, indent it under that target", name);
    const struct ynode *first = g_hash_table_lookup(l->target_keys, name);
    if (first != NULL) {
        ydiag_error(&l->diag, key, "duplicate target '%s'", name);
        ydiag_note(&l->diag, first, "first defined here");
        return;
    }
    g_hash_table_insert(l->target_keys, (gpointer)name, (gpointer)key);

    struct manifest_target *t = mtarget_new();
    t->name = g_strdup(name);
    t->loc = mloc(l, key);
    t->domain_type = g_strdup("kvm");
    g_ptr_array_add(l->m->targets, t);

    if (!mcheck_mapping(l, body, name) ||
        !mrequire(l, body, "type", "target"))
        return;
    unsigned kind = 0;
    if (!mget_enum(l, ynode_get(body, "type"), "type", kind_names, &kind))
        return;
    t->kind = (enum manifest_target_kind)kind;

    if (t->kind == MANIFEST_TARGET_DIRECTORY) {
        mcheck_keys(l, body, "directory target", directory_keys);
        if (mrequire(l, body, "path", "directory target"))
            mget_path(l, ynode_get(body, "path"), "path", &t->path);
    } else {
        mcheck_keys(l, body, "libvirt target", libvirt_keys);
        if (mrequire(l, body, "uri", "libvirt target"))
            mget_string(l, ynode_get(body, "uri"), "uri", &t->uri);
        const struct ynode *pools = ynode_get(body, "pools");
        if (pools != NULL)
            parse_pools(l, pools, t);
        const struct ynode *up = ynode_get(body, "upload");
        unsigned mode = 0;
        if (up != NULL && mget_enum(l, up, "upload", upload_modes, &mode))
            t->upload_stream = mode == 1;
    }

    const struct ynode *dt = ynode_get(body, "domain_type");
    unsigned dtk = 0;
    if (dt != NULL && mget_enum(l, dt, "domain_type", domain_types, &dtk)) {
        g_free(t->domain_type);
        t->domain_type = g_strdup(domain_types[dtk]);
    }

    const struct ynode *nets = ynode_get(body, "networks");
    if (nets == NULL)
        return;
    if (nets->kind != YNODE_SEQUENCE) {
        ydiag_error(&l->diag, nets, "'networks': expected a list of {from, to} mappings, got a %s", ynode_kind_name(nets->kind));
        return;
    }
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < nets->items->len; i++)
        parse_netmap(l, g_ptr_array_index(nets->items, i), t, seen);
}
