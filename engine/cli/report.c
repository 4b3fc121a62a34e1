/* convoy report: what the applies did, from the state store (no
 * discovery), as text, Markdown, HTML with a timeline, or JSON. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "report/report.h"
#include "util/error.h"
#include "util/fileutil.h"

int
cmd_report(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("MANIFEST…");
    g_autoptr(manifest) m = NULL;
    g_autoptr(state) st = NULL;
    g_autoptr(report) r = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *text = NULL;
    g_autofree char *opt_state = NULL;
    g_autofree char *opt_wave = NULL;
    g_autofree char *opt_format = NULL;
    g_autofree char *opt_output = NULL;
    g_autofree char *opt_vm = NULL;
    gboolean opt_xml = FALSE;
    GOptionEntry entries[] = {
        {"wave", 'w', 0, G_OPTION_ARG_STRING, &opt_wave, "Report only this wave", "NAME"},
        {"vm", 0, 0, G_OPTION_ARG_STRING, &opt_vm, "Report only this VM (or host move, by its domain)", "NAME"},
        {"xml", 0, 0, G_OPTION_ARG_NONE, &opt_xml, "Text: also print each VM's whole domain XML", NULL},
        {"format", 'f', 0, G_OPTION_ARG_STRING, &opt_format, "text (default), markdown, html or json", "FORMAT"},
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output, "Write to FILE instead of standard output", "FILE"},
        {"state", 0, 0, G_OPTION_ARG_FILENAME, &opt_state, "State store (default: the manifest's state:)", "PATH"},
        G_OPTION_ENTRY_NULL,
    };
    enum report_format format = REPORT_FORMAT_TEXT;
    int status;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_summary(ctx, "Report what apply did for every VM: steps, durations, bytes, throughput,\nchecksums, errors and the final domain XML.  Reads only the state store.");
    if (!cli_parse(ctx, &argc, &argv, "report"))
        return CONVOY_EXIT_USAGE;
    if (opt_format != NULL && !report_format_parse(opt_format, &format))
        return cli_usage("report", "'--format': expected text, markdown, html or json, got '%s'", opt_format);
    m = cli_load_manifest(argc, argv, "report", &status);
    if (m == NULL)
        return status;
    st = state_open(cli_state_path(m, opt_state), false, true, &err);
    if (st == NULL)
        return cli_report(err);
    r = report_build_vm(m, st, opt_wave, opt_vm, &err);
    if (r == NULL)
        return cli_report(err);
    r->with_xml = opt_xml;
    text = report_render(r, format);
    if (opt_output != NULL) {
        if (!file_write_atomic(opt_output, text, strlen(text), 0644, &err))
            return cli_report(err);
        return CONVOY_EXIT_OK;
    }
    if (format == REPORT_FORMAT_TEXT || format == REPORT_FORMAT_MARKDOWN)
        cli_print(stdout, text);
    else
        fputs(text, stdout);
    return CONVOY_EXIT_OK;
}
