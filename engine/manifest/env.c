/* ${env:NAME} expansion in manifest scalar values.  Only manifests expand
 * the environment (rules files never do); "$${" writes a literal "${". */
#include "config.h"

#include <string.h>

#include "manifest/manifest-priv.h"

static bool
env_name_valid(const char *s, size_t len)
{
    if (len == 0 || !(g_ascii_isalpha(s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < len; i++) {
        if (!g_ascii_isalnum(s[i]) && s[i] != '_')
            return false;
    }
    return true;
}

static void
expand_scalar(struct mload *l, struct ynode *n)
{
    if (strchr(n->value, '$') == NULL)
        return;

    g_autoptr(GString) out = g_string_new(NULL);
    const char *p = n->value;
    while (*p != '\0') {
        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            g_string_append(out, "${");
            p += 3;
            continue;
        }
        if (p[0] != '$' || p[1] != '{') {
            g_string_append_c(out, *p++);
            continue;
        }
        const char *inner = p + 2;
        const char *end = strchr(inner, '}');
        if (end == NULL) {
            g_hash_table_add(l->bad_nodes, n);
            ydiag_error(&l->diag, n, "unterminated '${' in '%s'; expected ${env:NAME} (write $${ for a literal ${)", n->value);
            return;
        }
        size_t len = (size_t)(end - inner);
        if (len < 4 || strncmp(inner, "env:", 4) != 0 ||
            !env_name_valid(inner + 4, len - 4)) {
            g_hash_table_add(l->bad_nodes, n);
            ydiag_error(&l->diag, n, "invalid substitution '${%.*s}'; expected ${env:NAME} (write $${ for a literal ${)", (int)len, inner);
            return;
        }
        g_autofree char *name = g_strndup(inner + 4, len - 4);
        const char *val = g_getenv(name);
        if (val == NULL) {
            g_hash_table_add(l->bad_nodes, n);
            ydiag_error(&l->diag, n, "environment variable '%s' is not set", name);
            return;
        }
        g_string_append(out, val);
        p = end + 1;
    }
    g_free(n->value);
    n->value = g_string_free(g_steal_pointer(&out), FALSE);
}

static void
expand_node(struct mload *l, struct ynode *n, GHashTable *seen,
            unsigned depth)
{
    /* Aliases share nodes: expand each node once. */
    if (depth > YNODE_MAX_DEPTH || !g_hash_table_add(seen, n))
        return;
    switch (n->kind) {
    case YNODE_SCALAR:
        expand_scalar(l, n);
        break;
    case YNODE_SEQUENCE:
        for (guint i = 0; i < n->items->len; i++)
            expand_node(l, g_ptr_array_index(n->items, i), seen, depth + 1);
        break;
    case YNODE_MAPPING:
        for (guint i = 0; i < n->pairs->len; i++) {
            struct ynode_pair *p = g_ptr_array_index(n->pairs, i);
            if (g_str_has_prefix(p->key->value, "x-"))
                continue;
            expand_node(l, p->value, seen, depth + 1);
        }
        break;
    case YNODE_LAST:
    default:
        break;
    }
}

void
menv_expand(struct mload *l, struct ydoc *doc)
{
    if (doc->root == NULL)
        return;
    g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
    expand_node(l, doc->root, seen, 0);
}
