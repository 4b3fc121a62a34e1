/* The PostgreSQL state backend (libpq): "postgresql://…" locations, the
 * project's schema with its version table and migrations, the libpq
 * helpers (errors, parameters, transactions carried over a lost
 * connection), integrity, backup and the store's id, and its struct
 * state_ops.  Several projects share one database: each has a schema of
 * its own, named by the URL's project= (default "convoy"). */
#include "config.h"

#include <string.h>

#include "state/pg-priv.h"
#include "util/error.h"
#include "util/location.h"

#define PG_LEASE_DEFAULT 60

/* migrations[v] takes the project's schema from version v to v + 1 in
 * the transaction that read v, under the project's advisory lock: a
 * database of any older version opens, and an older convoy refuses a
 * newer one by its version. */
static const char *const migrations[PG_SCHEMA_VERSION] = {
    [0] =
        "CREATE TABLE runs ("
        " id bigserial PRIMARY KEY,"
        " command text NOT NULL,"
        " started bigint NOT NULL,"
        " finished bigint,"
        " status text NOT NULL,"
        " worker text);"
        "CREATE TABLE steps ("
        " key text PRIMARY KEY,"
        " vm text NOT NULL,"
        " kind text NOT NULL,"
        " fingerprint text NOT NULL,"
        " inputs text,"
        " status text NOT NULL CHECK (status IN ('running', 'failed', 'done')),"
        " attempts integer NOT NULL DEFAULT 0,"
        " outputs text,"
        " error text,"
        " updated bigint NOT NULL,"
        " owner text,"
        " run_id bigint,"
        " lease_until bigint);"
        "CREATE INDEX steps_vm ON steps(vm);"
        "CREATE TABLE checkpoints ("
        " step_key text PRIMARY KEY REFERENCES steps(key) ON DELETE CASCADE,"
        " position bigint NOT NULL,"
        " detail text,"
        " updated bigint NOT NULL,"
        " owner text,"
        " token bigint);"
        "CREATE TABLE events ("
        " id bigserial PRIMARY KEY,"
        " run_id bigint REFERENCES runs(id),"
        " time double precision NOT NULL,"
        " step_key text,"
        " kind text NOT NULL,"
        " message text,"
        " worker text,"
        " uid text UNIQUE);"
        "CREATE INDEX events_run ON events(run_id, id);"
        "CREATE TABLE workers ("
        " id text PRIMARY KEY,"
        " host text NOT NULL,"
        " pid bigint NOT NULL,"
        " command text NOT NULL,"
        " started bigint NOT NULL,"
        " heartbeat bigint NOT NULL,"
        " lease_until bigint NOT NULL,"
        " stopped bigint);"
        "CREATE TABLE slots ("
        " holder text NOT NULL,"
        " key text NOT NULL,"
        " owner text NOT NULL,"
        " PRIMARY KEY (holder, key));"
        "CREATE INDEX slots_key ON slots(key);"
        "CREATE TABLE vm_claims ("
        " vm text PRIMARY KEY,"
        " owner text,"
        " token bigint NOT NULL DEFAULT 0,"
        " host text,"
        " claimed bigint);"
        "CREATE TABLE meta ("
        " key text PRIMARY KEY,"
        " value text NOT NULL);"
        "INSERT INTO meta (key, value)"
        " VALUES ('store_id', replace(gen_random_uuid()::text, '-', ''));",
    /* on_failure: stop-wave across workers: the wave stopped, the VM that
     * failed, its worker, and the last run begun before (runs up to it
     * were under way and stop; later ones start the wave afresh). */
    [1] = "CREATE TABLE wave_stops ("
          " wave text PRIMARY KEY,"
          " vm text NOT NULL,"
          " worker text NOT NULL,"
          " last_run bigint NOT NULL,"
          " stopped bigint NOT NULL);",
};

/* The tables and columns of the current schema: the check of every open. */
static const char *const schema_tables[][15] = {
    {"runs", "id", "command", "started", "finished", "status", "worker", NULL},
    {"steps", "key", "vm", "kind", "fingerprint", "inputs", "status",
     "attempts", "outputs", "error", "updated", "owner", "run_id",
     "lease_until", NULL},
    {"checkpoints", "step_key", "position", "detail", "updated", "owner",
     "token", NULL},
    {"events", "id", "run_id", "time", "step_key", "kind", "message",
     "worker", "uid", NULL},
    {"workers", "id", "host", "pid", "command", "started", "heartbeat",
     "lease_until", "stopped", NULL},
    {"slots", "holder", "key", "owner", NULL},
    {"vm_claims", "vm", "owner", "token", "host", "claimed", NULL},
    {"meta", "key", "value", NULL},
    {"wave_stops", "wave", "vm", "worker", "last_run", "stopped", NULL},
};

/* ---- parameters and errors ---- */

void
pg_params_text(struct pg_params *p, const char *s)
{
    g_assert(p->n < (int)G_N_ELEMENTS(p->v));
    p->owned[p->n] = NULL;
    p->v[p->n++] = s;
}

void
pg_params_int(struct pg_params *p, int64_t i)
{
    g_assert(p->n < (int)G_N_ELEMENTS(p->v));
    p->owned[p->n] = g_strdup_printf("%" G_GINT64_FORMAT, (gint64)i);
    p->v[p->n] = p->owned[p->n];
    p->n++;
}

void
pg_params_release(struct pg_params *p)
{
    for (int i = 0; i < p->n; i++)
        g_free(p->owned[i]);
    p->n = 0;
}

/* The first line of a libpq message, without its "ERROR:  " or
 * "FATAL:  " and trailing newline. */
static char *
first_line(const char *msg)
{
    if (msg == NULL || msg[0] == '\0')
        return g_strdup("no message");
    const char *nl = strchr(msg, '\n');
    char *s = nl != NULL ? g_strndup(msg, (gsize)(nl - msg)) : g_strdup(msg);
    return g_strstrip(s);
}

bool
pg_error(struct pg_state *st, PGconn *conn, const PGresult *res,
         GError **error)
{
    const char *msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    g_autofree char *line = first_line(msg != NULL ? msg
                                       : conn != NULL ? PQerrorMessage(conn)
                                                      : "out of memory");
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_SQLITE, "postgresql: %s: %s",
                st->shown, line);
    return false;
}

PGresult *
pg_query(struct pg_state *st, PGconn *conn, const char *sql,
         const struct pg_params *p, GError **error)
{
    PGresult *res = PQexecParams(conn, sql, p != NULL ? p->n : 0, NULL,
                                 p != NULL ? p->v : NULL, NULL, NULL, 0);
    ExecStatusType s = PQresultStatus(res);

    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
        return res;
    pg_error(st, conn, res, error);
    PQclear(res);
    return NULL;
}

int64_t
pg_changes(const PGresult *res)
{
    const char *n = PQcmdTuples((PGresult *)res);
    return n != NULL && n[0] != '\0' ? g_ascii_strtoll(n, NULL, 10) : 0;
}

char *
pg_text(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return g_strdup(PQgetvalue(res, row, col));
}

int64_t
pg_int(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return 0;
    return g_ascii_strtoll(PQgetvalue(res, row, col), NULL, 10);
}

bool
pg_writable(struct pg_state *st, GError **error)
{
    if (!st->read_only)
        return true;
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_INTERNAL,
                "internal error: state '%s' is open read-only", st->shown);
    return false;
}

/* ---- connections ---- */

static void
quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

PGconn *
pg_connect(struct pg_state *st, GError **error)
{
    PGconn *conn = PQconnectdb(st->conninfo);

    if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
        g_autofree char *line = first_line(conn != NULL ? PQerrorMessage(conn) : NULL);
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_SQLITE,
                    "postgresql: state '%s': cannot connect: %s", st->shown, line);
        PQfinish(conn);
        return NULL;
    }
    /* The server's notices ("… does not exist, skipping") are not ours
     * to print. */
    PQsetNoticeProcessor(conn, quiet_notice, NULL);
    /* The project's schema first: every statement names its tables bare. */
    struct pg_params p = {0};
    pg_params_text(&p, st->schema);
    PGresult *res = pg_query(st, conn, "SELECT set_config('search_path', quote_ident($1), false)",
                             &p, error);
    pg_params_release(&p);
    if (res == NULL) {
        PQfinish(conn);
        return NULL;
    }
    PQclear(res);
    return conn;
}

static unsigned
reconnect_seconds(void)
{
    const char *env = g_getenv("CONVOY_PG_RECONNECT_SECONDS");
    guint64 v = 0;

    if (env != NULL && g_ascii_string_to_unsigned(env, 10, 0, 86400, &v, NULL))
        return (unsigned)v;
    return 120;
}

bool
pg_reconnect(struct pg_state *st, PGconn **conn, GError **error)
{
    gint64 until = g_get_monotonic_time() + (gint64)reconnect_seconds() * G_USEC_PER_SEC;
    g_autoptr(GError) last = NULL;

    for (;;) {
        g_clear_error(&last);
        PGconn *c = pg_connect(st, &last);
        if (c != NULL && conn == &st->conn && !pg_worker_reattach(st, c, error)) {
            PQfinish(c);
            return false;
        }
        if (c != NULL) {
            PQfinish(*conn);
            *conn = c;
            return true;
        }
        if (g_get_monotonic_time() >= until)
            break;
        g_usleep(250 * 1000);
    }
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_SQLITE,
                "postgresql: state '%s': the connection was lost and could not be made again in %u s: %s",
                st->shown, reconnect_seconds(), last->message);
    return false;
}

/* Is a failure of res worth running the statement or transaction again:
 * a lost connection, a deadlock's or serialisation's victim, a server
 * shutting down? */
static bool
retryable(PGconn *conn, const PGresult *res)
{
    if (PQstatus(conn) != CONNECTION_OK)
        return true;
    const char *code = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return code != NULL && (strcmp(code, "40001") == 0 || strcmp(code, "40P01") == 0 ||
                            g_str_has_prefix(code, "57P") || g_str_has_prefix(code, "08"));
}

PGresult *
pg_run(struct pg_state *st, const char *sql, const struct pg_params *p,
       GError **error)
{
    PG_LOCKED(st);
    for (unsigned attempt = 0;; attempt++) {
        PGresult *res = PQexecParams(st->conn, sql, p != NULL ? p->n : 0, NULL,
                                     p != NULL ? p->v : NULL, NULL, NULL, 0);
        ExecStatusType s = PQresultStatus(res);

        if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
            return res;
        if (attempt < 100 && retryable(st->conn, res)) {
            PQclear(res);
            if (PQstatus(st->conn) != CONNECTION_OK && !pg_reconnect(st, &st->conn, error))
                return NULL;
            continue;
        }
        pg_error(st, st->conn, res, error);
        PQclear(res);
        return NULL;
    }
}

bool
pg_tx(struct pg_state *st,
      bool (*fn)(struct pg_state *st, void *data, GError **error), void *data,
      GError **error)
{
    if (!pg_writable(st, error))
        return false;
    PG_LOCKED(st);
    for (unsigned attempt = 0;; attempt++) {
        g_autoptr(GError) err = NULL;
        PGresult *res = pg_query(st, st->conn, "BEGIN", NULL, &err);
        bool ok = res != NULL;

        PQclear(res);
        ok = ok && fn(st, data, &err);
        if (ok) {
            res = PQexec(st->conn, "COMMIT");
            ok = PQresultStatus(res) == PGRES_COMMAND_OK;
            if (!ok && err == NULL)
                pg_error(st, st->conn, res, &err);
            if (ok || PQstatus(st->conn) == CONNECTION_OK) {
                PQclear(res);
                if (ok)
                    return true;
            } else {
                PQclear(res);
            }
        }
        if (PQstatus(st->conn) == CONNECTION_OK) {
            /* A statement failed: the server's verdict on this attempt. */
            PGresult *code = PQexec(st->conn, "ROLLBACK");
            PQclear(code);
        }
        bool again = PQstatus(st->conn) != CONNECTION_OK ||
                     (err != NULL && (strstr(err->message, "deadlock detected") != NULL ||
                                      strstr(err->message, "could not serialize") != NULL));
        if (!again || attempt >= 100) {
            g_propagate_error(error, g_steal_pointer(&err));
            return false;
        }
        if (PQstatus(st->conn) != CONNECTION_OK && !pg_reconnect(st, &st->conn, error))
            return false;
    }
}

/* ---- locations ---- */

/* Take convoy's own parameters (project=, lease=) out of url's query;
 * refuse a password.  Sets st->conninfo, st->schema, st->lease. */
static bool
parse_location(struct pg_state *st, const char *url, GError **error)
{
    g_autoptr(GError) uerr = NULL;
    g_autoptr(GUri) uri = g_uri_parse(url, G_URI_FLAGS_HAS_PASSWORD | G_URI_FLAGS_ENCODED_QUERY |
                                               G_URI_FLAGS_NON_DNS, &uerr);
    if (uri == NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_SQLITE,
                    "state '%s': expected a URL postgresql://[USER@]HOST[:PORT]/DATABASE[?PARAMS]: %s",
                    st->shown, uerr->message);
        return false;
    }
    if (g_uri_get_password(uri) != NULL) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_SQLITE,
                    "state '%s': a password in the state URL is refused (a URL is shown in plans, logs and the state); put it in ~/.pgpass or the file PGPASSFILE names",
                    st->shown);
        return false;
    }
    const char *query = g_uri_get_query(uri);
    g_autoptr(GString) kept = g_string_new(NULL);
    bool dbname = g_uri_get_path(uri)[0] != '\0' && strcmp(g_uri_get_path(uri), "/") != 0;
    st->schema = g_strdup("convoy");
    st->lease = PG_LEASE_DEFAULT;
    g_auto(GStrv) parts = g_strsplit(query != NULL ? query : "", "&", -1);
    for (size_t i = 0; parts[i] != NULL; i++) {
        if (parts[i][0] == '\0')
            continue;
        g_autofree char *name = g_strdup(parts[i]);
        char *eq = strchr(name, '=');
        g_autofree char *value = eq != NULL ? g_uri_unescape_string(eq + 1, NULL) : g_strdup("");
        if (eq != NULL)
            *eq = '\0';
        if (strcmp(name, "password") == 0) {
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_SQLITE,
                        "state '%s': a password in the state URL is refused (a URL is shown in plans, logs and the state); put it in ~/.pgpass or the file PGPASSFILE names",
                        st->shown);
            return false;
        }
        if (strcmp(name, "project") == 0) {
            g_autoptr(GRegex) re = g_regex_new("^[a-z_][a-z0-9_]{0,47}$", 0, 0, NULL);
            if (value == NULL || !g_regex_match(re, value, 0, NULL)) {
                g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_SQLITE,
                            "state '%s': project '%s': expected a lowercase name of letters, digits and '_' (at most 48, not starting with a digit)",
                            st->shown, value != NULL ? value : "");
                return false;
            }
            g_free(st->schema);
            st->schema = g_strdup(value);
            continue;
        }
        if (strcmp(name, "lease") == 0) {
            guint64 v = 0;
            if (value == NULL || !g_ascii_string_to_unsigned(value, 10, 3, 86400, &v, NULL)) {
                g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_SQLITE,
                            "state '%s': lease '%s': expected whole seconds from 3 to 86400",
                            st->shown, value != NULL ? value : "");
                return false;
            }
            st->lease = (unsigned)v;
            continue;
        }
        if (strcmp(name, "dbname") == 0 && value != NULL && value[0] != '\0')
            dbname = true;
        g_string_append_printf(kept, "%s%s", kept->len > 0 ? "&" : "", parts[i]);
    }
    if (!dbname) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_SQLITE,
                    "state '%s': expected a database name: postgresql://[USER@]HOST[:PORT]/DATABASE",
                    st->shown);
        return false;
    }
    /* libpq parses the URL itself; only convoy's parameters go. */
    const char *q = strchr(url, '?');
    g_autofree char *base = q != NULL ? g_strndup(url, (gsize)(q - url)) : g_strdup(url);
    st->conninfo = kept->len > 0 ? g_strdup_printf("%s?%s", base, kept->str)
                                 : g_steal_pointer(&base);
    return true;
}

/* ---- the schema ---- */

static bool
schema_exists(struct pg_state *st, bool *exists, GError **error)
{
    struct pg_params p = {0};
    pg_params_text(&p, st->schema);
    PGresult *res = pg_query(st, st->conn,
                             "SELECT to_regclass(quote_ident($1) || '.schema_version') IS NOT NULL",
                             &p, error);
    pg_params_release(&p);
    if (res == NULL)
        return false;
    *exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return true;
}

static bool
newer_schema(struct pg_state *st, int64_t v, GError **error)
{
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_STATE_DAMAGED,
                "state '%s' (project '%s') has schema version %" G_GINT64_FORMAT ", newer than this convoy knows (1 to %d): a newer convoy wrote it; run that convoy or a newer one",
                st->shown, st->schema, v, PG_SCHEMA_VERSION);
    return false;
}

static bool
read_version(struct pg_state *st, int64_t *v, GError **error)
{
    PGresult *res = pg_query(st, st->conn, "SELECT max(version) FROM schema_version", NULL, error);
    if (res == NULL)
        return false;
    *v = pg_int(res, 0, 0);
    PQclear(res);
    return true;
}

static bool
migrate_tx(struct pg_state *st, void *data, GError **error)
{
    (void)data;
    struct pg_params p = {0};
    pg_params_text(&p, st->schema);
    PGresult *res = pg_query(st, st->conn,
                             "SELECT pg_advisory_xact_lock(hashtext('convoy-schema:' || $1))",
                             &p, error);
    PQclear(res);
    if (res == NULL) {
        pg_params_release(&p);
        return false;
    }
    g_autofree char *create = NULL;
    {
        char *q = PQescapeIdentifier(st->conn, st->schema, strlen(st->schema));
        create = g_strdup_printf("CREATE SCHEMA IF NOT EXISTS %s;"
                                 "CREATE TABLE IF NOT EXISTS %s.schema_version (version integer NOT NULL)",
                                 q, q);
        PQfreemem(q);
    }
    pg_params_release(&p);
    res = PQexec(st->conn, create);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pg_error(st, st->conn, res, error);
        PQclear(res);
        return false;
    }
    PQclear(res);
    int64_t v = 0;
    if (!read_version(st, &v, error))
        return false;
    if (v > PG_SCHEMA_VERSION)
        return newer_schema(st, v, error);
    for (; v < PG_SCHEMA_VERSION; v++) {
        res = PQexec(st->conn, migrations[v]);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            g_autofree char *line = first_line(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
            g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_STATE_DAMAGED,
                        "state '%s' (project '%s'): its schema does not upgrade from version %" G_GINT64_FORMAT ": %s",
                        st->shown, st->schema, v, line);
            PQclear(res);
            return false;
        }
        PQclear(res);
    }
    g_autofree char *set = g_strdup_printf("DELETE FROM schema_version;"
                                           "INSERT INTO schema_version VALUES (%d)",
                                           PG_SCHEMA_VERSION);
    res = PQexec(st->conn, set);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        pg_error(st, st->conn, res, error);
    PQclear(res);
    return ok;
}

static bool
damaged(struct pg_state *st, const char *what, GError **error)
{
    g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_STATE_DAMAGED,
                "state '%s' (project '%s') is damaged: %s; restore the copy taken before the last apply (schema '%s_bak' of the same database) or drop schema '%s' to start with an empty store, and run 'convoy plan' to see what is left to do",
                st->shown, st->schema, what, st->schema, st->schema);
    return false;
}

/* Every table and column of the schema there, the version known. */
static bool
check_store(struct pg_state *st, GError **error)
{
    int64_t v = 0;
    PG_LOCKED(st);
    if (!read_version(st, &v, error))
        return false;
    if (v > PG_SCHEMA_VERSION)
        return newer_schema(st, v, error);
    if (v < 1)
        return damaged(st, "its schema_version table holds no version", error);
    struct pg_params p = {0};
    pg_params_text(&p, st->schema);
    PGresult *res = pg_query(st, st->conn,
                             "SELECT table_name, column_name FROM information_schema.columns "
                             "WHERE table_schema = $1",
                             &p, error);
    pg_params_release(&p);
    if (res == NULL)
        return false;
    g_autoptr(GHashTable) cols = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (int i = 0; i < PQntuples(res); i++)
        g_hash_table_add(cols, g_strdup_printf("%s.%s", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)));
    PQclear(res);
    for (size_t t = 0; t < G_N_ELEMENTS(schema_tables); t++) {
        for (size_t c = 1; schema_tables[t][c] != NULL; c++) {
            g_autofree char *k = g_strdup_printf("%s.%s", schema_tables[t][0], schema_tables[t][c]);
            if (g_hash_table_contains(cols, k))
                continue;
            g_autofree char *what = c == 1 && !g_hash_table_contains(cols, k)
                ? g_strdup_printf("the table '%s' is missing or has no column '%s'",
                                  schema_tables[t][0], schema_tables[t][c])
                : g_strdup_printf("the table '%s' has no column '%s'", schema_tables[t][0],
                                  schema_tables[t][c]);
            return damaged(st, what, error);
        }
    }
    return true;
}

bool
pg_check(struct state *base, bool full, GError **error)
{
    struct pg_state *st = pg_state_of(base);
    (void)full;
    if (st->empty)
        return true;
    return check_store(st, error);
}

/* ---- backup: a copy of every table in schema PROJECT_bak ---- */

static bool
backup_tx(struct pg_state *st, void *data, GError **error)
{
    (void)data;
    g_autofree char *bak_name = g_strdup_printf("%s_bak", st->schema);
    char *src = PQescapeIdentifier(st->conn, st->schema, strlen(st->schema));
    char *bak = PQescapeIdentifier(st->conn, bak_name, strlen(bak_name));
    g_autoptr(GString) sql = g_string_new(NULL);

    g_string_append_printf(sql, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;"
                                "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s;"
                                "CREATE TABLE %s.schema_version AS SELECT * FROM %s.schema_version;",
                           bak, bak, bak, src);
    for (size_t t = 0; t < G_N_ELEMENTS(schema_tables); t++)
        g_string_append_printf(sql, "CREATE TABLE %s.%s AS SELECT * FROM %s.%s;", bak,
                               schema_tables[t][0], src, schema_tables[t][0]);
    PQfreemem(src);
    PQfreemem(bak);
    PGresult *res = PQexec(st->conn, sql->str);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        pg_error(st, st->conn, res, error);
    PQclear(res);
    return ok;
}

bool
pg_backup(struct state *base, char **where, GError **error)
{
    struct pg_state *st = pg_state_of(base);

    /* Several workers start at once: one copy is enough, and DROP SCHEMA
     * in two transactions at once would wait for each other. */
    struct pg_params p = {0};
    pg_params_text(&p, st->schema);
    PGresult *res = pg_run(st, "SELECT pg_try_advisory_lock(hashtext('convoy-backup:' || $1))",
                           &p, error);
    if (res == NULL) {
        pg_params_release(&p);
        return false;
    }
    bool got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    bool ok = true;
    if (got) {
        ok = pg_tx(st, backup_tx, NULL, error);
        res = pg_run(st, "SELECT pg_advisory_unlock(hashtext('convoy-backup:' || $1))", &p, NULL);
        PQclear(res);
    }
    pg_params_release(&p);
    if (ok && where != NULL)
        *where = g_strdup_printf("schema '%s_bak' of %s", st->schema, st->shown);
    return ok;
}

char *
pg_store_id(struct state *base, GError **error)
{
    struct pg_state *st = pg_state_of(base);

    if (st->empty)
        return g_uuid_string_random();
    PGresult *res = pg_run(st, "SELECT value FROM meta WHERE key = 'store_id'", NULL, error);
    if (res == NULL)
        return NULL;
    char *id = PQntuples(res) > 0 ? pg_text(res, 0, 0) : NULL;
    PQclear(res);
    return id;
}

/* ---- opening ---- */

static void
pg_free(struct state *base)
{
    struct pg_state *st = pg_state_of(base);

    if (st->worker)
        pg_unlock(base);
    if (st->steps_cache != NULL)
        g_hash_table_unref(st->steps_cache);
    if (st->ckpt_cache != NULL)
        g_hash_table_unref(st->ckpt_cache);
    if (st->tokens != NULL)
        g_hash_table_unref(st->tokens);
    PQfinish(st->conn);
    g_free(st->conninfo);
    g_free(st->shown);
    g_free(st->schema);
    g_rec_mutex_clear(&st->mutex);
    g_mutex_clear(&st->hb_lock);
    g_cond_clear(&st->hb_cond);
    g_free(st);
}

typedef struct pg_state pg_state; /* for g_autoptr() only */
static void
pg_state_free(struct pg_state *st)
{
    if (st != NULL)
        pg_free(&st->base);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(pg_state, pg_state_free)

static struct state *
pg_open(const char *target, bool create, bool read_only, GError **error)
{
    g_autoptr(pg_state) st = g_new0(struct pg_state, 1);
    g_autofree char *url = g_strconcat("postgresql:", target, NULL);

    g_rec_mutex_init(&st->mutex);
    st->tokens = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_mutex_init(&st->hb_lock);
    g_cond_init(&st->hb_cond);
    st->read_only = read_only;
    st->shown = location_display(url);
    if (!parse_location(st, url, error))
        return NULL;
    st->conn = pg_connect(st, error);
    if (st->conn == NULL)
        return NULL;
    bool exists = false;
    if (!schema_exists(st, &exists, error))
        return NULL;
    if (!exists && read_only) {
        st->empty = true;
        return &g_steal_pointer(&st)->base;
    }
    if (!exists && !create) {
        g_set_error(error, CONVOY_ERROR, CONVOY_ERROR_NOT_FOUND,
                    "state '%s' has no project '%s'", st->shown, st->schema);
        return NULL;
    }
    if (!read_only) {
        /* Create or upgrade under the project's lock; a newer version is
         * refused before anything is written. */
        int64_t v = 0;
        if (exists) {
            if (!read_version(st, &v, error))
                return NULL;
            if (v > PG_SCHEMA_VERSION)
                return newer_schema(st, v, error), NULL;
        }
        if ((!exists || v < PG_SCHEMA_VERSION) && !pg_tx(st, migrate_tx, NULL, error))
            return NULL;
    }
    if (!check_store(st, error))
        return NULL;
    return &g_steal_pointer(&st)->base;
}

/* "postgresql://…": a database shared by the workers of one or many
 * machines. */
const struct state_ops state_postgresql_ops = {
    .name = "postgresql",
    .file_based = false,
    .open = pg_open,
    .free = pg_free,
    .step_get = pg_step_get,
    .step_list = pg_step_list,
    .step_begin = pg_step_begin,
    .step_done = pg_step_done,
    .step_failed = pg_step_failed,
    .step_forget = pg_step_forget,
    .step_is_live = pg_step_is_live,
    .checkpoint_put = pg_checkpoint_put,
    .checkpoint_get = pg_checkpoint_get,
    .run_begin = pg_run_begin,
    .run_end = pg_run_end,
    .event = pg_event,
    .event_list = pg_event_list,
    .lock = pg_lock,
    .unlock = pg_unlock,
    .slot_acquire = pg_slot_acquire,
    .slot_release = pg_slot_release,
    .slot_count = pg_slot_count,
    .check = pg_check,
    .store_id = pg_store_id,
    .backup = pg_backup,
    .run_list = pg_run_list,
    .import = pg_import,
    .vm_claim = pg_vm_claim,
    .vm_release = pg_vm_release,
    .worker_list = pg_worker_list,
    .wave_stop = pg_wave_stop,
    .wave_stopped = pg_wave_stopped,
    .now = pg_now,
};
