/* Manifest host moves: a wave's moves: entries, each an existing libvirt
 * domain to move from one KVM host to another with libvirt's migration
 * API, and the options libvirt's migration guide names. */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "manifest/manifest-priv.h"

static const char *const move_keys[] = {
    "domain", "from", "to", "live", "peer_to_peer", "tunnelled", "persist",
    "undefine_source", "migrate_uri", "bandwidth", "auto_converge",
    "compressed", NULL,
};

/* The libvirt target a move names as from: or to:, or NULL (reported). */
static const struct manifest_target *
libvirt_target(struct mload *l, const struct ynode *at, const char *key,
               const char *name, const char *domain)
{
    const struct manifest_target *t = manifest_find_target(l->m, name);

    if (t == NULL) {
        g_autofree char *names = mjoin_names(l->m->targets, offsetof(struct manifest_target, name));
        if (strcmp(key, "from") == 0)
            ydiag_error(&l->diag, at, "move '%s': 'from': target '%s' is not defined; expected a libvirt target or a libvirt URI such as qemu+ssh://root@kvm1.example/system; defined targets: %s", domain, name, l->m->targets->len > 0 ? names : "none");
        else
            ydiag_error(&l->diag, at, "move '%s': 'to': target '%s' is not defined; expected a libvirt target; defined targets: %s", domain, name, l->m->targets->len > 0 ? names : "none");
        return NULL;
    }
    if (t->kind != MANIFEST_TARGET_LIBVIRT) {
        ydiag_error(&l->diag, at, "move '%s': '%s': target '%s' is a %s target; a move runs between libvirt targets", domain, key, name, manifest_target_kind_name(t->kind));
        return NULL;
    }
    return t;
}

/* from: written as a URI → a target of its own, named by the URI. */
static struct manifest_target *
uri_target(struct mload *l, const struct ynode *at, const char *uri)
{
    struct manifest_target *t = mtarget_new();

    t->name = g_strdup(uri);
    t->kind = MANIFEST_TARGET_LIBVIRT;
    t->loc = mloc(l, at);
    t->uri = g_strdup(uri);
    t->domain_type = g_strdup("kvm");
    return t;
}

static void
get_flag(struct mload *l, const struct ynode *n, const char *key, bool *out)
{
    const struct ynode *x = ynode_get(n, key);

    if (x != NULL)
        mget_bool(l, x, key, out);
}

/* Options that only make sense together, reported at the option. */
static void
check_options(struct mload *l, const struct ynode *n, struct manifest_move *mv)
{
    if (!mv->live && !mv->persist)
        ydiag_error(&l->diag, ynode_get(n, "persist"), "move '%s': 'persist': an offline move (live: false) moves only the definition, so it needs persist: true", mv->domain);
    if (mv->tunnelled && !mv->peer_to_peer)
        ydiag_error(&l->diag, ynode_get(n, "tunnelled"), "move '%s': 'tunnelled': a tunnelled migration is peer to peer; set peer_to_peer: true as well", mv->domain);
    if (mv->tunnelled && mv->migrate_uri != NULL)
        ydiag_error(&l->diag, ynode_get(n, "migrate_uri"), "move '%s': 'migrate_uri': a tunnelled migration carries the data over the libvirtd connection; drop migrate_uri or tunnelled", mv->domain);
    if (!mv->live && mv->auto_converge)
        ydiag_error(&l->diag, ynode_get(n, "auto_converge"), "move '%s': 'auto_converge': applies to a live move (live: true)", mv->domain);
    if (!mv->live && mv->compressed)
        ydiag_error(&l->diag, ynode_get(n, "compressed"), "move '%s': 'compressed': applies to a live move (live: true)", mv->domain);
}

void
mmove_parse(struct mload *l, const struct ynode *n, struct manifest_wave *w,
            GHashTable *domains)
{
    if (!mcheck_mapping(l, n, "moves"))
        return;
    mcheck_keys(l, n, "move", move_keys);
    bool have_domain = mrequire(l, n, "domain", "move");
    bool have_from = mrequire(l, n, "from", "move");
    bool have_to = mrequire(l, n, "to", "move");
    if (!have_domain)
        return;
    const struct ynode *dn = ynode_get(n, "domain");
    g_autofree char *domain = NULL;
    if (!mget_string(l, dn, "domain", &domain))
        return;
    if (strchr(domain, '/') != NULL) {
        ydiag_error(&l->diag, dn, "'domain': expected a libvirt domain name without '/', got '%s'", domain);
        return;
    }
    const struct ynode *first = g_hash_table_lookup(domains, domain);
    if (first != NULL) {
        ydiag_error(&l->diag, dn, "duplicate move of domain '%s'; a domain moves once per manifest", domain);
        ydiag_note(&l->diag, first, "first moved here");
        return;
    }
    g_hash_table_insert(domains, g_strdup(domain), (gpointer)dn);

    struct manifest_move *mv = g_new0(struct manifest_move, 1);
    mv->domain = g_steal_pointer(&domain);
    mv->loc = mloc(l, n);
    mv->wave = w;
    mv->persist = true;
    g_ptr_array_add(l->m->moves, mv);
    g_ptr_array_add(w->moves, mv);

    const struct ynode *fn = ynode_get(n, "from");
    if (have_from && mget_string(l, fn, "from", &mv->from)) {
        if (strstr(mv->from, "://") != NULL) {
            mv->uri_target = uri_target(l, fn, mv->from);
            mv->from_target = mv->uri_target;
        } else {
            mv->from_target = libvirt_target(l, fn, "from", mv->from, mv->domain);
        }
    }
    const struct ynode *tn = ynode_get(n, "to");
    if (have_to && mget_string(l, tn, "to", &mv->to))
        mv->to_target = libvirt_target(l, tn, "to", mv->to, mv->domain);
    if (mv->from_target != NULL && mv->to_target != NULL &&
        (mv->from_target == mv->to_target ||
         g_strcmp0(mv->from_target->uri, mv->to_target->uri) == 0))
        ydiag_error(&l->diag, tn, "move '%s': 'to': target '%s' is the host it moves from (%s)", mv->domain, mv->to, mv->to_target->uri);

    get_flag(l, n, "live", &mv->live);
    get_flag(l, n, "peer_to_peer", &mv->peer_to_peer);
    get_flag(l, n, "tunnelled", &mv->tunnelled);
    get_flag(l, n, "persist", &mv->persist);
    get_flag(l, n, "undefine_source", &mv->undefine_source);
    get_flag(l, n, "auto_converge", &mv->auto_converge);
    get_flag(l, n, "compressed", &mv->compressed);
    const struct ynode *x = ynode_get(n, "migrate_uri");
    if (x != NULL && mget_string(l, x, "migrate_uri", &mv->migrate_uri) &&
        strstr(mv->migrate_uri, "://") == NULL)
        ydiag_error(&l->diag, x, "'migrate_uri': expected a migration URI such as tcp://10.0.0.2/ on the migration network, got '%s'", mv->migrate_uri);
    x = ynode_get(n, "bandwidth");
    if (x != NULL)
        mget_uint(l, x, "bandwidth", 1, 1000000, &mv->bandwidth);
    check_options(l, n, mv);

    /* The executor's unit of work: a VM named after the domain, landing
     * on to, with the wave's hooks. */
    mv->vm = mvm_new();
    mv->vm->name = g_strdup(mv->domain);
    mv->vm->source = g_strdup(mv->from);
    mv->vm->target = g_strdup(mv->to);
    mv->vm->loc = mv->loc;
    mv->vm->wave = w;
    mv->vm->hooks.pre = g_strdup(w->hooks.pre);
    mv->vm->hooks.post = g_strdup(w->hooks.post);
    mv->vm->hooks.timeout = w->hooks.timeout;
}
