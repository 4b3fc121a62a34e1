/* Manifest sources: one definition per name, checked per kind (xva,
 * xenserver, libvirt, libvirtxml, xl).  Secrets are never inline. */
#include "config.h"

#include <string.h>

#include "manifest/manifest-priv.h"

static const char *const kind_names[] = {
    "xva", "xenserver", "libvirt", "libvirtxml", "xl", NULL,
};

static const char *const xva_keys[] = {
    "type", "path", "url", "username", "password_file", "password_env",
    "token_file", "ca_file", "insecure", NULL,
};
static const char *const xenserver_keys[] = {
    "type", "url", "username", "password_file", "password_env", "ca_file",
    "insecure", "use_compression", "shutdown_timeout", "hard_shutdown_after",
    "export", NULL,
};
/* In the order of enum manifest_export. */
static const char *const export_names[] = {"auto", "xva", "raw_vdi", NULL};

#define SHUTDOWN_TIMEOUT_DEFAULT 600
#define SHUTDOWN_SECONDS_MAX 86400
static const char *const libvirt_keys[] = {
    "type", "uri", "disk_access", "shutdown_timeout", "hard_shutdown_after",
    NULL,
};
static const char *const disk_access_names[] = {"auto", "path", "stream", NULL};
static const char *const path_keys[] = {"type", "path", NULL};
/* Every key of a source mapping, for a misindented key read as a
 * source's name. */
static const char *const known_keys[] = {
    "type", "path", "url", "uri", "username", "password", "password_file",
    "password_env", "token_file", "ca_file", "insecure", "use_compression",
    "shutdown_timeout", "hard_shutdown_after", "export", "disk_access", NULL,
};

static bool
env_var_name_valid(const char *s)
{
    if (!(g_ascii_isalpha(s[0]) || s[0] == '_'))
        return false;
    for (const char *p = s; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && *p != '_')
            return false;
    }
    return true;
}

/* ca_file and insecure, for every source spoken to over HTTPS. */
static void
parse_tls(struct mload *l, const struct ynode *body, struct manifest_source *s)
{
    const struct ynode *n = ynode_get(body, "ca_file");

    if (n != NULL)
        mget_path(l, n, "ca_file", &s->ca_file);
    n = ynode_get(body, "insecure");
    if (n != NULL && mget_bool(l, n, "insecure", &s->insecure) &&
        s->insecure && s->ca_file != NULL) {
        ydiag_error(&l->diag, n, "'insecure': cannot be true together with 'ca_file'");
    }
}

/* password_file or password_env (never both); required says whether
 * one of them must be given. */
static void
parse_password(struct mload *l, const struct ynode *body,
               struct manifest_source *s, bool required, const char *what)
{
    const struct ynode *pf = ynode_get(body, "password_file");
    const struct ynode *pe = ynode_get(body, "password_env");

    if (pf != NULL && pe != NULL)
        ydiag_error(&l->diag, pe, "'password_env': give either 'password_file' or 'password_env', not both");
    else if (required && pf == NULL && pe == NULL &&
             ynode_get(body, "password") == NULL)
        ydiag_error(&l->diag, body, "missing required key 'password_file' or 'password_env' in %s", what);
    if (pf != NULL)
        mget_path(l, pf, "password_file", &s->password_file);
    if (pe != NULL && mget_string(l, pe, "password_env", &s->password_env) &&
        !env_var_name_valid(s->password_env)) {
        ydiag_error(&l->diag, pe, "'password_env': expected an environment variable name, got '%s'", s->password_env);
    }
}

static void
parse_xva(struct mload *l, const struct ynode *body, struct manifest_source *s)
{
    static const char *const url_only[] = {
        "username", "password_file", "password_env", "token_file", "ca_file",
        "insecure", NULL,
    };
    const struct ynode *path = ynode_get(body, "path");
    const struct ynode *url = ynode_get(body, "url");

    if (path != NULL && url != NULL) {
        ydiag_error(&l->diag, url, "'url': an xva source has either 'path' or 'url', not both");
        return;
    }
    if (path == NULL && url == NULL) {
        ydiag_error(&l->diag, body, "missing required key 'path' or 'url' in xva source");
        return;
    }
    if (path != NULL) {
        mget_path(l, path, "path", &s->path);
        for (size_t i = 0; url_only[i] != NULL; i++) {
            const struct ynode *n = ynode_get(body, url_only[i]);
            if (n != NULL)
                ydiag_error(&l->diag, n, "'%s': only an xva source with 'url' takes this key", url_only[i]);
        }
        return;
    }
    mget_url(l, url, "url", &s->url);
    parse_tls(l, body, s);

    const struct ynode *user = ynode_get(body, "username");
    const struct ynode *tok = ynode_get(body, "token_file");
    if (user != NULL && tok != NULL) {
        ydiag_error(&l->diag, tok, "'token_file': give either 'username' (basic auth) or 'token_file' (bearer token), not both");
        return;
    }
    if (tok != NULL) {
        mget_path(l, tok, "token_file", &s->token_file);
        if (ynode_get(body, "password_file") != NULL ||
            ynode_get(body, "password_env") != NULL)
            ydiag_error(&l->diag, tok, "'token_file': a bearer token takes no password_file or password_env");
        return;
    }
    if (user != NULL) {
        mget_string(l, user, "username", &s->username);
        parse_password(l, body, s, true, "xva source with 'username'");
    } else if (ynode_get(body, "password_file") != NULL ||
               ynode_get(body, "password_env") != NULL) {
        ydiag_error(&l->diag, body, "missing required key 'username' in xva source with a password");
    }
}

/* shutdown_timeout and hard_shutdown_after (xenserver, libvirt). */
static void
parse_shutdown(struct mload *l, const struct ynode *body,
               struct manifest_source *s)
{
    const struct ynode *n;

    s->shutdown_timeout = SHUTDOWN_TIMEOUT_DEFAULT;
    n = ynode_get(body, "shutdown_timeout");
    if (n != NULL)
        mget_uint(l, n, "shutdown_timeout", 1, SHUTDOWN_SECONDS_MAX,
                  &s->shutdown_timeout);
    n = ynode_get(body, "hard_shutdown_after");
    if (n != NULL)
        mget_uint(l, n, "hard_shutdown_after", 1, SHUTDOWN_SECONDS_MAX,
                  &s->hard_shutdown_after);
}

static void
parse_xenserver(struct mload *l, const struct ynode *body,
                struct manifest_source *s)
{
    const struct ynode *n;

    if (mrequire(l, body, "url", "xenserver source"))
        mget_url(l, ynode_get(body, "url"), "url", &s->url);
    if (mrequire(l, body, "username", "xenserver source"))
        mget_string(l, ynode_get(body, "username"), "username", &s->username);

    parse_password(l, body, s, true, "xenserver source");
    parse_tls(l, body, s);

    n = ynode_get(body, "use_compression");
    if (n != NULL)
        mget_bool(l, n, "use_compression", &s->use_compression);
    /* /export_raw_vdi has no compression: asking for it means /export
     * unless export: says otherwise. */
    s->export_mode = s->use_compression ? MANIFEST_EXPORT_XVA : MANIFEST_EXPORT_AUTO;
    n = ynode_get(body, "export");
    unsigned ex = 0;
    if (n != NULL && mget_enum(l, n, "export", export_names, &ex)) {
        s->export_mode = (enum manifest_export)ex;
        if (s->export_mode == MANIFEST_EXPORT_RAW_VDI && s->use_compression)
            ydiag_error(&l->diag, n,
                        "'export': raw_vdi streams uncompressed disks, so it cannot go with 'use_compression: true'; expected 'xva' or 'auto'");
    }
    parse_shutdown(l, body, s);
}

static void
parse_libvirt(struct mload *l, const struct ynode *body,
              struct manifest_source *s)
{
    const struct ynode *n = ynode_get(body, "disk_access");
    unsigned access = 0;

    if (mrequire(l, body, "uri", "libvirt source"))
        mget_string(l, ynode_get(body, "uri"), "uri", &s->uri);
    if (n != NULL && mget_enum(l, n, "disk_access", disk_access_names, &access))
        s->disk_access = (enum manifest_disk_access)access;
    parse_shutdown(l, body, s);
}

void
msource_parse(struct mload *l, const struct ynode *key,
              const struct ynode *body)
{
    const char *name = key->value;

    if (!mname_valid(name)) {
        ydiag_error(&l->diag, key, "source name '%s': expected letters, digits, '.', '_' and '-' starting with a letter or digit", name);
        return;
    }
    if (g_strv_contains(known_keys, name))
        ydiag_warning(&l->diag, key, "source '%s' is named like a key of a source; if it belongs to the source above, indent it under that source", name);
    const struct ynode *first = g_hash_table_lookup(l->source_keys, name);
    if (first != NULL) {
        ydiag_error(&l->diag, key, "duplicate source '%s'", name);
        ydiag_note(&l->diag, first, "first defined here");
        return;
    }
    g_hash_table_insert(l->source_keys, (gpointer)name, (gpointer)key);

    struct manifest_source *s = msource_new();
    s->name = g_strdup(name);
    s->loc = mloc(l, key);
    g_ptr_array_add(l->m->sources, s);

    if (!mcheck_mapping(l, body, name))
        return;
    const struct ynode *pw = ynode_get(body, "password");
    if (pw != NULL)
        ydiag_error(&l->diag, pw, "'password': secrets are never written in the manifest; use password_file or password_env");
    if (!mrequire(l, body, "type", "source"))
        return;
    unsigned kind = 0;
    if (!mget_enum(l, ynode_get(body, "type"), "type", kind_names, &kind))
        return;
    s->kind = (enum manifest_source_kind)kind;

    switch (s->kind) {
    case MANIFEST_SOURCE_XVA:
        mcheck_keys(l, body, "xva source", xva_keys);
        parse_xva(l, body, s);
        break;
    case MANIFEST_SOURCE_XENSERVER:
        mcheck_keys(l, body, "xenserver source", xenserver_keys);
        parse_xenserver(l, body, s);
        break;
    case MANIFEST_SOURCE_LIBVIRT:
        mcheck_keys(l, body, "libvirt source", libvirt_keys);
        parse_libvirt(l, body, s);
        break;
    case MANIFEST_SOURCE_LIBVIRTXML:
    case MANIFEST_SOURCE_XL: {
        g_autofree char *what = g_strdup_printf("%s source", kind_names[kind]);
        mcheck_keys(l, body, what, path_keys);
        if (mrequire(l, body, "path", what))
            mget_path(l, ynode_get(body, "path"), "path", &s->path);
        break;
    }
    case MANIFEST_SOURCE_LAST:
    default:
        break;
    }
}
