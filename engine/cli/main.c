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

const struct cli_command cli_commands[] = {
    {"validate", cmd_validate, CLI_NEEDS_MANIFEST, "check manifests and rules; change nothing"},
    {"plan", cmd_plan, CLI_NEEDS_MANIFEST, "show what apply would do; change nothing"},
    {"apply", cmd_apply, CLI_NEEDS_MANIFEST | CLI_WRITES_STATE, "carry out the plan with checkpoints"},
    {"rollback", cmd_rollback, CLI_NEEDS_MANIFEST | CLI_WRITES_STATE, "undo what convoy made on the target for some VMs"},
    {"status", cmd_status, CLI_NEEDS_MANIFEST, "show recorded progress from the state store"},
    {"state", cmd_state, 0, "check the state store for damage"},
    {"convert", cmd_convert, 0, "convert one Xen domain to KVM domain XML"},
    {"report", cmd_report, CLI_NEEDS_MANIFEST, "report what apply did: text, markdown, html, json"},
    {"xva", cmd_xva, 0, "inspect, verify or extract an XVA file"},
    {"guest", cmd_guest, 0, "inspect or repair a guest disk image (libguestfs)"},
    {NULL, NULL, 0, NULL},
};

static void
usage(FILE *f)
{
    fprintf(f, "Usage: convoy [--version] [--help] COMMAND [ARGS…]\n\n"
               "Move Xen and XenServer/XCP-ng VMs onto KVM from reviewed YAML manifests.\n\n"
               "Commands:\n");
    for (size_t i = 0; cli_commands[i].name != NULL; i++)
        fprintf(f, "  %-10s %s\n", cli_commands[i].name, cli_commands[i].summary);
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
    fprintf(stderr, "convoy: unknown command '%s'; see 'convoy --help'\n", argv[1]);
    return CONVOY_EXIT_USAGE;
}
