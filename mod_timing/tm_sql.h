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
        " FROM menu_items ORDER BY position, id") \
    TM_SQL(USER_BY_EMAIL, "timing_user_by_email", \
        "SELECT id, name, email, password_hash, role, disabled, created_at" \
        " FROM users WHERE email = %s") \
    TM_SQL(NOW, "timing_now", \
        "SELECT UTC_TIMESTAMP(3)") \
    TM_SQL(LAST_ID, "timing_last_id", \
        "SELECT LAST_INSERT_ID()") \
    /* The shop's date in its own timezone (needs MariaDB's zone tables), \
     * locked so settings cannot change under an order being placed. */ \
    TM_SQL(SHOP_FOR_ORDER, "timing_shop_for_order", \
        "SELECT DATE(CONVERT_TZ(%s, '+00:00', timezone)), currency," \
        " accepting_orders, (SELECT epoch FROM timing_epoch WHERE id = 1)" \
        " FROM shop WHERE id = 1 LOCK IN SHARE MODE") \
    TM_SQL(MENU_PRICES, "timing_menu_prices", \
        "SELECT id, name, price_minor, available FROM menu_items") \
    /* LAST_INSERT_ID(expr) hands the new number to this connection only. */ \
    TM_SQL(PICKUP_NEXT, "timing_pickup_next", \
        "INSERT INTO pickup_counters (shop_date, last_number)" \
        " VALUES (%s, LAST_INSERT_ID(1)) ON DUPLICATE KEY UPDATE" \
        " last_number = LAST_INSERT_ID(last_number + 1)") \
    TM_SQL(ORDER_INSERT, "timing_order_insert", \
        "INSERT INTO orders (shop_date, pickup_number, version, status," \
        " customer_name, customer_phone, customer_email, note, total_minor," \
        " currency, user_id, tracking_hash, created_at, updated_at)" \
        " VALUES (%s, %s, 1, 'pending', %s, %s, %s, %s, %s, %s, %s," \
        " UNHEX(%s), %s, %s)") \
    TM_SQL(ITEM_INSERT, "timing_item_insert", \
        "INSERT INTO order_items (order_id, line_no, menu_id, menu_name," \
        " price_minor, quantity, note) VALUES (%s, %s, %s, %s, %s, %s, %s)") \
    TM_SQL(ITEM_IDS, "timing_item_ids", \
        "SELECT id FROM order_items WHERE order_id = %s ORDER BY line_no") \
    TM_SQL(HISTORY_INSERT, "timing_history_insert", \
        "INSERT INTO order_status_history (order_id, from_status, to_status," \
        " by_user_id, reason, created_at) VALUES (%s, %s, %s, %s, %s, %s)") \
    /* The messages are stored without their event_id (the row's id). */ \
    TM_SQL(EVENT_INSERT, "timing_event_insert", \
        "INSERT INTO events (type, order_id, message, customer_message," \
        " created_at) VALUES (%s, %s, %s, %s, %s)")

/* Labels as an enum, so a typo is a compile error. */
typedef enum {
#define TM_SQL(id, label, sql) TM_Q_##id,
    TM_SQL_LIST
#undef TM_SQL
    TM_Q_COUNT
} tm_query_id;

#endif /* TM_SQL_H */
