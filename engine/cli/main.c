/* convoy's main(): global options, the command table, exit statuses. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/error.h"
#include "util/ynode.h"

const struct cli_command cli_commands[] = {
    {"validate", cmd_validate, "check manifests and rules; change nothing"},
    {"plan", cmd_plan, "show what apply would do; change nothing"},
    {"apply", cmd_apply, "carry out the plan with checkpoints"},
    {"rollback", cmd_rollback, "undo what convoy made on the target for some VMs"},
    {"status", cmd_status, "show recorded progress from the state store"},
    {"state", cmd_state, "check the state store for damage"},
    {"convert", cmd_convert, "convert one Xen domain to KVM domain XML"},
    {"report", cmd_report, "report what apply did: text, markdown, html, json"},
    {"xva", cmd_xva, "inspect, verify or extract an XVA file"},
    {"guest", cmd_guest, "inspect or repair a guest disk image (libguestfs)"},
    {"discover", cmd_discover, "list the VMs of the manifest's sources; write a manifest for new ones"},
    {"init", cmd_init, "write a migration repository skeleton"},
    /* Hidden (no summary): what the shell completion scripts call. */
    {"complete", cmd_complete, NULL},
    {NULL, NULL, NULL},
};

static void
usage(FILE *f)
{
    fprintf(f, "Usage: convoy [--version] [--help] COMMAND [ARGS…]\n\n"
               "Move Xen and XenServer/XCP-ng VMs onto KVM from reviewed YAML manifests.\n\n"
               "Commands:\n");
    for (size_t i = 0; cli_commands[i].name != NULL; i++) {
        if (cli_commands[i].summary != NULL)
            fprintf(f, "  %-10s %s\n", cli_commands[i].name, cli_commands[i].summary);
    }
    fprintf(f, "\nRun 'convoy COMMAND --help' for a command's options; see convoy(1).\n");
}

int
main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    /* Keep freed heap instead of giving it back at once: a plan of
     * 10,000 VMs parses and frees a few KiB of XML per VM, and glibc's
     * default trimming made it grow and shrink the heap 37,000 times. */
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_TOP_PAD, 64 << 20);
    if (fcntl(STDIN_FILENO, F_GETFD) < 0 && errno == EBADF)
        return CONVOY_EXIT_FAILURE;
    if (argc < 2) {
        usage(stderr);
        return CONVOY_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("convoy %s\n", PACKAGE_VERSION);
        return CONVOY_EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CONVOY_EXIT_OK;
    }
    for (size_t i = 0; cli_commands[i].name != NULL; i++) {
        if (strcmp(argv[1], cli_commands[i].name) == 0)
            return cli_commands[i].fn(argc - 1, argv + 1);
    }
    const char *names[G_N_ELEMENTS(cli_commands)];
    for (size_t i = 0; i < G_N_ELEMENTS(cli_commands); i++)
        names[i] = cli_commands[i].name;
    const char *near = ydid_you_mean(argv[1], names);
    if (near != NULL)
        fprintf(stderr, "convoy: unknown command '%s'; did you mean '%s'? see 'convoy --help'\n", argv[1], near);
    else
        fprintf(stderr, "convoy: unknown command '%s'; see 'convoy --help'\n", argv[1]);
    return CONVOY_EXIT_USAGE;
}
