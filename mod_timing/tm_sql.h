/*
 * tm_sql.h -- every SQL statement mod_timing runs, with its label.
 *
 * Each is prepared on every connection of mod_dbd's pool (tm_db.c), so a
 * handler names a label and never builds SQL text.  apr_dbd placeholders:
 * %s for text, %d / %u for integers; a literal percent sign is %%.
 * Times are UTC (UTC_TIMESTAMP(3)); money is integer minor units.
 */
#ifndef TM_SQL_H
#define TM_SQL_H

#define TM_SQL_LIST \
    TM_SQL(EPOCH_GET, "timing_epoch_get", \
        "SELECT epoch FROM timing_epoch WHERE id = 1") \
    TM_SQL(SHOP_GET, "timing_shop_get", \
        "SELECT name, currency, timezone, accepting_orders" \
        " FROM shop WHERE id = 1") \
    TM_SQL(MENU_LIST, "timing_menu_list", \
        "SELECT id, name, description, category, price_minor, available" \
        " FROM menu_items ORDER BY position, id")

/* Labels as an enum, so a typo is a compile error. */
typedef enum {
#define TM_SQL(id, label, sql) TM_Q_##id,
    TM_SQL_LIST
#undef TM_SQL
    TM_Q_COUNT
} tm_query_id;

#endif /* TM_SQL_H */
