/* The libvirt target's connection: open through libvirt's own
 * authentication (ssh agent/keys, TLS certificates, SASL auth file),
 * keepalive on remote URIs, reconnect with backoff when it drops. */
#include "config.h"

#include <stdarg.h>
#include <string.h>
#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/xpath.h>

#include "targets/libvirt-priv.h"
#include "util/autoptr.h"
#include "util/error.h"
#include "util/virt.h"

bool
lv_error(GError **error, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *what = NULL;
    const char *msg = virGetLastErrorMessage();

    va_start(ap, fmt);
    what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, CONVOY_ERROR, virt_error_code(), "libvirt: %s: %s",
                what, msg != NULL ? msg : "unknown error");
    return false;
}

static bool
open_once(struct lv_target *lt, GError **error)
{
    virConnectPtr c = virConnectOpenAuth(lt->uri, virConnectAuthPtrDefault, 0);

    if (c == NULL)
        return lv_error(error, "cannot connect to '%s'", lt->uri);
    /* Keepalive: a dead peer is noticed in about 30 s rather than at the
     * TCP timeout.  Local connections do not need it. */
    if (lt->remote) {
        g_free(lt->keepalive_note);
        lt->keepalive_note = virt_keepalive(c, lt->uri);
    }
    lt->conn = c;
    return true;
}

bool
lv_connect(struct lv_target *lt, GError **error)
{
    virt_init();
    return open_once(lt, error);
}

virConnectPtr
lv_conn(struct lv_target *lt, GError **error)
{
    const char *env = g_getenv("CONVOY_LIBVIRT_RETRIES");
    guint64 tries = 6;
    gulong delay = 250000;
    g_autoptr(GError) last = NULL;

    g_autoptr(GMutexLocker) locker G_GNUC_UNUSED = g_mutex_locker_new(&lt->lock);

    if (lt->conn != NULL && virConnectIsAlive(lt->conn) == 1)
        return lt->conn;
    if (env != NULL)
        g_ascii_string_to_unsigned(env, 10, 1, 100, &tries, NULL);
    if (lt->conn != NULL) {
        virConnectClose(lt->conn);
        lt->conn = NULL;
    }
    for (guint64 i = 0; i < tries; i++) {
        g_clear_error(&last);
        if (open_once(lt, &last))
            return lt->conn;
        if (i + 1 < tries) {
            g_usleep(delay);
            delay = MIN(delay * 2, 8000000);
        }
    }
    g_propagate_prefixed_error(error, g_steal_pointer(&last),
                               "connection lost, %u reconnect attempts failed: ",
                               (unsigned)tries);
    return NULL;
}

bool
lv_split_location(const char *location, char **pool, char **vol)
{
    const char *slash = strchr(location, '/');

    if (slash == NULL || slash == location || slash[1] == '\0')
        return false;
    *pool = g_strndup(location, (gsize)(slash - location));
    *vol = g_strdup(slash + 1);
    return true;
}

static char *
xpath_string(xmlDoc *doc, const char *expr)
{
    g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(doc);
    g_autoptr(xmlXPathObject) obj = NULL;

    if (ctx == NULL)
        return NULL;
    obj = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
    if (obj == NULL || obj->type != XPATH_STRING || obj->stringval == NULL ||
        obj->stringval[0] == '\0')
        return NULL;
    return g_strdup((const char *)obj->stringval);
}

void
lv_pool_facts(virStoragePoolPtr pool, char **type, char **path)
{
    g_autofree char *xml = virStoragePoolGetXMLDesc(pool, 0);
    g_autoptr(xmlDoc) doc = NULL;

    *type = NULL;
    *path = NULL;
    if (xml == NULL)
        return;
    doc = xmlReadMemory(xml, (int)strlen(xml), "pool.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL)
        return;
    *type = xpath_string(doc, "string(/pool/@type)");
    *path = xpath_string(doc, "string(/pool/target/path)");
}
