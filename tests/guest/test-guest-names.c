/* Unit tests of the disk names guest repair writes (issue #19): the name
 * on KVM of each /dev name the guest used on Xen, given the VM's disks as
 * the domain names them (rename-disks, the direct-boot root=), and the
 * order the disks are given to the appliance in. */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "guest/guest-session.h"

static int failures;

static void
expect(struct guest_session *gs, const char *letters, const char *part, const char *want)
{
    g_autofree char *got = guest_kvm_disk_name(gs, letters, part);

    if (strcmp(got, want) != 0) {
        fprintf(stderr, "FAIL: %s%s: got '%s', expected '%s'\n", letters, part, got, want);
        failures++;
    }
}

int
main(void)
{
    /* Xen's disk = ['…,xvda1,w', '…,xvda2,w', '…,xvdb,w']: on KVM vda,
     * vdc, vdb (the domain conversion's whole-disk names). */
    char *devs[] = {(char *)"vda", (char *)"vdb", (char *)"vdc", NULL};
    char *xen[] = {(char *)"xvda1", (char *)"xvdb", (char *)"xvda2", NULL};
    struct guest_session gs = {.devs = devs, .xen_devs = xen};
    /* As libvirt and xl name them: letters kept. */
    char *devs2[] = {(char *)"vda", (char *)"vdb", NULL};
    char *xen2[] = {(char *)"xvda", (char *)"hdb", NULL};
    struct guest_session gs2 = {.devs = devs2, .xen_devs = xen2};
    struct guest_disk disks[] = {
        {.path = "swap", .dev = "vdb"},
        {.path = "far", .dev = "vdaa"},
        {.path = "root", .dev = "vda"},
        {.path = "unnamed"},
        {.path = "third", .dev = "vdc"},
    };
    static const char *const order[] = {"root", "swap", "third", "far", "unnamed"};

    expect(&gs, "a", "1", "/dev/vda");   /* the root, a disk of its own */
    expect(&gs, "a", "2", "/dev/vdc");   /* the swap, a disk of its own */
    expect(&gs, "b", "", "/dev/vdb");
    expect(&gs, "b", "3", "/dev/vdb3");
    expect(&gs, "d", "1", "/dev/vdd1");  /* not a disk of this VM: kept */
    expect(&gs2, "a", "1", "/dev/vda1");
    expect(&gs2, "b", "2", "/dev/vdb2"); /* hdb2, sdb2 and xvdb2 alike */
    expect(&gs2, "c", "", "/dev/vdc");

    guest_disks_sort(disks, G_N_ELEMENTS(disks));
    for (size_t i = 0; i < G_N_ELEMENTS(order); i++) {
        if (strcmp(disks[i].path, order[i]) != 0) {
            fprintf(stderr, "FAIL: disk %zu is '%s', expected '%s'\n", i, disks[i].path,
                    order[i]);
            failures++;
        }
    }
    if (failures == 0)
        printf("guest-names: ok\n");
    return failures == 0 ? 0 : 1;
}
