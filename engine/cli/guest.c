/* convoy guest inspect|fixup IMAGE…: the guest-fixup step on disk images
 * without a manifest — what libguestfs sees in a guest, and the repair
 * the guest rules make (the same code path as apply's guest-fixup). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "cli/cli.h"
#include "convert/convert.h"
#include "disk/disk.h"
#include "guest/guest.h"
#include "util/error.h"
#include "util/json.h"
#include "util/rulefile.h"

static void
note(void *opaque, const char *what)
{
    if (!*(gboolean *)opaque)
        fprintf(stderr, "convoy: guest: %s\n", what);
}

/* The candidate sets: --rules NAME|FILE…, else every set found. */
static GPtrArray *
load_sets(char **names, GError **error)
{
    /* no manifest: $CONVOY_RULESDIR/guest, the installed and the source
     * tree's rules */
    g_auto(GStrv) dirs = rulefile_search_path(NULL, "guest");
    GPtrArray *out;

    if (names == NULL || names[0] == NULL)
        return guest_rule_sets_load_all((const char *const *)dirs, error);
    out = g_ptr_array_new_with_free_func((GDestroyNotify)guest_rule_set_free);
    for (size_t i = 0; names[i] != NULL; i++) {
        struct guest_rule_set *rs =
            strchr(names[i], '/') != NULL || g_str_has_suffix(names[i], ".yaml")
                ? guest_rule_set_load_file(names[i], error)
                : guest_rule_set_load_named(names[i], (const char *const *)dirs, error);
        if (rs == NULL) {
            g_ptr_array_unref(out);
            return NULL;
        }
        g_ptr_array_add(out, rs);
    }
    return out;
}

static void
print_json(GHashTable *facts, GPtrArray *sets, GPtrArray *changes,
           const struct guest_boot_files *boot, const GArray *timings)
{
    g_autofree char *fj = guest_facts_json(facts);
    struct json j;
    g_autofree char *text = NULL;

    json_init(&j, true);
    json_begin_object(&j);
    json_key(&j, "facts");
    json_raw(&j, fj);
    if (sets != NULL) {
        json_key(&j, "rule_sets");
        json_begin_array(&j);
        for (guint i = 0; i < sets->len; i++) {
            const struct guest_rule_set *rs = sets->pdata[i];
            json_begin_object(&j);
            json_kv_string(&j, "name", guest_rule_set_name(rs));
            json_kv_uint(&j, "version", guest_rule_set_version(rs));
            json_kv_string(&j, "sha256", guest_rule_set_digest(rs));
            json_end_object(&j);
        }
        json_end_array(&j);
    }
    if (changes != NULL) {
        json_key(&j, "changes");
        json_begin_array(&j);
        for (guint i = 0; i < changes->len; i++) {
            const struct guest_change *c = changes->pdata[i];
            json_begin_object(&j);
            json_kv_string(&j, "set", c->set);
            json_kv_string(&j, "file", c->file);
            json_kv_uint(&j, "line", c->line);
            json_kv_string(&j, "rule", c->rule_id);
            json_kv_string(&j, "what", c->what);
            json_end_object(&j);
        }
        json_end_array(&j);
    }
    if (boot != NULL && boot->kernel != NULL) {
        json_key(&j, "direct_boot");
        json_begin_object(&j);
        json_kv_string(&j, "kernel", boot->kernel);
        json_kv_string(&j, "initrd", boot->initrd);
        json_kv_string(&j, "cmdline", boot->cmdline);
        json_end_object(&j);
    }
    if (timings != NULL) {
        g_autofree char *tj = guest_timings_json(timings);
        json_key(&j, "timings");
        json_raw(&j, tj);
    }
    json_end_object(&j);
    text = json_steal(&j);
    json_release(&j);
    printf("%s\n", text);
}

int
cmd_guest(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("inspect|fixup IMAGE…");
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) sets = NULL;
    g_autoptr(GPtrArray) matched = g_ptr_array_new();
    g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func((GDestroyNotify)guest_change_free);
    g_autoptr(GArray) disks = g_array_new(FALSE, TRUE, sizeof(struct guest_disk));
    g_auto(GStrv) opt_rules = NULL;
    g_autofree char *opt_boot = NULL;
    g_autofree char *opt_tcg = NULL;
    g_autofree char *opt_kernel_out = NULL;
    g_autofree char *opt_domain = NULL;
    g_auto(GStrv) drivers = NULL;
    gint opt_memsize = 0;
    gint opt_smp = 0;
    gboolean opt_json = FALSE;
    gboolean opt_quiet = FALSE;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "Print JSON", NULL},
        {"rules", 'r', 0, G_OPTION_ARG_STRING_ARRAY, &opt_rules, "fixup: a guest rule set NAME or FILE (repeatable; default: every shipped set whose when: matches)", "NAME|FILE"},
        {"boot", 0, 0, G_OPTION_ARG_STRING, &opt_boot, "fixup: auto, bootloader, direct or keep (default: auto)", "MODE"},
        {"tcg", 0, 0, G_OPTION_ARG_STRING, &opt_tcg, "Run the appliance under TCG: auto, true or false (default: auto)", "WHEN"},
        {"kernel-out", 0, 0, G_OPTION_ARG_FILENAME, &opt_kernel_out, "fixup: where a direct-boot kernel and initrd go (default: beside the first image)", "DIR"},
        {"domain", 0, 0, G_OPTION_ARG_FILENAME, &opt_domain, "The converted KVM domain XML: the drivers its disks and NICs need decide whether the initrd is rebuilt (default: virtio disks and NICs)", "FILE"},
        {"appliance-memory", 0, 0, G_OPTION_ARG_INT, &opt_memsize, "Memory of the libguestfs appliance in MiB (default: libguestfs's)", "MIB"},
        {"appliance-cpus", 0, 0, G_OPTION_ARG_INT, &opt_smp, "vCPUs of the libguestfs appliance (default: libguestfs's, 1)", "N"},
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "No progress on standard error", NULL},
        G_OPTION_ENTRY_NULL,
    };
    struct guest_opts opts = {.boot = GUEST_BOOT_AUTO, .tcg = GUEST_TCG_AUTO};
    struct guest_boot_files boot = {0};
    struct guest_session *gs;
    GHashTable *facts;
    bool fixup;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, "inspect: show what libguestfs finds in the guest (read-only)\nfixup: repair the guest in place with the guest rules, as apply's guest-fixup step does\nIMAGE: raw or qcow2 disk images of one VM, in order (vda, vdb, …).");
    if (!cli_parse(ctx, &argc, &argv, "guest"))
        return CONVOY_EXIT_USAGE;
    if (argc < 3 || (strcmp(argv[1], "inspect") != 0 && strcmp(argv[1], "fixup") != 0))
        return cli_usage("guest", "expected inspect or fixup and at least one IMAGE");
    fixup = strcmp(argv[1], "fixup") == 0;
    if (opt_boot != NULL && !guest_boot_parse(opt_boot, &opts.boot))
        return cli_usage("guest", "'--boot': expected auto, bootloader, direct or keep, got '%s'", opt_boot);
    if (opt_tcg != NULL && !guest_tcg_parse(opt_tcg, &opts.tcg))
        return cli_usage("guest", "'--tcg': expected auto, true or false, got '%s'", opt_tcg);
    if (opt_memsize < 0 || (opt_memsize > 0 && opt_memsize < 256))
        return cli_usage("guest", "'--appliance-memory': expected at least 256 (MiB), got %d", opt_memsize);
    if (opt_smp < 0 || opt_smp > 255)
        return cli_usage("guest", "'--appliance-cpus': expected 1 to 255, got %d", opt_smp);
    opts.memsize = opt_memsize;
    opts.smp = opt_smp;
    if (opt_domain != NULL) {
        g_autofree char *xml = NULL;

        if (!g_file_get_contents(opt_domain, &xml, NULL, &err)) {
            g_prefix_error(&err, "--domain: ");
            return cli_report(err);
        }
        drivers = convert_domain_guest_drivers(xml, &err);
        if (drivers == NULL) {
            g_prefix_error(&err, "%s: ", opt_domain);
            return cli_report(err);
        }
        opts.drivers = (const char *const *)drivers;
    }
    for (int i = 2; i < argc; i++) {
        struct disk_image_info info = {0};
        struct guest_disk d = {.path = argv[i]};

        if (!disk_image_probe(argv[i], &info, &err))
            return cli_report(err);
        if (info.unsupported != NULL) {
            fprintf(stderr, "convoy: error: %s: a %s image; convoy reads raw and qcow2\n",
                    argv[i], info.unsupported);
            return CONVOY_EXIT_FAILURE;
        }
        d.format = disk_format_name(info.format);
        g_array_append_val(disks, d);
    }
    if (fixup && (sets = load_sets(opt_rules, &err)) == NULL)
        return cli_report(err);
    opts.read_only = !fixup;
    opts.progress = note;
    opts.opaque = &opt_quiet;
    gs = guest_open((const struct guest_disk *)(void *)disks->data, disks->len, &opts, &err);
    if (gs == NULL)
        return cli_report(err);
    facts = guest_facts(gs);
    if (!fixup) {
        if (opt_json)
            print_json(facts, NULL, NULL, NULL, guest_timings(gs));
        else {
            g_autofree char *t = guest_facts_text(facts);
            fputs(t, stdout);
        }
        guest_close(gs, NULL);
        return CONVOY_EXIT_OK;
    }
    for (guint i = 0; i < sets->len; i++) {
        if (opt_rules != NULL || guest_rule_set_matches(sets->pdata[i], facts))
            g_ptr_array_add(matched, sets->pdata[i]);
    }
    if (matched->len == 0)
        fprintf(stderr, "convoy: warning: no guest rule set matches this guest (%s %s)\n",
                (const char *)g_hash_table_lookup(facts, "distro"),
                (const char *)g_hash_table_lookup(facts, "major"));
    if (!guest_apply(gs, (struct guest_rule_set *const *)matched->pdata, matched->len, changes,
                     &err)) {
        guest_close(gs, NULL);
        return cli_report(err);
    }
    if (g_strcmp0(g_hash_table_lookup(facts, "direct_boot"), "true") == 0) {
        g_autofree char *dir = opt_kernel_out != NULL ? g_strdup(opt_kernel_out)
                                                      : g_path_get_dirname(argv[2]);
        g_autofree char *base = g_path_get_basename(argv[2]);
        char *dot = strrchr(base, '.');

        if (dot != NULL && dot != base)
            *dot = '\0';
        if (!guest_export_boot(gs, dir, base, &boot, &err)) {
            guest_close(gs, NULL);
            return cli_report(err);
        }
    }
    /* The facts go with the session: keep the decisions to print. */
    g_autofree char *initrd_decision = g_strdup(g_hash_table_lookup(facts, "initrd_decision"));
    g_autofree char *boot_decision = g_strdup(g_hash_table_lookup(facts, "boot_decision"));
    if (opt_json)
        print_json(facts, matched, changes, &boot, guest_timings(gs));
    else if (!opt_quiet) {
        g_autofree char *t = guest_timings_text(guest_timings(gs));
        fprintf(stderr, "convoy: guest: timings: %s\n", t);
    }
    if (!guest_close(gs, &err)) {
        guest_boot_files_clear(&boot);
        return cli_report(err);
    }
    if (!opt_json) {
        printf("initrd: %s\n", initrd_decision);
        printf("boot: %s\n", boot_decision);
        for (guint i = 0; i < changes->len; i++) {
            const struct guest_change *c = changes->pdata[i];
            printf("%s %s:%u %s: %s\n", c->set, c->file, c->line, c->rule_id, c->what);
        }
        if (boot.kernel != NULL)
            printf("direct boot: kernel %s, initrd %s, cmdline '%s'\n", boot.kernel,
                   boot.initrd ? boot.initrd : "none", boot.cmdline);
        printf("%u change%s\n", changes->len, changes->len == 1 ? "" : "s");
    }
    guest_boot_files_clear(&boot);
    return CONVOY_EXIT_OK;
}
