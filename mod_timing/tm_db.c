/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_db.c -- prepared statements on mod_dbd's connection pool.
 *
 * The statements themselves live in tm_sql.h.  Each is prepared on a
 * connection the first time a request runs it there, and kept in the
 * connection's hash of prepared statements for its life: registered with
 * mod_dbd, all fifty would be prepared on every connection it opens,
 * about half a megabyte of client memory each, most of it for statements
 * that connection never runs (a connection opened while many WebSocket
 * upgrades arrive at once runs three).  mod_dbd runs our post_connect
 * hook for the session settings the SQL relies on.  Failures are logged
 * here, once, with the driver's message; callers answer 503.
 */
#include "mod_timing.h"
#include "tm_db.h"
#include "tm_counters.h"

#include "apr_atomic.h"
#include "apr_optional.h"
#include "apr_strings.h"

APLOG_USE_MODULE(timing);

/* MySQL's and MariaDB's error number for a duplicate unique key. */
#define TM_ER_DUP_ENTRY 1062

static const char *const labels[TM_Q_COUNT] = {
#define TM_SQL(id, label, sql) label,
    TM_SQL_LIST
#undef TM_SQL
};

static const char *const statements[TM_Q_COUNT] = {
#define TM_SQL(id, label, sql) sql,
    TM_SQL_LIST
#undef TM_SQL
};

/* UTF-8 for Thai names; UTC so NOW() could never disagree with the
 * UTC_TIMESTAMP the statements use; a short lock wait so a stuck row
 * answers 503 instead of holding a worker for InnoDB's default 50 s. */
static const char *const session_settings[] = {
    "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci",
    "SET time_zone = '+00:00'",
    "SET SESSION innodb_lock_wait_timeout = 5",
};

static APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) *dbd_acquire;
static APR_OPTIONAL_FN_TYPE(ap_dbd_open) *dbd_open;
static APR_OPTIONAL_FN_TYPE(ap_dbd_close) *dbd_close;

const char *tm_db_init(void)
{
    dbd_acquire = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    dbd_open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    dbd_close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    if (!dbd_acquire || !dbd_open || !dbd_close) {
        return "mod_timing needs mod_dbd: add "
               "'LoadModule dbd_module modules/mod_dbd.so' before it";
    }
    return NULL;
}

/* After the database restarts, every pooled connection is dead, and
 * mod_dbd finds out one acquire at a time (it pings, drops the connection
 * and returns NULL).  Trying once more than the pool can hold always
 * reaches a fresh connection instead of failing a request per dead one;
 * with the database down each try is an immediate refusal on its socket.
 * The pool's size is learnt from mod_dbd when it opens a connection. */
#define TM_DB_TRIES_BEFORE_KNOWN 8
static volatile apr_uint32_t db_tries = TM_DB_TRIES_BEFORE_KNOWN;

apr_status_t tm_db_post_connect(apr_pool_t *p, dbd_cfg_t *cfg, ap_dbd_t *dbd)
{
    size_t i;
    int rows;

#if APR_HAS_THREADS
    if (cfg->nmax > 0 && cfg->nmax < 1000) {
        apr_atomic_set32(&db_tries, (apr_uint32_t)cfg->nmax + 1);
    }
#endif
    for (i = 0; i < sizeof session_settings / sizeof *session_settings; i++) {
        int rv = apr_dbd_query(dbd->driver, dbd->handle, &rows,
                               session_settings[i]);

        if (rv != 0) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, cfg->server,
                         TMLOGNO(00101) "session setting '%s' failed: %s",
                         session_settings[i],
                         apr_dbd_error(dbd->driver, dbd->handle, rv));
            return APR_EGENERAL;
        }
    }
    (void)p;
    return APR_SUCCESS;
}


ap_dbd_t *tm_db_acquire(request_rec *r)
{
    ap_dbd_t *dbd = NULL;
    int i;

    for (i = 0; !dbd && i < (int)apr_atomic_read32(&db_tries); i++) {
        dbd = dbd_acquire(r);
    }

    if (!dbd) {
        tm_counters_inc(TM_C_DB_ERRORS);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, TMLOGNO(00102)
                      "no database connection (see mod_dbd's messages)");
    }
    return dbd;
}

ap_dbd_t *tm_db_borrow(request_rec *r)
{
    ap_dbd_t *dbd = NULL;
    int i;

    for (i = 0; !dbd && i < (int)apr_atomic_read32(&db_tries); i++) {
        dbd = dbd_open(r->pool, r->server);
    }

    if (!dbd) {
        tm_counters_inc(TM_C_DB_ERRORS);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, TMLOGNO(00108)
                      "no database connection (see mod_dbd's messages)");
    }
    return dbd;
}

void tm_db_release(request_rec *r, ap_dbd_t *dbd)
{
    if (dbd) {
        dbd_close(r->server, dbd);
    }
}

static apr_dbd_prepared_t *statement(request_rec *r, ap_dbd_t *dbd,
                                     tm_query_id q)
{
    apr_dbd_prepared_t *st = apr_hash_get(dbd->prepared, labels[q],
                                          APR_HASH_KEY_STRING);
    int rv;

    if (st) {
        return st;
    }
    /* The connection is this request's alone while it holds it, and the
     * statement lives in the connection's pool, as long as it does. */
    rv = apr_dbd_prepare(dbd->driver, dbd->pool, dbd->handle, statements[q],
                         labels[q], &st);
    if (rv != 0 || !st) {
        tm_counters_inc(TM_C_DB_ERRORS);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, TMLOGNO(00103)
                      "cannot prepare %s: %s", labels[q],
                      apr_dbd_error(dbd->driver, dbd->handle, rv));
        return NULL;
    }
    apr_hash_set(dbd->prepared, labels[q], APR_HASH_KEY_STRING, st);
    return st;
}

apr_status_t tm_db_select(request_rec *r, ap_dbd_t *dbd, tm_query_id q,
                          apr_dbd_results_t **res, int nargs,
                          const char **args)
{
    apr_dbd_prepared_t *st = statement(r, dbd, q);
    int rv;

    if (!st) {
        return APR_EGENERAL;
    }
    *res = NULL;
    rv = apr_dbd_pselect(dbd->driver, r->pool, dbd->handle, res, st, 0,
                         nargs, args);
    if (rv != 0) {
        tm_counters_inc(TM_C_DB_ERRORS);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, TMLOGNO(00104)
                      "%s failed: %s", labels[q],
                      apr_dbd_error(dbd->driver, dbd->handle, rv));
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

int tm_db_next(request_rec *r, ap_dbd_t *dbd, apr_dbd_results_t *res,
               apr_dbd_row_t **row)
{
    /* The driver allocates a row only when *row is NULL. */
    *row = NULL;
    return apr_dbd_get_row(dbd->driver, r->pool, res, row, -1) == 0;
}

const char *tm_db_col(ap_dbd_t *dbd, apr_dbd_row_t *row, int n)
{
    return apr_dbd_get_entry(dbd->driver, row, n);
}

apr_status_t tm_db_exec(request_rec *r, ap_dbd_t *dbd, tm_query_id q,
                        int *nrows, int nargs, const char **args)
{
    apr_dbd_prepared_t *st = statement(r, dbd, q);
    int rows = 0, rv;

    if (!st) {
        return APR_EGENERAL;
    }
    rv = apr_dbd_pquery(dbd->driver, r->pool, dbd->handle, &rows, st, nargs,
                        args);
    if (rv == TM_ER_DUP_ENTRY) {
        return APR_EEXIST;      /* a unique key said no: the caller's case */
    }
    if (rv != 0) {
        tm_counters_inc(TM_C_DB_ERRORS);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, TMLOGNO(00105)
                      "%s failed: %s", labels[q],
                      apr_dbd_error(dbd->driver, dbd->handle, rv));
        return APR_EGENERAL;
    }
    if (nrows) {
        *nrows = rows;
    }
    return APR_SUCCESS;
}

const char *tm_db_value(request_rec *r, ap_dbd_t *dbd, tm_query_id q,
                        int nargs, const char **args, apr_status_t *rv)
{
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
    const char *value = NULL;

    *rv = tm_db_select(r, dbd, q, &res, nargs, args);
    if (*rv != APR_SUCCESS) {
        return NULL;
    }
    while (tm_db_next(r, dbd, res, &row)) {
        if (!value) {
            const char *v = tm_db_col(dbd, row, 0);

            value = v ? apr_pstrdup(r->pool, v) : NULL;
        }
    }
    return value;
}

/* Transactions are SQL's own (START TRANSACTION ... COMMIT) rather than
 * apr_dbd's, whose MySQL driver turns autocommit off before and on again
 * after: two round trips more on every write, the second of them between
 * the COMMIT and the event going out to the sockets. */
struct tm_txn {
    request_rec *r;
    ap_dbd_t *dbd;
    int open;
};

static int run(tm_txn *txn, const char *sql)
{
    int nrows;

    return apr_dbd_query(txn->dbd->driver, txn->dbd->handle, &nrows, sql);
}

static apr_status_t txn_cleanup(void *data)
{
    tm_txn *txn = data;

    if (txn->open) {
        tm_db_rollback(txn);
    }
    return APR_SUCCESS;
}

apr_status_t tm_db_begin(request_rec *r, ap_dbd_t *dbd, tm_txn **out)
{
    tm_txn *txn = apr_pcalloc(r->pool, sizeof *txn);
    int rv;

    txn->r = r;
    txn->dbd = dbd;
    rv = run(txn, "START TRANSACTION");
    if (rv != 0) {
        tm_counters_inc(TM_C_DB_ERRORS);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, TMLOGNO(00106)
                      "cannot start a transaction: %s",
                      apr_dbd_error(dbd->driver, dbd->handle, rv));
        return APR_EGENERAL;
    }
    txn->open = 1;
    /* Registered after mod_dbd's release of the connection, so it runs
     * before it: a connection never goes back to the pool mid-way. */
    apr_pool_cleanup_register(r->pool, txn, txn_cleanup,
                              apr_pool_cleanup_null);
    *out = txn;
    return APR_SUCCESS;
}

apr_status_t tm_db_commit(tm_txn *txn)
{
    int rv;

    txn->open = 0;
    rv = run(txn, "COMMIT");
    if (rv != 0) {
        tm_counters_inc(TM_C_DB_ERRORS);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, txn->r, TMLOGNO(00107)
                      "COMMIT failed: %s",
                      apr_dbd_error(txn->dbd->driver, txn->dbd->handle, rv));
        /* Whatever the server kept of it is undone, not left open on a
         * connection that goes back to the pool. */
        run(txn, "ROLLBACK");
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

void tm_db_rollback(tm_txn *txn)
{
    txn->open = 0;
    run(txn, "ROLLBACK");
}
