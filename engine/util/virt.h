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
