/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_db.h -- mod_timing's use of mod_dbd: statements prepared on every
 * pooled connection, and small helpers to run them and read rows.
 *
 * A connection from tm_db_acquire belongs to the request (mod_dbd releases
 * it with the request pool); it must not be closed.
 */
#ifndef TM_DB_H
#define TM_DB_H

#include "httpd.h"
#include "apr_dbd.h"
#include "mod_dbd.h"
#include "tm_sql.h"

/* Finds mod_dbd's optional functions; returns an error message for the
 * operator, or NULL when mod_dbd is loaded. */
const char *tm_db_init(void);

/* Session settings on each new pooled connection (mod_dbd's hook). */
apr_status_t tm_db_post_connect(apr_pool_t *p, dbd_cfg_t *cfg, ap_dbd_t *dbd);

/* The request's connection, or NULL when the database is unreachable
 * (already logged). */
ap_dbd_t *tm_db_acquire(request_rec *r);

/* A connection for a short piece of work in a request that outlives it: a
 * WebSocket upgrade's request lasts as long as the socket, and must not
 * hold a pooled connection all that time.  Give it back with
 * tm_db_release.  NULL when the database is unreachable (logged). */
ap_dbd_t *tm_db_borrow(request_rec *r);
void tm_db_release(request_rec *r, ap_dbd_t *dbd);

/* Runs a prepared SELECT with text arguments.  Rows stream from the
 * server: read every one with tm_db_next before the next statement.
 * Logs and returns an error on failure. */
apr_status_t tm_db_select(request_rec *r, ap_dbd_t *dbd, tm_query_id q,
                          apr_dbd_results_t **res, int nargs,
                          const char **args);

/* Runs a prepared INSERT, UPDATE or DELETE with text arguments (NULL for
 * SQL NULL); *nrows gets the rows affected when not NULL.  Returns
 * APR_EEXIST, unlogged, when a unique key refused the row. */
apr_status_t tm_db_exec(request_rec *r, ap_dbd_t *dbd, tm_query_id q,
                        int *nrows, int nargs, const char **args);

/* The first column of the first row of a SELECT, copied into r->pool;
 * NULL when there is no row or the query failed (*rv says which). */
const char *tm_db_value(request_rec *r, ap_dbd_t *dbd, tm_query_id q,
                        int nargs, const char **args, apr_status_t *rv);

/* A transaction on the request's connection.  If the request ends before
 * tm_db_commit, a pool cleanup rolls it back, so a connection never goes
 * back to mod_dbd's pool inside a transaction. */
typedef struct tm_txn tm_txn;
apr_status_t tm_db_begin(request_rec *r, ap_dbd_t *dbd, tm_txn **txn);
/* Commits.  Call it only when every statement succeeded (the caller
 * checks each one and rolls back otherwise): a failed statement leaves
 * the transaction open with the others' work in it, and after a deadlock
 * InnoDB has already rolled it back, so a COMMIT then would keep a part
 * of the work or none of it and report success. */
apr_status_t tm_db_commit(tm_txn *txn);
void tm_db_rollback(tm_txn *txn);

/* Next row: 1 with *row set, 0 at the end (or on an error). */
int tm_db_next(request_rec *r, ap_dbd_t *dbd, apr_dbd_results_t *res,
               apr_dbd_row_t **row);

/* Column n of row as text; NULL for SQL NULL. */
const char *tm_db_col(ap_dbd_t *dbd, apr_dbd_row_t *row, int n);

#endif /* TM_DB_H */
