/* engine/report: what happened, from the state store — per VM its steps,
 * durations, bytes, throughput, checksums, errors and final domain XML,
 * and a timeline of every attempt — rendered for people (text, Markdown,
 * a self-contained HTML page) and machines (JSON).
 *
 * Sections: model (report.c) · text, Markdown and JSON (render.c) ·
 * HTML with a timeline (render-html.c).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "manifest/manifest.h"
#include "state/state.h"

enum report_format {
    REPORT_FORMAT_TEXT,
    REPORT_FORMAT_MARKDOWN,
    REPORT_FORMAT_HTML,
    REPORT_FORMAT_JSON,
    REPORT_FORMAT_LAST,
};

/* "text" → REPORT_FORMAT_TEXT…; false if unknown. */
bool report_format_parse(const char *s, enum report_format *out);

/* One attempt of a step, from its events: [start, end) in unix seconds. */
struct report_span {
    int64_t run_id;       /* the apply run it belongs to, 0 if none */
    double start;
    double end;           /* 0 while it never ended (killed) */
    char *outcome;        /* "done", "failed", "interrupted", "killed",
                           * "running" (live in another apply) */
};

struct report_step {
    char *key;            /* "web1/disk-copy/vda" */
    char *name;           /* the key less the VM: "disk-copy/vda" */
    char *kind;
    char *status;         /* done, failed, running, pending */
    bool copies;          /* its kind copies disk data (bytes, seconds) */
    unsigned attempts;
    char *error;          /* last error, or NULL */
    double seconds;       /* of the successful attempt (outputs), or 0 */
    uint64_t bytes;       /* disk-copy: disk size */
    uint64_t written;     /* disk-copy: bytes written */
    char *checksum;       /* disk-copy: "xxh64:…", or NULL */
    char *guest;          /* guest-fixup: what inspection found, or NULL */
    GPtrArray *changes;   /* guest-fixup: of char*, the changes made */
    char *guest_timings;  /* guest-fixup: "launch 18.2 s, inspect …", or
                           * NULL */
    GPtrArray *spans;     /* of struct report_span*, owned, oldest first */
    char *worker;         /* shared state: the worker that ran it last */
};

struct report_vm {
    char *name;           /* at the source */
    char *target_name;
    char *wave;
    char *status;         /* done, failed, partial, deferred (the last
                           * run did not start it: see reason), pending */
    char *reason;         /* why the last run did not start it, or NULL */
    GPtrArray *steps;     /* of struct report_step*, owned, in key order */
    uint64_t bytes;       /* sum of copied disk sizes */
    double copy_seconds;  /* sum of successful copy durations */
    char *domain_xml;     /* the converted domain XML, or NULL */
    GPtrArray *hooks;     /* of struct report_hook*, owned, oldest first */
};

/* One run of a pre or post hook, from the event log. */
struct report_hook {
    char *hook;           /* "pre" or "post" */
    bool ok;
    double time;
    char *output;         /* "ok" / "failed: why", then the output */
};

/* One apply run that recorded steps of the report's VMs: its steps'
 * attempts placed on its own time axis. */
struct report_run {
    int64_t id;
    double start;         /* earliest attempt of the run */
    double end;           /* latest end of an attempt of the run */
    unsigned failed;      /* attempts that failed in it */
};

struct report {
    char *wave;           /* --wave filter, or NULL */
    char *vm;             /* --vm filter, or NULL */
    char *state_path;
    GPtrArray *manifests; /* of char*, owned: the manifest files */
    double generated;     /* when the report was made (unix seconds) */
    bool with_xml;        /* text: print each VM's whole domain XML */
    GPtrArray *runs;      /* of struct report_run*, owned, oldest first */
    GPtrArray *vms;       /* of struct report_vm*, owned, manifest order */
    double first;         /* earliest span start, or 0 */
    double last;          /* latest span end, or 0 */
    unsigned n_done, n_failed, n_partial, n_deferred, n_pending;
    GPtrArray *workers;   /* shared state: struct state_worker_record*,
                           * owned; NULL otherwise */
};

/* Build the report of m's VMs (only wave's when wave is non-NULL) from st
 * (read only).  CONVOY_ERROR_USAGE for an unknown wave.  Returns a new
 * report, caller frees. */
struct report *report_build(const struct manifest *m, struct state *st,
                            const char *wave, GError **error);
/* The same, for one VM (or host move, by its domain) when vm is non-NULL:
 * CONVOY_ERROR_USAGE when the manifest has no such VM or move. */
struct report *report_build_vm(const struct manifest *m, struct state *st,
                               const char *wave, const char *vm,
                               GError **error);
void report_free(struct report *r);
typedef struct report report; /* for g_autoptr() only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(report, report_free)

/* Renderings; new strings.  Deterministic for the same state (but the
 * HTML header's time). */
char *report_render(const struct report *r, enum report_format format);
char *report_render_html(const struct report *r);

/* Helpers shared by the renderers (render.c). */
char *report_time(double t);           /* ISO 8601 UTC, new string */
char *report_rate(uint64_t bytes, double seconds); /* "123.4 MiB/s" */
