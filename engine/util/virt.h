/* libvirt client helpers shared by the libvirt source and target: the
 * process-wide setup libvirt asks of its clients, and what makes a URI
 * remote. */
#pragma once

#include <stdbool.h>

/* Once per process: silence libvirt's stderr reports (errors go through
 * GError), run the default event loop on a thread (keepalive needs one),
 * and ignore SIGPIPE, so a connection cut mid-write is an error, not a
 * death.  Thread-safe. */
void virt_init(void);

/* Does the URI name a transport ("qemu+ssh://…", "qemu+unix:///…") or a
 * host ("qemu://kvm1/system")?  "qemu:///system" and "xen:///system" are
 * local. */
bool virt_uri_is_remote(const char *uri);

typedef struct _virConnect *virConnectPtr;
/* The convoy error code for libvirt's last error: CONVOY_ERROR_LIBVIRT
 * (transient: a reconnect and a retry may help) when the connection or
 * its transport failed, CONVOY_ERROR_FAILED when the daemon refused (a
 * rejected XML, a missing object, a denied operation), and
 * CONVOY_ERROR_REFUSED for a system error whose errno will not change on a
 * retry (EACCES, EROFS, ENAMETOOLONG…). */
int virt_error_code(void);
/* The same for a given error (NULL: CONVOY_ERROR_LIBVIRT); borrows e. */
struct _virError;
int virt_error_code_of(const struct _virError *e);
/* Keepalive on a remote connection (5 s interval, 6 missed answers): a
 * dead peer is noticed in about 30 s, not at the TCP timeout.  NULL when
 * it is on, else a new string saying why not (for a plan warning). */
char *virt_keepalive(virConnectPtr c, const char *uri);
