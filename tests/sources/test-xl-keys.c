/* test-xl-keys: no silent loss.  Every key of xl.cfg(5) (the Xen 4.x
 * manual's list, written down below, plus the xm keys real hosts still
 * carry) is either converted (its effect is in the Xen domain XML), or
 * dropped with a warning that names it and says why, or makes the parse
 * fail with an error naming it.  Also: list-or-string values, nested
 * lists, and secrets in disk targets never reaching XML or messages. */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <libxml/tree.h>

#include "sources/sources.h"
#include "util/autoptr.h"
#include "util/error.h"

enum outcome {
    CONVERTS, /* parses; not dropped (a warning may concern one of its options); expect in the XML */
    WARNS,    /* parses; a warning "'KEY' is not carried over …: REASON" */
    FAILS,    /* the parse fails with an error naming the key */
};

struct row {
    const char *key;
    const char *value; /* as written after "KEY = " */
    enum outcome outcome;
    const char *expect; /* CONVERTS: in the XML ("!…": not in it), or NULL */
    const char *base;   /* the rest of the file ("name" and a guest type) */
};

#define HVM "name = \"k\"\ntype = \"hvm\"\n"
#define PV "name = \"k\"\n"
#define VNC HVM "vnc = 1\n"

/* xl.cfg(5), Xen 4.x, in the manual's order (docs/man/xl.cfg.5.pod.in:
 * every =item B<KEY=…> of its OPTIONS), then xm's keys. */
static const struct row rows[] = {
    {"name", "\"keytest\"", CONVERTS, "<name>keytest</name>", "type = \"hvm\"\n"},
    {"type", "\"hvm\"", CONVERTS, "machine='xenfv'>hvm</type>", "name = \"k\"\n"},
    {"builder", "\"hvm\"", CONVERTS, "machine='xenfv'>hvm</type>", "name = \"k\"\n"},
    {"pool", "\"Pool-0\"", WARNS, NULL, HVM},
    {"vcpus", "2", CONVERTS, ">2</vcpu>", HVM},
    {"maxvcpus", "4", CONVERTS, ">4</vcpu>", HVM},
    {"cpus", "[ \"2\", \"3-8,^5\" ]", WARNS, NULL, HVM},
    {"cpus_soft", "\"0-3\"", WARNS, NULL, HVM},
    {"cpu_weight", "512", WARNS, NULL, HVM},
    {"cap", "50", WARNS, NULL, HVM},
    {"memory", "512", CONVERTS, "<currentMemory unit='KiB'>524288<", HVM},
    {"maxmem", "1024", CONVERTS, "<memory unit='KiB'>1048576<", HVM},
    {"vnuma", "[ [ \"pnode=0\", \"size=128\", \"vcpus=0\", \"vdistances=10\" ] ]", CONVERTS,
     "<cell id='0' cpus='0' memory='128' unit='MiB'>", HVM},
    {"on_poweroff", "\"preserve\"", CONVERTS, "<on_poweroff>preserve<", HVM},
    {"on_reboot", "\"destroy\"", CONVERTS, "<on_reboot>destroy<", HVM},
    {"on_watchdog", "\"restart\"", WARNS, NULL, HVM},
    {"on_crash", "\"restart\"", CONVERTS, "<on_crash>restart<", HVM},
    {"on_soft_reset", "\"soft-reset\"", WARNS, NULL, HVM},
    {"kernel", "\"/boot/vmlinuz\"", CONVERTS, "<kernel>/boot/vmlinuz</kernel>", PV},
    {"ramdisk", "\"/boot/initrd\"", CONVERTS, "<initrd>/boot/initrd</initrd>", PV},
    {"cmdline", "\"root=/dev/xvda1\"", CONVERTS, "<cmdline>root=/dev/xvda1</cmdline>", PV},
    {"root", "\"/dev/xvda1\"", CONVERTS, "<cmdline>root=/dev/xvda1</cmdline>", PV},
    {"extra", "\"quiet\"", CONVERTS, "<cmdline>quiet</cmdline>", PV},
    {"firmware", "\"uefi\"", CONVERTS, "ovmf.bin", HVM},
    {"pvshim", "1", WARNS, NULL, PV},
    {"pvshim_path", "\"/usr/lib/xen/boot/xen-shim\"", WARNS, NULL, PV},
    {"pvshim_cmdline", "\"pv-shim\"", WARNS, NULL, PV},
    {"pvshim_extra", "\"loglvl=all\"", WARNS, NULL, PV},
    {"uuid", "\"6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\"", CONVERTS,
     "<uuid>6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d</uuid>", HVM},
    {"seclabel", "\"system_u:system_r:domU_t\"", WARNS, NULL, HVM},
    {"init_seclabel", "\"system_u:system_r:nomigrate_t_building\"", WARNS, NULL, HVM},
    {"max_grant_frames", "64", WARNS, NULL, HVM},
    {"max_maptrack_frames", "1024", WARNS, NULL, HVM},
    {"max_grant_version", "1", WARNS, NULL, HVM},
    {"nomigrate", "1", WARNS, NULL, HVM},
    {"driver_domain", "1", WARNS, NULL, HVM},
    {"device_tree", "\"/etc/xen/dt.dtb\"", WARNS, NULL, HVM},
    {"passthrough", "\"sync_pt\"", WARNS, NULL, HVM},
    {"xend_suspend_evtchn_compat", "1", WARNS, NULL, HVM},
    {"vmtrace_buf_kb", "64", WARNS, NULL, HVM},
    {"vpmu", "1", WARNS, NULL, HVM},
    {"disk", "[ '/srv/x.img,raw,xvda,w' ]", CONVERTS, "<source file='/srv/x.img'/>", HVM},
    {"vif", "[ 'mac=00:16:3e:00:00:01' ]", CONVERTS, "<mac address='00:16:3e:00:00:01'/>", HVM},
    {"vtpm", "[ 'backend=vtpmdom' ]", WARNS, NULL, HVM},
    {"p9", "[ 'tag=share,path=/srv,security_model=none' ]", WARNS, NULL, HVM},
    {"pvcalls", "[ 'backend=0' ]", WARNS, NULL, HVM},
    {"vfb", "[ 'vnc=1,vncdisplay=4' ]", CONVERTS, "port='5904'", PV},
    {"channel", "[ 'connection=pty,name=org.example.0' ]", CONVERTS,
     "<target type='xen' name='org.example.0'/>", HVM},
    {"rdm", "\"strategy=host,policy=relaxed\"", WARNS, NULL, HVM},
    {"usbctrl", "[ 'version=2,ports=4' ]", WARNS, NULL, HVM},
    {"usbdev", "[ 'hostbus=1,hostaddr=2' ]", WARNS, NULL, HVM},
    {"pci", "[ '0000:03:00.0' ]", CONVERTS,
     "<address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>", HVM},
    {"pci_permissive", "1", WARNS, NULL, HVM},
    {"pci_msitranslate", "0", WARNS, NULL, HVM},
    {"pci_seize", "1", WARNS, NULL, HVM},
    {"pci_power_mgmt", "1", WARNS, NULL, HVM},
    {"gfx_passthru", "\"igd\"", WARNS, NULL, HVM},
    {"rdm_mem_boundary", "2048", WARNS, NULL, HVM},
    {"dtdev", "[ '/soc/dma' ]", WARNS, NULL, HVM},
    {"ioports", "[ '2f8-2ff' ]", WARNS, NULL, HVM},
    {"iomem", "[ 'fe000,1' ]", WARNS, NULL, HVM},
    {"irqs", "[ 7, 9 ]", WARNS, NULL, HVM},
    {"max_event_channels", "2047", WARNS, NULL, HVM},
    {"vdispl", "[ 'connectors=id0:1920x1080' ]", WARNS, NULL, HVM},
    {"dm_restrict", "1", WARNS, NULL, HVM},
    {"device_model_user", "\"xen-qemuuser-k\"", WARNS, NULL, HVM},
    {"vsnd", "[ [ 'CARD, short-name=Main', 'PCM, name=Main', 'STREAM, id=0, type=p' ] ]", WARNS,
     NULL, HVM},
    {"vkb", "[ 'backend-type=qemu' ]", WARNS, NULL, HVM},
    {"virtio", "[ 'type=virtio,device22,transport=mmio' ]", WARNS, NULL, HVM},
    {"tee", "\"optee\"", WARNS, NULL, HVM},
    {"bootloader", "\"pygrub\"", CONVERTS, "<bootloader>pygrub</bootloader>", PV},
    {"bootloader_args", "\"-q --entry=xvda1\"", CONVERTS,
     "<bootloader_args>-q --entry=xvda1</bootloader_args>", PV "bootloader = \"pygrub\"\n"},
    {"bootloader_restrict", "1", WARNS, NULL, PV},
    {"bootloader_user", "\"xen-bl\"", WARNS, NULL, PV},
    {"e820_host", "1", WARNS, NULL, PV},
    {"boot", "\"dc\"", CONVERTS, "<boot dev='cdrom'/>", HVM},
    {"hdtype", "\"ahci\"", WARNS, NULL, HVM},
    {"hap", "1", WARNS, NULL, HVM},
    {"oos", "0", WARNS, NULL, HVM},
    {"shadow_memory", "8", WARNS, NULL, HVM},
    {"bios", "\"ovmf\"", CONVERTS, "ovmf.bin", HVM},
    {"bios_path_override", "\"/usr/share/seabios/bios.bin\"", WARNS, NULL, HVM},
    {"pae", "0", CONVERTS, "!<pae/>", HVM},
    {"acpi", "0", CONVERTS, "!<acpi/>", HVM},
    {"acpi_s3", "0", WARNS, NULL, HVM},
    {"acpi_s4", "0", WARNS, NULL, HVM},
    {"acpi_laptop_slate", "1", WARNS, NULL, HVM},
    {"apic", "0", CONVERTS, "!<apic/>", HVM},
    {"nx", "1", WARNS, NULL, HVM},
    {"hpet", "0", WARNS, NULL, HVM},
    {"altp2m", "\"mixed\"", WARNS, NULL, HVM},
    {"altp2mhvm", "1", WARNS, NULL, HVM},
    {"nestedhvm", "1", WARNS, NULL, HVM},
    {"cpuid", "[ '1:ecx=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0' ]", WARNS, NULL, HVM},
    {"acpi_firmware", "\"/etc/xen/acpi.bin\"", WARNS, NULL, HVM},
    {"smbios_firmware", "\"/etc/xen/smbios.bin\"", WARNS, NULL, HVM},
    {"smbios", "[ 'bios_vendor=Xen' ]", WARNS, NULL, HVM},
    {"ms_vm_genid", "\"generate\"", WARNS, NULL, HVM},
    {"tsc_mode", "\"native\"", WARNS, NULL, HVM},
    {"localtime", "1", CONVERTS, "<clock offset='localtime'", HVM},
    {"rtc_timeoffset", "3600", WARNS, NULL, HVM},
    {"vpt_align", "0", WARNS, NULL, HVM},
    {"timer_mode", "\"no_delay_for_missed_ticks\"", WARNS, NULL, HVM},
    {"mmio_hole", "3072", WARNS, NULL, HVM},
    {"xen_platform_pci", "0", WARNS, NULL, HVM},
    {"viridian", "[ \"all\", \"!freq\" ]", CONVERTS, "<viridian/>", HVM},
    {"hvm_pirq", "1", WARNS, NULL, HVM},
    {"videoram", "16", CONVERTS, "vram='16384'", HVM},
    {"stdvga", "1", CONVERTS, "<model type='vga'/>", HVM},
    {"vga", "\"cirrus\"", CONVERTS, "<model type='cirrus'/>", HVM},
    {"vnc", "1", CONVERTS, "<graphics type='vnc'", HVM},
    {"vnclisten", "\"127.0.0.1\"", CONVERTS, "listen='127.0.0.1'", VNC},
    {"vncdisplay", "2", CONVERTS, "port='5902'", VNC},
    {"vncunused", "1", CONVERTS, "autoport='yes'", VNC},
    {"vncpasswd", "\"hunter2\"", WARNS, "!hunter2", VNC},
    {"keymap", "\"de\"", CONVERTS, "keymap='de'", VNC},
    {"sdl", "1", WARNS, NULL, HVM},
    {"opengl", "1", WARNS, NULL, HVM},
    {"nographic", "1", WARNS, NULL, HVM},
    {"spice", "1", WARNS, NULL, HVM},
    {"spicehost", "\"0.0.0.0\"", WARNS, NULL, HVM},
    {"spiceport", "6000", WARNS, NULL, HVM},
    {"spicetls_port", "6001", WARNS, NULL, HVM},
    {"spicedisable_ticketing", "1", WARNS, NULL, HVM},
    {"spicepasswd", "\"s3cret\"", WARNS, "!s3cret", HVM},
    {"spiceagent_mouse", "1", WARNS, NULL, HVM},
    {"spicevdagent", "1", WARNS, NULL, HVM},
    {"spice_clipboard_sharing", "1", WARNS, NULL, HVM},
    {"spiceusbredirection", "2", WARNS, NULL, HVM},
    {"spice_image_compression", "\"auto_glz\"", WARNS, NULL, HVM},
    {"spice_streaming_video", "\"filter\"", WARNS, NULL, HVM},
    {"serial", "[ \"pty\", \"pty\" ]", CONVERTS, "<target port='1'/>", HVM},
    {"soundhw", "\"hda\"", WARNS, NULL, HVM},
    {"vkb_device", "0", WARNS, NULL, HVM},
    {"usb", "1", CONVERTS, NULL, HVM},
    {"usbversion", "3", WARNS, NULL, HVM},
    {"usbdevice", "[ \"tablet\" ]", CONVERTS, "<input type='tablet' bus='usb'/>", HVM},
    {"vendor_device", "\"xenserver\"", WARNS, NULL, HVM},
    {"device_model_version", "\"qemu-xen\"", WARNS, NULL, HVM},
    {"device_model_override", "\"/usr/bin/qemu\"", WARNS, NULL, HVM},
    {"stubdomain_kernel", "\"/usr/lib/xen/boot/ioemu-stubdom.gz\"", WARNS, NULL, HVM},
    {"stubdomain_cmdline", "\"quiet\"", WARNS, NULL, HVM},
    {"stubdomain_ramdisk", "\"/usr/lib/xen/boot/stubdom-rd\"", WARNS, NULL, HVM},
    {"stubdomain_memory", "128", WARNS, NULL, HVM},
    {"device_model_stubdomain_override", "1", WARNS, NULL, HVM},
    {"device_model_stubdomain_seclabel", "\"system_u:system_r:dm_dom_t\"", WARNS, NULL, HVM},
    {"device_model_args", "[ \"-d\", \"guest_errors\" ]", WARNS, NULL, HVM},
    {"device_model_args_pv", "[ \"-d\" ]", WARNS, NULL, HVM},
    {"device_model_args_hvm", "[ \"-d\" ]", WARNS, NULL, HVM},
    {"gic_version", "\"v3\"", WARNS, NULL, HVM},
    {"vuart", "\"sbsa_uart\"", WARNS, NULL, HVM},
    {"sve", "\"hw\"", WARNS, NULL, HVM},
    {"mca_caps", "[ \"lmce\" ]", WARNS, NULL, HVM},
    {"msr_relaxed", "1", WARNS, NULL, HVM},
    /* xm's keys */
    {"cdrom", "\"/srv/iso/x.iso\"", CONVERTS, "<source file='/srv/iso/x.iso'/>", HVM},
    {"device_model", "\"/usr/lib/xen/bin/qemu-dm\"", WARNS, NULL, HVM},
    {"vncconsole", "1", WARNS, NULL, HVM},
    {"on_xend_start", "\"start\"", WARNS, NULL, HVM},
    {"on_xend_stop", "\"shutdown\"", WARNS, NULL, HVM},
    {"extra_hvm", "\"x\"", WARNS, NULL, HVM},
    {"vif_script", "\"vif-bridge\"", WARNS, NULL, HVM},
};

/* Values a key refuses: the parse fails, the error names the key. */
static const struct row bad_rows[] = {
    {"memory", "\"lots\"", FAILS, NULL, HVM},
    {"vcpus", "[ 2 ]", FAILS, NULL, HVM},
    {"type", "\"pvm\"", FAILS, NULL, "name = \"k\"\n"},
    {"uuid", "\"not-a-uuid\"", FAILS, NULL, HVM},
    {"on_crash", "\"explode\"", FAILS, NULL, HVM},
    {"boot", "\"z\"", FAILS, NULL, HVM},
    {"vga", "\"ega\"", FAILS, NULL, HVM},
    {"vnuma", "[ \"size=128\" ]", FAILS, NULL, HVM},
    {"vnuma", "[ [ \"size=128\", \"vcpus=0-3\" ] ]", FAILS, NULL, HVM},
    {"maxmem", "512", FAILS, NULL, HVM "vnuma = [ [ \"size=128\", \"vcpus=0\" ] ]\n"},
    {"cdrom", "\"relative.iso\"", FAILS, NULL, HVM},
    {"pae", "\"maybe\"", FAILS, NULL, HVM},
};

static void
run(const char *text, xmlDoc **doc, char **xml, GPtrArray *warnings, GError **err)
{
    *doc = xl_cfg_parse("t.cfg", text, strlen(text), warnings, err);
    *xml = NULL;
    if (*doc != NULL) {
        xmlChar *buf = NULL;
        int n = 0;
        xmlDocDumpMemory(*doc, &buf, &n);
        *xml = g_strndup((const char *)buf, (gsize)n);
        xmlFree(buf);
    }
}

static bool
any_contains(const GPtrArray *a, const char *what)
{
    for (guint i = 0; i < a->len; i++) {
        if (strstr(a->pdata[i], what) != NULL)
            return true;
    }
    return false;
}

static int
check_row(const struct row *r)
{
    g_autofree char *text = g_strdup_printf("%s%s = %s\n", r->base, r->key, r->value);
    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) err = NULL;
    g_autofree char *named = g_strdup_printf("'%s'", r->key);
    g_autofree char *dropped = g_strdup_printf("'%s' is not carried over to KVM: ", r->key);
    g_autofree char *xml = NULL;
    xmlDoc *doc = NULL;
    int bad = 0;

    run(text, &doc, &xml, warnings, &err);
    if (any_contains(warnings, "unknown setting")) {
        fprintf(stderr, "%s: unknown to the parser\n", r->key);
        bad = 1;
    }
    switch (r->outcome) {
    case CONVERTS:
        if (doc == NULL) {
            fprintf(stderr, "%s: expected to convert, failed: %s\n", r->key, err->message);
            bad = 1;
            break;
        }
        if (any_contains(warnings, dropped)) {
            fprintf(stderr, "%s: expected to convert, but it is dropped\n", r->key);
            bad = 1;
        }
        break;
    case WARNS:
        if (doc == NULL) {
            fprintf(stderr, "%s: expected a warning, failed: %s\n", r->key, err->message);
            bad = 1;
            break;
        }
        for (guint i = 0; i < warnings->len; i++) {
            const char *w = strstr(warnings->pdata[i], dropped);
            if (w != NULL && strlen(w + strlen(dropped)) > 10)
                goto warned;
        }
        fprintf(stderr, "%s: no warning naming it with a reason\n", r->key);
        for (guint i = 0; i < warnings->len; i++)
            fprintf(stderr, "  %s\n", (const char *)warnings->pdata[i]);
        bad = 1;
    warned:
        break;
    case FAILS:
        if (doc != NULL) {
            fprintf(stderr, "%s = %s: expected to fail, converted\n", r->key, r->value);
            bad = 1;
        } else if (strstr(err->message, named) == NULL) {
            fprintf(stderr, "%s: the error does not name it: %s\n", r->key, err->message);
            bad = 1;
        } else if (err->code != CONVOY_ERROR_INVALID) {
            bad = 1;
        }
        break;
    }
    if (r->expect != NULL && xml != NULL) {
        bool neg = r->expect[0] == '!';
        /* libxml writes attributes in double quotes */
        g_autofree char *want = g_strdelimit(g_strdup(r->expect + (neg ? 1 : 0)), "'", '"');
        bool has = strstr(xml, want) != NULL;
        if (has == neg) {
            fprintf(stderr, "%s: the XML %s '%s'\n%s", r->key, neg ? "has" : "lacks",
                    r->expect + (neg ? 1 : 0), xml);
            bad = 1;
        }
        /* a secret never reaches a warning either */
        if (neg && any_contains(warnings, r->expect + 1)) {
            fprintf(stderr, "%s: a warning shows '%s'\n", r->key, r->expect + 1);
            bad = 1;
        }
    }
    if (doc != NULL)
        xmlFreeDoc(doc);
    return bad;
}

/* Every row's key is a manual key once, and the parser knows them all. */
static int
check_table(void)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    int bad = 0;

    for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
        if (!g_hash_table_add(seen, (gpointer)rows[i].key)) {
            fprintf(stderr, "%s is twice in the table\n", rows[i].key);
            bad = 1;
        }
        bad |= check_row(&rows[i]);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad_rows); i++)
        bad |= check_row(&bad_rows[i]);
    fprintf(stderr, "%zu keys: %s\n", G_N_ELEMENTS(rows), bad ? "FAILED" : "each converts, warns or fails");
    return bad;
}

/* Secrets in disk targets: the cephx key and the iSCSI password are in
 * neither the XML nor a message, also when the spec is refused. */
static int
check_secrets(void)
{
    static const char *const cfgs[] = {
        "name = \"s\"\ndisk = [ 'vdev=xvda, target=rbd:p/i:id=u:key=AQBTOPSECRETKEY==:mon_host=10.0.0.1' ]\n",
        "name = \"s\"\ndisk = [ 'vdev=xvda, target=iscsi://u%TOPSECRETPW@10.0.0.1/iqn.x:y/0' ]\n",
        "name = \"s\"\ndisk = [ 'vdev=xvda, target=rbd:bad:key=AQBTOPSECRETKEY==' ]\n",
        "name = \"s\"\ndisk = [ 'vdev=qqq, target=rbd:p/i:key=AQBTOPSECRETKEY==' ]\n",
    };
    int bad = 0;

    for (size_t i = 0; i < G_N_ELEMENTS(cfgs); i++) {
        g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GError) err = NULL;
        g_autofree char *xml = NULL;
        xmlDoc *doc = NULL;

        run(cfgs[i], &doc, &xml, warnings, &err);
        if ((xml != NULL && strstr(xml, "TOPSECRET") != NULL) ||
            any_contains(warnings, "TOPSECRET") ||
            (err != NULL && strstr(err->message, "TOPSECRET") != NULL)) {
            fprintf(stderr, "case %zu: a secret leaks\n", i);
            bad = 1;
        }
        if (i < 2 && (doc == NULL || !any_contains(warnings, "not carried over (secrets never enter plans)"))) {
            fprintf(stderr, "case %zu: no warning about the secret\n", i);
            bad = 1;
        }
        if (i >= 2 && doc != NULL)
            bad = 1;
        if (doc != NULL)
            xmlFreeDoc(doc);
    }
    return bad;
}

/* List-or-string: serial, usbdevice, viridian, bootloader_args and disk
 * take either form and give the same domain. */
static int
check_list_or_string(void)
{
    static const char *const pairs[][2] = {
        {"serial = \"pty\"\n", "serial = [ \"pty\" ]\n"},
        {"usbdevice = \"tablet\"\n", "usbdevice = [ \"tablet\" ]\n"},
        {"viridian = 1\n", "viridian = [ \"defaults\" ]\n"},
        {"disk = '/x.img,raw,hda,w'\n", "disk = [ '/x.img,raw,hda,w' ]\n"},
        {"pci = '03:00.0'\n", "pci = [ '03:00.0' ]\n"},
    };
    int bad = 0;

    for (size_t i = 0; i < G_N_ELEMENTS(pairs); i++) {
        g_autofree char *a = g_strconcat(HVM, pairs[i][0], NULL);
        g_autofree char *b = g_strconcat(HVM, pairs[i][1], NULL);
        g_autoptr(GPtrArray) wa = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) wb = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GError) ea = NULL;
        g_autoptr(GError) eb = NULL;
        g_autofree char *xa = NULL;
        g_autofree char *xb = NULL;
        xmlDoc *da = NULL;
        xmlDoc *db = NULL;

        run(a, &da, &xa, wa, &ea);
        run(b, &db, &xb, wb, &eb);
        if (xa == NULL || xb == NULL || strcmp(xa, xb) != 0) {
            fprintf(stderr, "'%s' and '%s' differ\n", g_strchomp(a), g_strchomp(b));
            bad = 1;
        }
        if (da != NULL)
            xmlFreeDoc(da);
        if (db != NULL)
            xmlFreeDoc(db);
    }
    return bad;
}

int
main(void)
{
    int bad = 0;

    bad |= check_table();
    bad |= check_secrets();
    bad |= check_list_or_string();
    return bad ? 1 : 0;
}
