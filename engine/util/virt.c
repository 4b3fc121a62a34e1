/* libvirt client helpers: process-wide setup and the remote-URI rule. */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "util/error.h"
#include "util/virt.h"

/* Deep code never prints: libvirt's default error handler would. */
static void
quiet_errors(void *opaque, virErrorPtr err)
{
}

static gpointer
event_loop(gpointer data)
{
    for (;;) {
        if (virEventRunDefaultImpl() < 0)
            g_usleep(100000);
    }
    return NULL;
}

void
virt_init(void)
{
    static gsize done = 0;

    if (g_once_init_enter(&done)) {
        signal(SIGPIPE, SIG_IGN);
        virSetErrorFunc(NULL, quiet_errors);
        if (virEventRegisterDefaultImpl() == 0)
            g_thread_unref(g_thread_new("convoy-libvirt-events", event_loop, NULL));
        g_once_init_leave(&done, 1);
    }
}

int
virt_error_code(void)
{
    return virt_error_code_of(virGetLastError());
}

int
virt_error_code_of(const struct _virError *e)
{
    if (e == NULL)
        return CONVOY_ERROR_LIBVIRT;
    switch (e->code) {
    case VIR_ERR_SYSTEM_ERROR:
        /* int1 holds the errno: permission denied stays denied. */
        if (e->int1 > 0 &&
            convoy_error_from_errno(e->int1) == CONVOY_ERROR_REFUSED)
            return CONVOY_ERROR_REFUSED;
        return CONVOY_ERROR_LIBVIRT;
    case VIR_ERR_RPC:
    case VIR_ERR_NO_CONNECT:
    case VIR_ERR_INVALID_CONN:
    case VIR_ERR_OPERATION_TIMEOUT:
    case VIR_ERR_AUTH_UNAVAILABLE:
        return CONVOY_ERROR_LIBVIRT;
    default:
        /* the transport's own failures (a closed socket, a cut stream) */
        if (e->domain == VIR_FROM_RPC || e->domain == VIR_FROM_REMOTE ||
            e->domain == VIR_FROM_STREAMS)
            return CONVOY_ERROR_LIBVIRT;
        return CONVOY_ERROR_FAILED;
    }
}

char *
virt_keepalive(virConnectPtr c, const char *uri)
{
    switch (virConnectSetKeepAlive(c, 5, 6)) {
    case 0:
        return NULL;
    case 1:
        return g_strdup_printf("libvirt: '%s' does not support keepalive: a dead link is noticed only at the TCP timeout", uri);
    default: {
        const char *msg = virGetLastErrorMessage();
        return g_strdup_printf("libvirt: cannot enable keepalive on '%s' (%s): a dead link is noticed only at the TCP timeout",
                               uri, msg != NULL ? msg : "unknown error");
    }
    }
}

bool
virt_uri_is_remote(const char *uri)
{
    const char *colon = strchr(uri, ':');
    const char *plus = strchr(uri, '+');

    if (plus != NULL && (colon == NULL || plus < colon))
        return true;
    /* "driver://host/…": anything between "//" and the next '/'. */
    if (colon != NULL && g_str_has_prefix(colon, "://"))
        return colon[3] != '/' && colon[3] != '\0';
    return false;
}
