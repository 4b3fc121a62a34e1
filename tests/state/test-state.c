/* Unit tests of engine/state: steps, checkpoints, runs and events round
 * trips, file modes, read-only opens, and the apply lock across
 * processes.  "--postgresql CASE…" runs the cases every backend shares,
 * and PostgreSQL's own, against a server tests/tools/pgserver.sh starts
 * in a temporary folder (skipped, 77, when PostgreSQL is not installed). */
#include "config.h"

#undef NDEBUG
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <sqlite3.h>
#include <libpq-fe.h>

#include "state/backend.h"
#include "state/state.h"
#include "util/error.h"
#include "util/location.h"

static char *tmpdir;
static char *self_exe;
static char *pg_url;    /* the test server's database, or NULL: SQLite */

static char *
tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

/* The location of a store named name: a file in tmpdir, or a project of
 * the test server ("steps.db" → project=steps). */
static char *
location_of(const char *name)
{
    if (pg_url == NULL)
        return tmp_path(name);
    g_autofree char *project = g_strndup(name, strcspn(name, "."));
    g_strdelimit(project, "-/", '_');
    return g_strdup_printf("%s&project=%s", pg_url, project);
}

static struct state *
open_new(const char *name)
{
    g_autofree char *path = location_of(name);
    g_autoptr(GError) error = NULL;
    struct state *st = state_open(path, true, false, &error);
    if (st == NULL)
        fprintf(stderr, "%s\n", error->message);
    assert(st != NULL);
    return st;
}

static unsigned
file_mode(const char *path)
{
    struct stat sb;
    assert(stat(path, &sb) == 0);
    return sb.st_mode & 07777;
}

static bool
str_eq(const char *a, const char *b)
{
    return g_strcmp0(a, b) == 0;
}

/* ---- steps ---- */

static int
test_steps(void)
{
    g_autoptr(state) st = open_new("steps.db");
    g_autoptr(GError) error = NULL;

    static const struct {
        const char *key, *vm, *kind, *fp, *inputs;
        const char *outcome;    /* "done", "failed" or NULL: left running */
        const char *text;       /* outputs or error */
    } cases[] = {
        {"web1/disk-copy/vda", "web1", "disk-copy", "aa11", "{\"size\":1}",
         "done", "{\"path\":\"/out/web1-vda.qcow2\"}"},
        {"web1/domain-define", "web1", "domain-define", "bb22", NULL,
         "failed", "libvirt: domain 'web1' exists"},
        {"db1/source-shutdown", "db1", "source-shutdown", "cc33", "x",
         NULL, NULL},
        {"web1/disk-copy/vdb", "web1", "disk-copy", "dd44", "quote ' and \"",
         "done", NULL},
        {NULL, NULL, NULL, NULL, NULL, NULL, NULL},
    };
    for (size_t i = 0; cases[i].key != NULL; i++) {
        assert(state_step_get(st, cases[i].key, &error) == NULL);
        assert(error == NULL);
        assert(state_step_begin(st, cases[i].key, cases[i].vm,
                                cases[i].kind, cases[i].fp, cases[i].inputs,
                                &error));
        if (str_eq(cases[i].outcome, "done"))
            assert(state_step_done(st, cases[i].key, cases[i].text, &error));
        else if (str_eq(cases[i].outcome, "failed"))
            assert(state_step_failed(st, cases[i].key, cases[i].text,
                                     &error));
    }

    g_autoptr(GPtrArray) list = state_step_list(st, &error);
    assert(list != NULL && list->len == 4);
    /* Ordered by key. */
    for (guint i = 1; i < list->len; i++) {
        const struct state_step_record *a = list->pdata[i - 1];
        const struct state_step_record *b = list->pdata[i];
        assert(strcmp(a->key, b->key) < 0);
    }
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    for (size_t i = 0; cases[i].key != NULL; i++) {
        g_autoptr(state_step_record) r = state_step_get(st, cases[i].key,
                                                        &error);
        assert(r != NULL);
        assert(str_eq(r->key, cases[i].key));
        assert(str_eq(r->vm, cases[i].vm));
        assert(str_eq(r->kind, cases[i].kind));
        assert(str_eq(r->fingerprint, cases[i].fp));
        assert(str_eq(r->inputs, cases[i].inputs));
        assert(r->attempts == 1);
        assert(r->updated <= now && r->updated >= now - 60);
        if (str_eq(cases[i].outcome, "done")) {
            assert(r->status == STATE_STEP_DONE);
            assert(str_eq(r->outputs, cases[i].text));
            assert(r->error == NULL);
        } else if (str_eq(cases[i].outcome, "failed")) {
            assert(r->status == STATE_STEP_FAILED);
            assert(str_eq(r->error, cases[i].text));
        } else {
            assert(r->status == STATE_STEP_RUNNING);
        }
    }

    /* A retry: attempts counts, error is cleared, then done. */
    assert(state_step_begin(st, "web1/domain-define", "web1",
                            "domain-define", "bb22", NULL, &error));
    assert(state_step_done(st, "web1/domain-define", NULL, &error));
    g_autoptr(state_step_record) r = state_step_get(st, "web1/domain-define",
                                                    &error);
    assert(r->attempts == 2 && r->status == STATE_STEP_DONE);
    assert(r->error == NULL && r->outputs == NULL);

    /* Forget removes the row. */
    assert(state_step_forget(st, "db1/source-shutdown", &error));
    assert(state_step_get(st, "db1/source-shutdown", &error) == NULL);
    assert(error == NULL);

    /* Finishing a step that was never begun is a bug of the caller. */
    assert(!state_step_done(st, "nope", NULL, &error));
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL));
    g_autofree char *msg = g_strdup_printf(
        "internal error: state '%s' has no step 'nope'", state_path(st));
    assert(strcmp(error->message, msg) == 0);

    static const struct {
        enum state_step_status s;
        const char *name;
    } names[] = {
        {STATE_STEP_NONE, "none"},
        {STATE_STEP_RUNNING, "running"},
        {STATE_STEP_FAILED, "failed"},
        {STATE_STEP_DONE, "done"},
        {STATE_STEP_LAST, NULL},
    };
    for (size_t i = 0; names[i].name != NULL; i++)
        assert(strcmp(state_step_status_name(names[i].s), names[i].name) == 0);
    return 0;
}

/* ---- checkpoints ---- */

static int
test_checkpoints(void)
{
    g_autoptr(state) st = open_new("ckpt.db");
    g_autoptr(GError) error = NULL;
    const char *key = "web1/disk-copy/vda";

    assert(state_step_begin(st, key, "web1", "disk-copy", "fp1", "in",
                            &error));
    assert(state_checkpoint_get(st, key, &error) == NULL);
    assert(error == NULL);

    static const struct {
        uint64_t position;
        const char *detail;
    } puts[] = {
        {4096, "{\"chunk\":1}"},
        {1ULL << 40, NULL},
        {(1ULL << 62) + 7, "{\"chunk\":99}"},
        {0, NULL},
    };
    for (size_t i = 0; puts[i].position != 0; i++) {
        assert(state_checkpoint_put(st, key, puts[i].position,
                                    puts[i].detail, &error));
        g_autoptr(state_checkpoint) c = state_checkpoint_get(st, key, &error);
        assert(c != NULL);
        assert(str_eq(c->step_key, key));
        assert(c->position == puts[i].position);
        assert(str_eq(c->detail, puts[i].detail));
    }

    /* Same fingerprint: the checkpoint survives a restart of the step,
     * and a failure. */
    assert(state_step_failed(st, key, "interrupted", &error));
    assert(state_step_begin(st, key, "web1", "disk-copy", "fp1", "in",
                            &error));
    g_autoptr(state_checkpoint) kept = state_checkpoint_get(st, key, &error);
    assert(kept != NULL && kept->position == (1ULL << 62) + 7);

    /* done drops it. */
    assert(state_step_done(st, key, "{}", &error));
    assert(state_checkpoint_get(st, key, &error) == NULL);
    assert(error == NULL);

    /* A checkpoint needs its step. */
    assert(!state_checkpoint_put(st, "ghost", 1, NULL, &error));
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL));
    g_clear_error(&error);

    /* forget drops it too. */
    assert(state_step_begin(st, key, "web1", "disk-copy", "fp1", "in",
                            &error));
    assert(state_checkpoint_put(st, key, 10, NULL, &error));
    assert(state_step_forget(st, key, &error));
    assert(state_checkpoint_get(st, key, &error) == NULL);
    assert(error == NULL);
    return 0;
}

static int
test_fingerprint(void)
{
    g_autoptr(state) st = open_new("fp.db");
    g_autoptr(GError) error = NULL;
    const char *key = "db1/disk-copy/xvda";

    assert(state_step_begin(st, key, "db1", "disk-copy", "old", "a", &error));
    assert(state_checkpoint_put(st, key, 123456, "{}", &error));
    assert(state_step_begin(st, key, "db1", "disk-copy", "new", "b", &error));
    assert(state_checkpoint_get(st, key, &error) == NULL);
    assert(error == NULL);
    g_autoptr(state_step_record) r = state_step_get(st, key, &error);
    assert(str_eq(r->fingerprint, "new") && str_eq(r->inputs, "b"));
    assert(r->attempts == 2 && r->status == STATE_STEP_RUNNING);

    /* Another step's checkpoint is not touched. */
    assert(state_step_begin(st, "other", "db1", "disk-copy", "x", NULL,
                            &error));
    assert(state_checkpoint_put(st, "other", 5, NULL, &error));
    assert(state_step_begin(st, key, "db1", "disk-copy", "newer", "c",
                            &error));
    g_autoptr(state_checkpoint) c = state_checkpoint_get(st, "other", &error);
    assert(c != NULL && c->position == 5);
    return 0;
}

/* ---- runs and events ---- */

static int
test_events(void)
{
    g_autoptr(state) st = open_new("events.db");
    g_autoptr(GError) error = NULL;

    int64_t run1 = state_run_begin(st, "convoy apply --wave 1", &error);
    int64_t run2 = state_run_begin(st, "convoy apply --wave 2", &error);
    assert(run1 > 0 && run2 > run1);

    static const struct {
        int which;              /* 1, 2, or 0 for no run */
        const char *step, *kind, *message;
    } events[] = {
        {1, "web1/disk-copy/vda", "start", NULL},
        {2, NULL, "note", "wave 2 waits for wave 1"},
        {1, "web1/disk-copy/vda", "checkpoint", "4096"},
        {0, NULL, "lock", "taken"},
        {1, "web1/disk-copy/vda", "done", "ok"},
        {-1, NULL, NULL, NULL},
    };
    double before = (double)g_get_real_time() / G_USEC_PER_SEC;
    for (size_t i = 0; events[i].which >= 0; i++) {
        int64_t id = events[i].which == 1 ? run1
                     : events[i].which == 2 ? run2 : 0;
        assert(state_event(st, id, events[i].step, events[i].kind,
                           events[i].message, &error));
    }
    assert(state_run_end(st, run1, "ok", &error));
    assert(!state_run_end(st, 999, "ok", &error));
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL));
    g_clear_error(&error);

    g_autoptr(GPtrArray) all = state_event_list(st, 0, &error);
    assert(all != NULL && all->len == 5);
    for (guint i = 0; i < all->len; i++) {
        const struct state_event_record *e = all->pdata[i];
        int64_t id = events[i].which == 1 ? run1
                     : events[i].which == 2 ? run2 : 0;
        assert(e->run_id == id);
        assert(str_eq(e->step_key, events[i].step));
        assert(str_eq(e->kind, events[i].kind));
        assert(str_eq(e->message, events[i].message));
        assert(e->time >= before - 1 && e->time < before + 60);
        if (i > 0)
            assert(e->id > ((const struct state_event_record *)all->pdata[i - 1])->id);
    }
    g_autoptr(GPtrArray) one = state_event_list(st, run1, &error);
    assert(one != NULL && one->len == 3);
    for (guint i = 0; i < one->len; i++)
        assert(((const struct state_event_record *)one->pdata[i])->run_id == run1);
    return 0;
}

/* ---- files ---- */

static int
test_mode(void)
{
    mode_t old = umask(022);
    g_autofree char *dir = tmp_path("a/b");
    g_autofree char *path = g_build_filename(dir, "state.db", NULL);
    g_autoptr(GError) error = NULL;
    {
        g_autoptr(state) st = state_open(path, true, false, &error);
        assert(st != NULL);
        assert(state_step_begin(st, "k", "vm", "kind", "fp", NULL, &error));
        assert(state_lock(st, "convoy apply", &error));

        g_autofree char *wal = g_strconcat(path, "-wal", NULL);
        g_autofree char *shm = g_strconcat(path, "-shm", NULL);
        g_autofree char *lock = g_strconcat(path, ".lock", NULL);
        assert(file_mode(path) == 0600);
        assert(file_mode(wal) == 0600);
        assert(file_mode(shm) == 0600);
        assert(file_mode(lock) == 0600);
        assert(file_mode(dir) == 0700);
        g_autofree char *parent = tmp_path("a");
        assert(file_mode(parent) == 0700);
        assert(strcmp(state_path(st), path) == 0);
    }
    umask(old);

    /* Reopen: the data is there; WAL journal mode persisted. */
    g_autoptr(state) again = state_open(path, false, false, &error);
    assert(again != NULL);
    g_autoptr(state_step_record) r = state_step_get(again, "k", &error);
    assert(r != NULL && r->status == STATE_STEP_RUNNING);

    /* create=false on a missing file. */
    g_autofree char *missing = tmp_path("missing.db");
    assert(state_open(missing, false, false, &error) == NULL);
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND));
    g_autofree char *msg = g_strdup_printf("state '%s' does not exist",
                                           missing);
    assert(strcmp(error->message, msg) == 0);
    assert(!g_file_test(missing, G_FILE_TEST_EXISTS));
    g_clear_error(&error);

    /* Not a database: a damaged store, named, with how to recover. */
    g_autofree char *junk = tmp_path("junk.db");
    assert(g_file_set_contents(junk, "this is not a database, not at all",
                               -1, NULL));
    assert(state_open(junk, true, false, &error) == NULL);
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_STATE_DAMAGED));
    g_autofree char *prefix = g_strdup_printf(
        "state '%s' is damaged: sqlite: file is not a database; restore the copy taken before the last apply with 'cp %s.bak %s'",
        junk, junk, junk);
    assert(g_str_has_prefix(error->message, prefix));
    return 0;
}

static int
test_read_only(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = tmp_path("ro-missing");
    g_autofree char *path = pg_url != NULL ? location_of("ro-missing")
                                           : g_build_filename(dir, "state.db", NULL);

    {
        g_autoptr(state) st = state_open(path, true, true, &error);
        assert(st != NULL);
        g_autoptr(GPtrArray) list = state_step_list(st, &error);
        assert(list != NULL && list->len == 0);
        assert(state_step_get(st, "x", &error) == NULL && error == NULL);
        assert(state_checkpoint_get(st, "x", &error) == NULL && error == NULL);
        g_autoptr(GPtrArray) ev = state_event_list(st, 0, &error);
        assert(ev != NULL && ev->len == 0);
        /* Mutations are refused. */
        assert(!state_step_begin(st, "x", "vm", "k", "fp", NULL, &error));
        assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL));
        g_clear_error(&error);
        assert(!state_lock(st, "convoy plan", &error));
        g_clear_error(&error);
    }
    /* Nothing was created: not the file, not its directory, no lock
     * (PostgreSQL: no schema, so a writable open without create fails). */
    assert(!g_file_test(dir, G_FILE_TEST_EXISTS));
    if (pg_url != NULL) {
        assert(state_open(path, false, false, &error) == NULL);
        assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND));
        g_clear_error(&error);
    }

    /* Read-only open of an existing store sees its rows. */
    g_autofree char *real = location_of("ro.db");
    {
        g_autoptr(state) w = state_open(real, true, false, &error);
        assert(w != NULL);
        assert(state_step_begin(w, "k", "vm", "kind", "fp", NULL, &error));
        assert(state_checkpoint_put(w, "k", 77, NULL, &error));
    }
    g_autoptr(state) ro = state_open(real, false, true, &error);
    assert(ro != NULL);
    g_autoptr(state_checkpoint) c = state_checkpoint_get(ro, "k", &error);
    assert(c != NULL && c->position == 77);
    assert(!state_checkpoint_put(ro, "k", 78, NULL, &error));
    g_clear_error(&error);
    return 0;
}

/* ---- lock ---- */

/* Child modes: "try-lock PATH" prints the outcome; "hold-lock PATH" takes
 * the lock, says "locked" and waits to be killed. */
static int
child_main(const char *mode, const char *path)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(state) st = state_open(path, true, false, &error);
    if (st == NULL) {
        printf("open: %s\n", error->message);
        return 2;
    }
    if (!state_lock(st, "convoy apply", &error)) {
        printf("%s\n", error->message);
        return g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_LOCKED) ? 1
                                                                         : 2;
    }
    if (strcmp(mode, "hold-step") == 0) {
        /* Begin a step under the lock, then hold both. */
        if (state_run_begin(st, "convoy apply", &error) <= 0 ||
            !state_step_begin(st, "web1/disk-copy/vda", "web1", "disk-copy",
                              "aa11", NULL, &error)) {
            printf("begin: %s\n", error->message);
            return 2;
        }
        mode = "hold-lock";
    }
    if (strcmp(mode, "hold-lock") == 0) {
        printf("locked\n");
        fflush(stdout);
        for (;;)
            pause();
    }
    printf("locked\n");
    return 0;
}

/* Run "try-lock" in a child; returns its exit status and output line. */
static int
try_lock_in_child(const char *path, char **out)
{
    const char *argv[] = {self_exe, "try-lock", path, NULL};
    g_autoptr(GError) error = NULL;
    g_autoptr(GSubprocess) p =
        g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
    assert(p != NULL);
    g_autofree char *text = NULL;
    assert(g_subprocess_communicate_utf8(p, NULL, NULL, &text, NULL, &error));
    assert(g_subprocess_get_if_exited(p));
    *out = g_strdup(g_strchomp(text));
    return g_subprocess_get_exit_status(p);
}

static char *
iso_now(void)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    return g_date_time_format(now, "%Y-%m-%dT%H:%M:%SZ");
}

static int
test_lock_busy(void)
{
    g_autofree char *path = tmp_path("lock.db");
    g_autoptr(GError) error = NULL;
    g_autoptr(state) st = state_open(path, true, false, &error);
    assert(st != NULL);

    g_autofree char *t0 = iso_now();
    assert(state_lock(st, "convoy apply", &error));
    g_autofree char *t1 = iso_now();
    /* A second lock in the same process is a bug. */
    assert(!state_lock(st, "convoy apply", &error));
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL));
    g_clear_error(&error);

    g_autofree char *out = NULL;
    assert(try_lock_in_child(path, &out) == 1);
    g_autofree char *want0 = g_strdup_printf(
        "state '%s' is locked by pid %d on host '%s' (convoy apply, since %s)",
        path, (int)getpid(), g_get_host_name(), t0);
    g_autofree char *want1 = g_strdup_printf(
        "state '%s' is locked by pid %d on host '%s' (convoy apply, since %s)",
        path, (int)getpid(), g_get_host_name(), t1);
    if (strcmp(out, want0) != 0 && strcmp(out, want1) != 0)
        fprintf(stderr, "got  '%s'\nwant '%s'\n", out, want0);
    assert(strcmp(out, want0) == 0 || strcmp(out, want1) == 0);

    /* Released: the child gets it now. */
    state_unlock(st);
    g_autofree char *out2 = NULL;
    assert(try_lock_in_child(path, &out2) == 0);
    assert(strcmp(out2, "locked") == 0);
    return 0;
}

static int
test_lock_killed(void)
{
    g_autofree char *path = tmp_path("killed.db");
    const char *argv[] = {self_exe, "hold-lock", path, NULL};
    g_autoptr(GError) error = NULL;
    g_autoptr(GSubprocess) p =
        g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
    assert(p != NULL);
    g_autoptr(GDataInputStream) in =
        g_data_input_stream_new(g_subprocess_get_stdout_pipe(p));
    g_autofree char *line =
        g_data_input_stream_read_line(in, NULL, NULL, &error);
    assert(line != NULL && strcmp(line, "locked") == 0);
    guint64 holder = 0;
    assert(g_ascii_string_to_unsigned(g_subprocess_get_identifier(p), 10, 1,
                                      G_MAXINT, &holder, NULL));

    /* While it lives, the lock is busy and names it. */
    g_autoptr(state) st = state_open(path, false, false, &error);
    assert(st != NULL);
    assert(!state_lock(st, "convoy apply", &error));
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_LOCKED));
    g_autofree char *pid_part = g_strdup_printf(
        "is locked by pid %" G_GUINT64_FORMAT " on", holder);
    assert(strstr(error->message, pid_part) != NULL);
    g_clear_error(&error);

    /* kill -9: the kernel drops the flock; the stale row does not block. */
    g_subprocess_force_exit(p);
    assert(g_subprocess_wait(p, NULL, &error));
    assert(g_subprocess_get_if_signaled(p) &&
           g_subprocess_get_term_sig(p) == SIGKILL);
    assert(state_lock(st, "convoy apply --wave 2", &error));

    g_autofree char *out = NULL;
    assert(try_lock_in_child(path, &out) == 1);
    g_autofree char *now_holder = g_strdup_printf(
        "is locked by pid %d on host '%s' (convoy apply --wave 2, since ",
        (int)getpid(), g_get_host_name());
    assert(strstr(out, now_holder) != NULL);
    state_unlock(st);
    return 0;
}

/* ---- owners and leases ---- */

static int
test_lease(void)
{
    g_autofree char *path = tmp_path("lease.db");
    g_autoptr(GError) error = NULL;

    /* In this process: the owner and run are recorded, and the step is
     * live exactly while this handle holds the lock (SQLite's lease). */
    {
        g_autoptr(state) st = state_open(path, true, false, &error);
        assert(st != NULL);
        g_autofree char *me = g_strdup_printf("%s:%d", g_get_host_name(),
                                              (int)getpid());
        assert(strcmp(state_owner(st), me) == 0);
        assert(state_lock(st, "convoy apply", &error));
        int64_t run = state_run_begin(st, "convoy apply", &error);
        assert(run > 0);
        assert(state_step_begin(st, "a/k", "a", "k", "f", NULL, &error));
        g_autoptr(state_step_record) r = state_step_get(st, "a/k", &error);
        assert(r != NULL && r->status == STATE_STEP_RUNNING);
        assert(strcmp(r->owner, me) == 0);
        assert(r->run_id == run);
        assert(r->lease_until == 0);
        assert(state_step_is_live(st, r));
        /* Begun again by its owner (a retry): allowed. */
        assert(state_step_begin(st, "a/k", "a", "k", "f", NULL, &error));
        assert(state_step_done(st, "a/k", NULL, &error));
        g_autoptr(state_step_record) d = state_step_get(st, "a/k", &error);
        assert(!state_step_is_live(st, d));
        assert(state_step_begin(st, "a/k2", "a", "k", "f", NULL, &error));
        state_unlock(st);
        g_autoptr(state_step_record) r2 = state_step_get(st, "a/k2", &error);
        assert(!state_step_is_live(st, r2));
        assert(state_run_end(st, run, "interrupted", &error));
    }

    /* Another process holds the lock and runs a step: live for this one,
     * which cannot begin it; killed, the step is abandoned. */
    const char *argv[] = {self_exe, "hold-step", path, NULL};
    g_autoptr(GSubprocess) p =
        g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
    assert(p != NULL);
    g_autoptr(GDataInputStream) in =
        g_data_input_stream_new(g_subprocess_get_stdout_pipe(p));
    g_autofree char *line =
        g_data_input_stream_read_line(in, NULL, NULL, &error);
    assert(line != NULL && strcmp(line, "locked") == 0);
    g_autofree char *child = g_strdup_printf(
        "%s:%s", g_get_host_name(), g_subprocess_get_identifier(p));

    g_autoptr(state) st = state_open(path, false, false, &error);
    assert(st != NULL);
    g_autoptr(state) ro = state_open(path, false, true, &error);
    assert(ro != NULL);
    g_autoptr(state_step_record) r =
        state_step_get(ro, "web1/disk-copy/vda", &error);
    assert(r != NULL && strcmp(r->owner, child) == 0 && r->run_id > 0);
    assert(state_step_is_live(ro, r));
    assert(state_step_is_live(st, r));
    assert(!state_step_begin(st, "web1/disk-copy/vda", "web1", "disk-copy",
                             "aa11", NULL, &error));
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_LOCKED));
    g_autofree char *want = g_strdup_printf(
        "state '%s': step 'web1/disk-copy/vda' is being run by '%s'", path,
        child);
    assert(strcmp(error->message, want) == 0);
    g_clear_error(&error);

    g_subprocess_force_exit(p);
    assert(g_subprocess_wait(p, NULL, &error));
    assert(!state_step_is_live(ro, r));
    assert(!state_step_is_live(st, r));
    assert(state_lock(st, "convoy apply", &error));
    assert(state_step_begin(st, "web1/disk-copy/vda", "web1", "disk-copy",
                            "aa11", NULL, &error));
    g_autoptr(state_step_record) r3 =
        state_step_get(st, "web1/disk-copy/vda", &error);
    assert(strcmp(r3->owner, state_owner(st)) == 0 && r3->attempts == 2);
    state_unlock(st);
    return 0;
}

/* ---- slots of work in flight ---- */

struct slot_race {
    struct state *st;
    gint in_use;                /* holders now, counted by the racers */
    gint over;                  /* times more than 2 held at once */
    gint taken;
    gint next;                  /* holder names */
};

static gpointer
slot_racer(gpointer data)
{
    struct slot_race *race = data;
    const struct state_slot slot[] = {{"race", 2}};
    /* PostgreSQL: a connection of its own, as another worker has. */
    g_autofree char *loc = pg_url != NULL ? location_of("slots") : NULL;
    g_autoptr(state) own = loc != NULL ? state_open(loc, false, false, NULL) : NULL;
    struct state *st = own != NULL ? own : race->st;

    for (int i = 0; i < (pg_url != NULL ? 150 : 2000); i++) {
        g_autofree char *holder =
            g_strdup_printf("h%d", g_atomic_int_add(&race->next, 1));
        size_t blocked = 0;
        assert(state_slot_acquire(st, holder, slot, 1, &blocked, NULL));
        if (blocked != 0) {
            if (g_atomic_int_add(&race->in_use, 1) >= 2)
                g_atomic_int_inc(&race->over);
            g_atomic_int_inc(&race->taken);
            g_atomic_int_add(&race->in_use, -1);
            assert(state_slot_release(st, holder, NULL));
        }
    }
    return NULL;
}

static int
test_slots(void)
{
    g_autoptr(state) st = open_new("slots.db");
    g_autoptr(GError) error = NULL;
    size_t blocked = 99;

    /* A wave of 3 at once, 2 per source host, 1 per pool P. */
    static const struct {
        const char *holder;
        const char *host, *pool;
        size_t blocked;         /* 3: taken */
    } cases[] = {
        {"vm1", "source-host:a", "pool:t/P", 3},
        {"vm2", "source-host:a", "pool:t/P", 2},   /* pool full */
        {"vm3", "source-host:a", "pool:t/Q", 3},
        {"vm4", "source-host:a", "pool:t/Q", 1},   /* host full */
        {"vm5", "source-host:b", "pool:t/R", 3},
        {"vm6", "source-host:b", "pool:t/R", 0},   /* wave full */
        {NULL, NULL, NULL, 0},
    };
    for (size_t i = 0; cases[i].holder != NULL; i++) {
        const struct state_slot slots[] = {
            {"wave:w1", 3},
            {cases[i].host, 2},
            {cases[i].pool, strcmp(cases[i].pool, "pool:t/P") == 0 ? 1 : 0},
        };
        assert(state_slot_acquire(st, cases[i].holder, slots, 3, &blocked,
                                  &error));
        if (blocked != cases[i].blocked)
            fprintf(stderr, "%s: blocked %zu\n", cases[i].holder, blocked);
        assert(blocked == cases[i].blocked);
    }
    assert(state_slot_count(st, "wave:w1") == 3);
    assert(state_slot_count(st, "source-host:a") == 2);
    assert(state_slot_count(st, "pool:t/P") == 1);
    assert(state_slot_count(st, "pool:t/Q") == 1);
    assert(state_slot_count(st, "pool:t/X") == 0);

    /* A holder holds at most one set; a refusal took nothing. */
    const struct state_slot one[] = {{"wave:w1", 0}};
    assert(!state_slot_acquire(st, "vm1", one, 1, &blocked, &error));
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL));
    g_clear_error(&error);
    assert(!state_slot_release(st, "vm2", &error));
    g_clear_error(&error);

    /* Released: vm1's pool and host slots come back, all of them. */
    assert(state_slot_release(st, "vm1", &error));
    assert(state_slot_count(st, "wave:w1") == 2);
    assert(state_slot_count(st, "source-host:a") == 1);
    assert(state_slot_count(st, "pool:t/P") == 0);
    const struct state_slot again[] = {
        {"wave:w1", 3}, {"source-host:a", 2}, {"pool:t/P", 1},
    };
    assert(state_slot_acquire(st, "vm2", again, 3, &blocked, &error));
    assert(blocked == 3);
    assert(state_slot_release(st, "vm2", &error));
    assert(state_slot_release(st, "vm3", &error));
    assert(state_slot_release(st, "vm5", &error));
    assert(state_slot_count(st, "wave:w1") == 0);
    assert(state_slot_count(st, "source-host:a") == 0);

    /* Many threads at once never go past a limit. */
    struct slot_race race = {.st = st};
    g_autoptr(GPtrArray) threads = g_ptr_array_new();
    for (int i = 0; i < 8; i++)
        g_ptr_array_add(threads, g_thread_new("slots", slot_racer, &race));
    for (guint i = 0; i < threads->len; i++)
        g_thread_join(threads->pdata[i]);
    assert(g_atomic_int_get(&race.over) == 0);
    assert(g_atomic_int_get(&race.taken) > 0);
    assert(state_slot_count(st, "race") == 0);
    return 0;
}

/* ---- an older schema ---- */

/* The version-1 schema as convoy 1 created it, with a few rows. */
static const char schema_v1[] =
    "CREATE TABLE runs (id INTEGER PRIMARY KEY, command TEXT NOT NULL,"
    " started INTEGER NOT NULL, finished INTEGER, status TEXT NOT NULL);"
    "CREATE TABLE steps (key TEXT PRIMARY KEY, vm TEXT NOT NULL,"
    " kind TEXT NOT NULL, fingerprint TEXT NOT NULL, inputs TEXT,"
    " status TEXT NOT NULL CHECK (status IN ('running', 'failed', 'done')),"
    " attempts INTEGER NOT NULL DEFAULT 0, outputs TEXT, error TEXT,"
    " updated INTEGER NOT NULL);"
    "CREATE TABLE checkpoints (step_key TEXT PRIMARY KEY REFERENCES"
    " steps(key) ON DELETE CASCADE, position INTEGER NOT NULL, detail TEXT,"
    " updated INTEGER NOT NULL);"
    "CREATE TABLE events (id INTEGER PRIMARY KEY, run_id INTEGER REFERENCES"
    " runs(id), time REAL NOT NULL, step_key TEXT, kind TEXT NOT NULL,"
    " message TEXT);"
    "CREATE INDEX events_run ON events(run_id, id);"
    "CREATE TABLE lock_holder (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " pid INTEGER NOT NULL, host TEXT NOT NULL, command TEXT NOT NULL,"
    " since TEXT NOT NULL);"
    "PRAGMA user_version = 1;"
    "INSERT INTO runs VALUES (1, 'convoy apply', 1700000000, NULL, 'running');"
    "INSERT INTO steps VALUES ('web1/disk-copy/vda', 'web1', 'disk-copy',"
    " 'aa11', 'size=1', 'running', 1, NULL, NULL, 1700000001);"
    "INSERT INTO steps VALUES ('web1/domain-define', 'web1', 'domain-define',"
    " 'bb22', NULL, 'done', 2, '{\"x\":1}', NULL, 1700000002);"
    "INSERT INTO checkpoints VALUES ('web1/disk-copy/vda', 4096, '{}',"
    " 1700000001);"
    "INSERT INTO events VALUES (1, 1, 1700000001.5, 'web1/disk-copy/vda',"
    " 'begin', NULL);";

static void
make_v1(const char *path)
{
    sqlite3 *db = NULL;
    assert(sqlite3_open(path, &db) == SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, schema_v1, NULL, NULL, &msg) != SQLITE_OK)
        fprintf(stderr, "%s\n", msg);
    assert(msg == NULL);
    sqlite3_close(db);
}

static void
check_v1_rows(struct state *st)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) rows = state_step_list(st, &error);
    assert(rows != NULL && rows->len == 2);
    const struct state_step_record *r = rows->pdata[0];
    assert(strcmp(r->key, "web1/disk-copy/vda") == 0);
    assert(r->status == STATE_STEP_RUNNING && r->attempts == 1);
    assert(r->owner == NULL && r->run_id == 0 && r->lease_until == 0);
    /* Begun by nobody known: abandoned. */
    assert(!state_step_is_live(st, r));
    r = rows->pdata[1];
    assert(r->status == STATE_STEP_DONE && strcmp(r->outputs, "{\"x\":1}") == 0);
    g_autoptr(state_step_record) g = state_step_get(st, "web1/domain-define", &error);
    assert(g != NULL && g->attempts == 2);
    g_autoptr(state_checkpoint) c =
        state_checkpoint_get(st, "web1/disk-copy/vda", &error);
    assert(c != NULL && c->position == 4096);
    g_autoptr(GPtrArray) ev = state_event_list(st, 1, &error);
    assert(ev != NULL && ev->len == 1);
}

static int
test_schema_v1(void)
{
    g_autofree char *path = tmp_path("v1.db");
    g_autoptr(GError) error = NULL;
    make_v1(path);

    /* Read-only (plan): read as it is, nothing written. */
    {
        g_autoptr(state) ro = state_open(path, false, true, &error);
        assert(ro != NULL);
        check_v1_rows(ro);
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    assert(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    assert(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK);
    assert(sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_int(stmt, 0) == 1);
    sqlite3_finalize(stmt);
    sqlite3_close(db);

    /* Writable (apply): upgraded in place, the rows kept, and it works. */
    g_autoptr(state) st = state_open(path, false, false, &error);
    assert(st != NULL);
    check_v1_rows(st);
    assert(state_lock(st, "convoy apply", &error));
    assert(state_step_begin(st, "web1/disk-copy/vda", "web1", "disk-copy",
                            "aa11", "size=1", &error));
    g_autoptr(state_checkpoint) c =
        state_checkpoint_get(st, "web1/disk-copy/vda", &error);
    assert(c != NULL && c->position == 4096);
    g_autoptr(state_step_record) r =
        state_step_get(st, "web1/disk-copy/vda", &error);
    assert(r->attempts == 2 && strcmp(r->owner, state_owner(st)) == 0);
    assert(state_step_done(st, "web1/disk-copy/vda", NULL, &error));
    state_unlock(st);
    assert(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    assert(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK);
    assert(sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_int(stmt, 0) == 3);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return 0;
}

/* ---- locations and backends ---- */

static int
test_location(void)
{
    static const struct {
        const char *location;
        const char *backend;    /* NULL: refused */
        const char *target;     /* or the error's text */
    } cases[] = {
        {"/srv/mig/state.db", "sqlite", "/srv/mig/state.db"},
        {".convoy/state.db", "sqlite", ".convoy/state.db"},
        {"./a:b.db", "sqlite", "./a:b.db"},
        {"sqlite:/srv/mig/state.db", "sqlite", "/srv/mig/state.db"},
        {"SQLite:rel/state.db", "sqlite", "rel/state.db"},
        {"sqlite:", NULL, "state 'sqlite:': expected a path after 'sqlite:'"},
        {"sqlite://db1/state", NULL,
         "state 'sqlite://db1/state': expected a path after 'sqlite:'"},
        {"postgresql://convoy@db1/convoy", "postgresql", "//convoy@db1/convoy"},
        {"PostgreSQL:///convoy?host=/run/pg", "postgresql", "///convoy?host=/run/pg"},
        {"etcd:x", NULL,
         "state 'etcd:x': the scheme 'etcd' is not supported by this build (supported: sqlite, postgresql, or a plain path)"},
        {NULL, NULL, NULL},
    };
    for (size_t i = 0; cases[i].location != NULL; i++) {
        const struct state_ops *ops = NULL;
        const char *target = NULL;
        g_autoptr(GError) error = NULL;
        bool ok = state_backend_for(cases[i].location, &ops, &target, &error);

        if (cases[i].backend == NULL) {
            assert(!ok);
            assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_SQLITE));
            if (strcmp(error->message, cases[i].target) != 0)
                fprintf(stderr, "got  '%s'\nwant '%s'\n", error->message,
                        cases[i].target);
            assert(strcmp(error->message, cases[i].target) == 0);
            /* state_open says the same, and creates nothing. */
            g_autoptr(GError) e2 = NULL;
            assert(state_open(cases[i].location, true, false, &e2) == NULL);
            assert(strcmp(e2->message, cases[i].target) == 0);
        } else {
            assert(ok);
            assert(strcmp(ops->name, cases[i].backend) == 0);
            assert(strcmp(target, cases[i].target) == 0);
        }
    }

    /* PostgreSQL URLs refused before any connection, and one that finds
     * no server: the message names the URL without its password and says
     * what was expected. */
    static const struct {
        const char *location, *message;
        bool prefix;
    } bad[] = {
        {"postgresql://convoy:s3cret@db1/convoy",
         "state 'postgresql://convoy@db1/convoy': a password in the state URL is refused (a URL is shown in plans, logs and the state); put it in ~/.pgpass or the file PGPASSFILE names", false},
        {"postgresql://db1/convoy?password=s3cret",
         "state 'postgresql://db1/convoy?password=s3cret': a password", true},
        {"postgresql://db1",
         "state 'postgresql://db1': expected a database name: postgresql://[USER@]HOST[:PORT]/DATABASE", false},
        {"postgresql://db1/?sslmode=require",
         "state 'postgresql://db1/?sslmode=require': expected a database name: postgresql://[USER@]HOST[:PORT]/DATABASE", false},
        {"postgresql://db1/convoy?project=Fleet-1",
         "state 'postgresql://db1/convoy?project=Fleet-1': project 'Fleet-1': expected a lowercase name of letters, digits and '_' (at most 48, not starting with a digit)", false},
        {"postgresql://db1/convoy?lease=1",
         "state 'postgresql://db1/convoy?lease=1': lease '1': expected whole seconds from 3 to 86400", false},
        {"postgresql:///convoy?host=/nonexistent-convoy-dir",
         "postgresql: state 'postgresql:///convoy?host=/nonexistent-convoy-dir': cannot connect: connection to server on socket \"/nonexistent-convoy-dir/.s.PGSQL.5432\" failed: No such file or directory", false},
        {NULL, NULL, false},
    };
    for (size_t i = 0; bad[i].location != NULL; i++) {
        g_autoptr(GError) e = NULL;
        assert(state_open(bad[i].location, true, false, &e) == NULL);
        assert(g_error_matches(e, CONVOY_ERROR, CONVOY_ERROR_SQLITE));
        bool ok = bad[i].prefix ? g_str_has_prefix(e->message, bad[i].message)
                                : strcmp(e->message, bad[i].message) == 0;
        if (!ok)
            fprintf(stderr, "got  '%s'\nwant '%s'\n", e->message, bad[i].message);
        assert(ok);
        assert(strstr(e->message, "s3cret") == NULL || strstr(bad[i].location, "password=") != NULL);
    }

    /* sqlite:PATH opens the same file as PATH; state_path is the file. */
    g_autofree char *path = tmp_path("loc.db");
    g_autofree char *loc = g_strconcat("sqlite:", path, NULL);
    g_autoptr(GError) error = NULL;
    {
        g_autoptr(state) st = state_open(loc, true, false, &error);
        assert(st != NULL);
        assert(strcmp(state_path(st), path) == 0);
        assert(state_step_begin(st, "v/k", "v", "k", "f1", NULL, &error));
    }
    g_autoptr(state) st = state_open(path, false, true, &error);
    assert(st != NULL);
    g_autoptr(state_step_record) r = state_step_get(st, "v/k", &error);
    assert(r != NULL && strcmp(r->fingerprint, "f1") == 0);

    /* The manifest's resolution: paths against its folder, URLs as is. */
    static const struct {
        const char *in, *out;
    } res[] = {
        {"var/convoy.db", "/m/var/convoy.db"},
        {"/abs/s.db", "/abs/s.db"},
        {"sqlite:var/s.db", "sqlite:/m/var/s.db"},
        {"sqlite:../s.db", "sqlite:/s.db"},
        {"postgresql://db1/convoy", "postgresql://db1/convoy"},
        {"sqlite:", NULL},
        {NULL, NULL},
    };
    for (size_t i = 0; res[i].in != NULL; i++) {
        const char *problem = NULL;
        g_autofree char *out = location_resolve(res[i].in, "/m", &problem);
        assert(g_strcmp0(out, res[i].out) == 0);
        assert((out == NULL) == (problem != NULL));
    }
    return 0;
}

/* ---- PostgreSQL: schema, projects, leases, fencing ---- */

/* Run sql on the test server's database; its first value or NULL. */
static char *
pg_sql(const char *sql)
{
    PGconn *c = PQconnectdb(pg_url);
    assert(PQstatus(c) == CONNECTION_OK);
    PGresult *res = PQexec(c, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        fprintf(stderr, "%s: %s\n", sql, PQerrorMessage(c));
    assert(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK);
    char *v = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 &&
                      !PQgetisnull(res, 0, 0)
                  ? g_strdup(PQgetvalue(res, 0, 0))
                  : NULL;
    PQclear(res);
    PQfinish(c);
    return v;
}

static int
test_pg_schema(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *loc_a = location_of("proj-a");
    g_autofree char *loc_b = location_of("proj-b");

    /* Two projects in one database: each its own schema, version 2. */
    {
        g_autoptr(state) a = state_open(loc_a, true, false, &error);
        g_autoptr(state) b = state_open(loc_b, true, false, &error);
        assert(a != NULL && b != NULL);
        assert(state_step_begin(a, "web1/k", "web1", "k", "fa", NULL, &error));
        assert(state_step_begin(b, "web1/k", "web1", "k", "fb", NULL, &error));
        assert(state_step_done(b, "web1/k", NULL, &error));
        g_autoptr(state_step_record) ra = state_step_get(a, "web1/k", &error);
        g_autoptr(state_step_record) rb = state_step_get(b, "web1/k", &error);
        assert(strcmp(ra->fingerprint, "fa") == 0 && ra->status == STATE_STEP_RUNNING);
        assert(strcmp(rb->fingerprint, "fb") == 0 && rb->status == STATE_STEP_DONE);
        g_autofree char *ida = state_store_id(a, &error);
        g_autofree char *idb = state_store_id(b, &error);
        assert(ida != NULL && idb != NULL && strlen(ida) == 32 && strcmp(ida, idb) != 0);
        assert(strcmp(state_path(a), loc_a) == 0);
        /* The backup: a copy of every table in schema proj_a_bak. */
        g_autofree char *where = NULL;
        assert(state_backup(a, &where, &error));
        g_autofree char *want = g_strdup_printf("schema 'proj_a_bak' of %s", loc_a);
        assert(strcmp(where, want) == 0);
        g_autofree char *n = pg_sql("SELECT count(*) FROM proj_a_bak.steps");
        assert(strcmp(n, "1") == 0);
        assert(state_check(a, true, &error));
    }
    g_autofree char *v = pg_sql("SELECT version FROM proj_a.schema_version");
    assert(strcmp(v, "2") == 0);

    /* A newer convoy's schema: refused, read-only or not, and untouched. */
    g_free(pg_sql("UPDATE proj_a.schema_version SET version = 7"));
    for (int ro = 0; ro < 2; ro++) {
        assert(state_open(loc_a, true, ro, &error) == NULL);
        assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_STATE_DAMAGED));
        g_autofree char *want = g_strdup_printf(
            "state '%s' (project 'proj_a') has schema version 7, newer than this convoy knows (1 to 2): a newer convoy wrote it; run that convoy or a newer one",
            loc_a);
        if (strcmp(error->message, want) != 0)
            fprintf(stderr, "got  '%s'\nwant '%s'\n", error->message, want);
        assert(strcmp(error->message, want) == 0);
        g_clear_error(&error);
    }
    g_free(v);
    v = pg_sql("SELECT version FROM proj_a.schema_version");
    assert(strcmp(v, "7") == 0);
    g_free(pg_sql("UPDATE proj_a.schema_version SET version = 2"));

    /* A damaged one: a column gone. */
    g_free(pg_sql("ALTER TABLE proj_b.checkpoints DROP COLUMN detail"));
    assert(state_open(loc_b, false, true, &error) == NULL);
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_STATE_DAMAGED));
    assert(strstr(error->message, "is damaged: the table 'checkpoints' has no column 'detail'") != NULL);
    g_clear_error(&error);
    return 0;
}

/* A second handle in this process with an owner of its own: another
 * worker, as far as the store can tell. */
static struct state *
open_as(const char *loc, const char *owner)
{
    g_autoptr(GError) error = NULL;
    struct state *st = state_open(loc, true, false, &error);
    if (st == NULL)
        fprintf(stderr, "%s\n", error->message);
    assert(st != NULL);
    g_free(st->owner);
    st->owner = g_strdup(owner);
    return st;
}

static int
test_pg_lease(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *base = location_of("lease");
    g_autofree char *loc = g_strconcat(base, "&lease=3", NULL);
    g_autoptr(state) a = open_as(loc, "host-a:1");
    g_autoptr(state) b = open_as(loc, "host-b:2");

    /* A worker holds its steps; the heartbeat keeps its lease past the
     * lease's length. */
    assert(state_lock(a, "convoy apply", &error));
    assert(state_run_begin(a, "convoy apply", &error) > 0);
    assert(state_step_begin(a, "web1/disk-copy/vda", "web1", "disk-copy", "aa11", NULL, &error));
    assert(state_checkpoint_put(a, "web1/disk-copy/vda", 4096, NULL, &error));
    g_usleep(4500 * 1000);
    g_autoptr(state_step_record) r = state_step_get(b, "web1/disk-copy/vda", &error);
    assert(strcmp(r->owner, "host-a:1") == 0 && r->lease_until > 0);
    assert(state_step_is_live(b, r));
    assert(!state_step_begin(b, "web1/disk-copy/vda", "web1", "disk-copy", "aa11", NULL, &error));
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_LOCKED));
    g_autofree char *want = g_strdup_printf(
        "state '%s': step 'web1/disk-copy/vda' is being run by 'host-a:1'", loc);
    assert(strcmp(error->message, want) == 0);
    g_clear_error(&error);
    g_autofree char *live = pg_sql("SELECT count(*) FROM lease.workers WHERE stopped IS NULL");
    assert(strcmp(live, "1") == 0);
    state_unlock(a);
    g_autoptr(state_step_record) r2 = state_step_get(b, "web1/disk-copy/vda", &error);
    assert(!state_step_is_live(b, r2));

    /* A worker in another process of this host killed with SIGKILL:
     * its process is gone, so its step is abandoned at once.  One of
     * another host (its row says so): its step stays live until its
     * lease runs out (by the database's clock), then another worker takes
     * it over from its checkpoint. */
    const char *argv[] = {self_exe, "hold-step", loc, NULL};
    for (int elsewhere = 0; elsewhere < 2; elsewhere++) {
        g_autoptr(GSubprocess) p = g_subprocess_newv(argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
        assert(p != NULL);
        g_autoptr(GDataInputStream) in = g_data_input_stream_new(g_subprocess_get_stdout_pipe(p));
        g_autofree char *line = g_data_input_stream_read_line(in, NULL, NULL, &error);
        assert(line != NULL && strcmp(line, "locked") == 0);
        g_autofree char *child = g_strdup_printf("%s:%s", g_get_host_name(),
                                                 g_subprocess_get_identifier(p));
        if (elsewhere) {
            g_autofree char *sql = g_strdup_printf(
                "UPDATE lease.workers SET host = 'elsewhere' WHERE id = '%s'", child);
            g_free(pg_sql(sql));
        }
        g_subprocess_force_exit(p);
        assert(g_subprocess_wait(p, NULL, &error));
        g_autoptr(state_step_record) k = state_step_get(b, "web1/disk-copy/vda", &error);
        assert(strcmp(k->owner, child) == 0);
        assert(state_step_is_live(b, k) == (elsewhere == 1));
    }
    gint64 t0 = g_get_monotonic_time();
    for (;;) {
        g_autoptr(state_step_record) x = state_step_get(b, "web1/disk-copy/vda", &error);
        if (!state_step_is_live(b, x))
            break;
        assert(g_get_monotonic_time() - t0 < 10 * G_USEC_PER_SEC);
        g_usleep(100 * 1000);
    }
    assert(state_lock(b, "convoy apply", &error));
    assert(state_step_begin(b, "web1/disk-copy/vda", "web1", "disk-copy", "aa11", NULL, &error));
    g_autoptr(state_checkpoint) c = state_checkpoint_get(b, "web1/disk-copy/vda", &error);
    assert(c != NULL && c->position == 4096);
    state_unlock(b);
    return 0;
}

static int
test_pg_fence(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *loc = location_of("fence");
    g_autoptr(state) old = open_as(loc, "old:1");
    g_autoptr(state) now = open_as(loc, "new:2");

    /* old began the step and lost its lease (it holds none here); new
     * took the step over and wrote a checkpoint. */
    assert(state_step_begin(old, "vm1/disk-copy/vda", "vm1", "disk-copy", "f", NULL, &error));
    assert(state_checkpoint_put(old, "vm1/disk-copy/vda", 100, NULL, &error));
    assert(state_step_begin(now, "vm1/disk-copy/vda", "vm1", "disk-copy", "f", NULL, &error));
    assert(state_checkpoint_put(now, "vm1/disk-copy/vda", 200, "{\"n\":2}", &error));
    /* old cannot overwrite any of it. */
    g_autofree char *want = g_strdup_printf(
        "state '%s': step 'vm1/disk-copy/vda' was taken over by 'new:2' after the lease of 'old:1' ran out; this worker does not write it",
        loc);
    assert(!state_checkpoint_put(old, "vm1/disk-copy/vda", 150, NULL, &error));
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_LOCKED));
    assert(strcmp(error->message, want) == 0);
    g_clear_error(&error);
    assert(!state_step_done(old, "vm1/disk-copy/vda", NULL, &error));
    assert(g_error_matches(error, CONVOY_ERROR, CONVOY_ERROR_LOCKED));
    g_clear_error(&error);
    assert(!state_step_failed(old, "vm1/disk-copy/vda", "x", &error));
    g_clear_error(&error);
    g_autoptr(state_checkpoint) c = state_checkpoint_get(now, "vm1/disk-copy/vda", &error);
    assert(c != NULL && c->position == 200 && strcmp(c->detail, "{\"n\":2}") == 0);
    g_autoptr(state_step_record) r = state_step_get(now, "vm1/disk-copy/vda", &error);
    assert(r->status == STATE_STEP_RUNNING && strcmp(r->owner, "new:2") == 0 && r->attempts == 2);
    assert(state_step_done(now, "vm1/disk-copy/vda", "{}", &error));
    return 0;
}

static int
test_pg_lock_busy(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *loc = location_of("lockbusy");
    g_autoptr(state) st = state_open(loc, true, false, &error);
    assert(st != NULL);
    g_autofree char *t0 = iso_now();
    assert(state_lock(st, "convoy apply", &error));
    g_autofree char *t1 = iso_now();
    g_autofree char *out = NULL;
    assert(try_lock_in_child(loc, &out) == 1);
    g_autofree char *want0 = g_strdup_printf(
        "state '%s' is locked by pid %d on host '%s' (convoy apply, since %s)", loc,
        (int)getpid(), g_get_host_name(), t0);
    g_autofree char *want1 = g_strdup_printf(
        "state '%s' is locked by pid %d on host '%s' (convoy apply, since %s)", loc,
        (int)getpid(), g_get_host_name(), t1);
    if (strcmp(out, want0) != 0 && strcmp(out, want1) != 0)
        fprintf(stderr, "got  '%s'\nwant '%s'\n", out, want0);
    assert(strcmp(out, want0) == 0 || strcmp(out, want1) == 0);
    state_unlock(st);
    g_autofree char *out2 = NULL;
    assert(try_lock_in_child(loc, &out2) == 0);
    return 0;
}

/* ---- driver ---- */

/* Which backends a case runs on. */
enum backends {
    SQLITE = 1,
    PG = 2,
};

static const struct {
    const char *name;
    int (*fn)(void);
    unsigned backends;
} cases[] = {
    {"steps", test_steps, SQLITE | PG},
    {"checkpoints", test_checkpoints, SQLITE | PG},
    {"fingerprint", test_fingerprint, SQLITE | PG},
    {"events", test_events, SQLITE | PG},
    {"mode", test_mode, SQLITE},
    {"read-only", test_read_only, SQLITE | PG},
    {"lock-busy", test_lock_busy, SQLITE},
    {"lock-killed", test_lock_killed, SQLITE},
    {"location", test_location, SQLITE},
    {"lease", test_lease, SQLITE},
    {"slots", test_slots, SQLITE | PG},
    {"schema-v1", test_schema_v1, SQLITE},
    {"pg-schema", test_pg_schema, PG},
    {"pg-lease", test_pg_lease, PG},
    {"pg-fence", test_pg_fence, PG},
    {"pg-lock-busy", test_pg_lock_busy, PG},
    {NULL, NULL, 0},
};

/* Start the test server (tests/tools/pgserver.sh) in tmpdir/pg: sets
 * pg_url.  77 when PostgreSQL is not installed, else 0 or 99. */
static int
pg_start(void)
{
    g_autofree char *dir = tmp_path("pg");
    const char *argv[] = {"sh", ABS_TOP_SRCDIR "/tests/tools/pgserver.sh", "start", dir, NULL};
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    int wait = 0;
    g_autoptr(GError) error = NULL;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                      &wait, &error)) {
        fprintf(stderr, "%s\n", error->message);
        return 99;
    }
    if (WIFEXITED(wait) && WEXITSTATUS(wait) == 77) {
        fprintf(stderr, "SKIP: %s", err);
        return 77;
    }
    if (!WIFEXITED(wait) || WEXITSTATUS(wait) != 0) {
        fprintf(stderr, "pgserver.sh failed: %s%s\n", out, err);
        return 99;
    }
    pg_url = g_strdup(g_strstrip(out));
    return 0;
}

static void
pg_stop(void)
{
    g_autofree char *dir = tmp_path("pg");
    const char *argv[] = {"sh", ABS_TOP_SRCDIR "/tests/tools/pgserver.sh", "stop", dir, NULL};
    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                 NULL);
}


static void
remove_tree(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_DIR) &&
            !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
            remove_tree(p);
        else
            unlink(p);
    }
    rmdir(dir);
}

int
main(int argc, char **argv)
{
    if (argc == 3 && (strcmp(argv[1], "try-lock") == 0 ||
                      strcmp(argv[1], "hold-lock") == 0 ||
                      strcmp(argv[1], "hold-step") == 0))
        return child_main(argv[1], argv[2]);

    g_autoptr(GError) error = NULL;
    self_exe = g_file_read_link("/proc/self/exe", &error);
    tmpdir = g_dir_make_tmp("convoy-state-XXXXXX", &error);
    if (self_exe == NULL || tmpdir == NULL) {
        fprintf(stderr, "%s\n", error->message);
        return 99;
    }

    unsigned backend = SQLITE;
    if (argc > 1 && strcmp(argv[1], "--postgresql") == 0) {
        int rc = pg_start();
        if (rc != 0) {
            remove_tree(tmpdir);
            return rc;
        }
        backend = PG;
        argc--;
        argv++;
    }
    int status = 0;
    unsigned ran = 0;
    for (size_t i = 0; cases[i].name != NULL; i++) {
        if ((cases[i].backends & backend) == 0)
            continue;
        if (argc > 1 && strcmp(argv[1], cases[i].name) != 0)
            continue;
        int r = cases[i].fn();
        ran++;
        fprintf(stderr, "%s: %s\n", cases[i].name, r == 0 ? "ok" : "FAILED");
        if (r != 0)
            status = r;
    }
    if (ran == 0) {
        fprintf(stderr, "unknown case '%s'\n", argv[1]);
        status = 99;
    }
    if (pg_url != NULL)
        pg_stop();
    remove_tree(tmpdir);
    g_free(tmpdir);
    g_free(self_exe);
    g_free(pg_url);
    return status;
}
