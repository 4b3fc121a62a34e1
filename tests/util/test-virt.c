/* Unit tests of util/virt: which libvirt failures are transient (worth a
 * reconnect and a retry) and which are the daemon refusing, on libvirt's
 * own in-process test driver (test:///default) and a socket that does not
 * exist; and which URIs count as remote. */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "util/error.h"
#include "util/virt.h"

int
main(void)
{
    virConnectPtr c;
    virDomainPtr dom;

    virt_init();
    /* The daemon refuses: not transient. */
    c = virConnectOpen("test:///default");
    assert(c != NULL);
    dom = virDomainDefineXML(c, "<domain type='test'><name>x</name>");
    assert(dom == NULL);
    assert(virt_error_code() == CONVOY_ERROR_FAILED);
    dom = virDomainLookupByName(c, "no-such-domain");
    assert(dom == NULL);
    assert(virt_error_code() == CONVOY_ERROR_FAILED);
    assert(virStoragePoolLookupByName(c, "no-such-pool") == NULL);
    assert(virt_error_code() == CONVOY_ERROR_FAILED);
    virConnectClose(c);

    /* No daemon behind the socket: transient. */
    c = virConnectOpen("qemu+unix:///system?socket=/nonexistent/convoy-test-sock");
    assert(c == NULL);
    assert(virt_error_code() == CONVOY_ERROR_LIBVIRT);

    /* A system error carries its errno: EACCES is for good, EIO is not. */
    virError se = {.code = VIR_ERR_SYSTEM_ERROR, .domain = VIR_FROM_STORAGE,
                   .message = (char *)"cannot open volume", .level = VIR_ERR_ERROR,
                   .int1 = EACCES};
    assert(virt_error_code_of(&se) == CONVOY_ERROR_REFUSED);
    se.int1 = EIO;
    assert(virt_error_code_of(&se) == CONVOY_ERROR_LIBVIRT);

    assert(virt_uri_is_remote("qemu+ssh://kvm1/system"));
    assert(virt_uri_is_remote("qemu+unix:///system?socket=/x"));
    assert(virt_uri_is_remote("qemu://kvm1/system"));
    assert(!virt_uri_is_remote("qemu:///system"));
    assert(!virt_uri_is_remote("test:///default"));
    fprintf(stderr, "ok\n");
    return 0;
}
