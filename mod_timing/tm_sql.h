/* SPDX-License-Identifier: Apache-2.0 */
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

/* The columns tm_orders_read expects, in its order. */
#define TM_ORDER_SELECT \
    "SELECT o.id, o.pickup_number, o.version, o.status, o.customer_name," \
    " o.customer_phone, o.customer_email, o.note, o.total_minor," \
    " o.currency, o.user_id, HEX(o.tracking_hash), o.created_at," \
    " o.updated_at, i.id, i.menu_id, i.menu_name, i.price_minor," \
    " i.quantity, i.note"

#define TM_SQL_LIST \
    TM_SQL(EPOCH_GET, "timing_epoch_get", \
        "SELECT epoch FROM timing_epoch WHERE id = 1") \
    TM_SQL(SHOP_GET, "timing_shop_get", \
        "SELECT name, currency, timezone, accepting_orders" \
        " FROM shop WHERE id = 1") \
    TM_SQL(MENU_LIST, "timing_menu_list", \
        "SELECT id, name, description, category, price_minor, available" \
        " FROM menu_items ORDER BY position, id") \
    /* Addresses are stored lower-cased (migration 004) and compared \
     * exactly: what is typed is lower-cased by the same LOWER(). */ \
    TM_SQL(USER_BY_EMAIL, "timing_user_by_email", \
        "SELECT id, name, email, password_hash, role, disabled, created_at," \
        " token_version" \
        " FROM users WHERE email = LOWER(%s)") \
    TM_SQL(USER_BY_ID, "timing_user_by_id", \
        "SELECT id, name, email, password_hash, role, disabled, created_at," \
        " token_version" \
        " FROM users WHERE id = %s") \
    TM_SQL(USER_INSERT, "timing_user_insert", \
        "INSERT INTO users (name, email, password_hash, role, disabled," \
        " created_at, updated_at) VALUES (%s, LOWER(%s), %s, %s, FALSE," \
        " UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))") \
    TM_SQL(STAFF_LIST, "timing_staff_list", \
        "SELECT id, name, email, password_hash, role, disabled, created_at," \
        " token_version" \
        " FROM users WHERE role IN ('staff', 'admin') ORDER BY id") \
    /* Locks the admins, so two requests cannot each disable "another" \
     * admin and leave none. */ \
    TM_SQL(OTHER_ADMINS, "timing_other_admins", \
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND NOT disabled" \
        " AND id <> %s FOR UPDATE") \
    TM_SQL(USER_FOR_UPDATE, "timing_user_for_update", \
        "SELECT id, name, email, password_hash, role, disabled, created_at," \
        " token_version" \
        " FROM users WHERE id = %s FOR UPDATE") \
    /* The fifth value (0 or 1) bumps the token version: older tokens \
     * stop working. */ \
    TM_SQL(USER_UPDATE, "timing_user_update", \
        "UPDATE users SET name = %s, role = %s, disabled = %s," \
        " password_hash = COALESCE(%s, password_hash)," \
        " token_version = token_version + %s," \
        " updated_at = UTC_TIMESTAMP(3) WHERE id = %s") \
    /* "Revoke user N": an outbox row for timing-eventd, in the same \
     * transaction as the change; no client ever reads it. */ \
    TM_SQL(REVOKE_INSERT, "timing_revoke_insert", \
        "INSERT INTO events (type, order_id, message, customer_message," \
        " created_at) VALUES ('revoke', NULL, %s, NULL, UTC_TIMESTAMP(3))") \
    /* Rate limits: one row per attempt, a sliding window per bucket. \
     * Second column: seconds until the oldest attempt leaves the window. */ \
    TM_SQL(RATE_COUNT, "timing_rate_count", \
        "SELECT COUNT(*), %s - TIMESTAMPDIFF(SECOND, MIN(created_at)," \
        " UTC_TIMESTAMP(3)) FROM rate_events WHERE bucket = %s" \
        " AND created_at > UTC_TIMESTAMP(3) - INTERVAL %s SECOND") \
    TM_SQL(RATE_ADD, "timing_rate_add", \
        "INSERT INTO rate_events (bucket, created_at)" \
        " VALUES (%s, UTC_TIMESTAMP(3))") \
    TM_SQL(RATE_FORGET, "timing_rate_forget", \
        "DELETE FROM rate_events WHERE id = %s") \
    TM_SQL(RATE_CLEAR, "timing_rate_clear", \
        "DELETE FROM rate_events WHERE bucket = %s") \
    TM_SQL(RATE_PURGE, "timing_rate_purge", \
        "DELETE FROM rate_events" \
        " WHERE created_at < UTC_TIMESTAMP(3) - INTERVAL 1 DAY LIMIT 1000") \
    /* Orders come back joined to their lines, ordered by order then \
     * line (tm_order_store.c folds them). */ \
    TM_SQL(ORDER_GET, "timing_order_get", TM_ORDER_SELECT \
        " FROM orders o JOIN order_items i ON i.order_id = o.id" \
        " WHERE o.id = %s ORDER BY i.line_no") \
    TM_SQL(ORDER_GET_LOCKED, "timing_order_get_locked", TM_ORDER_SELECT \
        " FROM orders o JOIN order_items i ON i.order_id = o.id" \
        " WHERE o.id = %s ORDER BY i.line_no FOR UPDATE") \
    /* Newest first, after a cursor (an id), optionally by status list. */ \
    TM_SQL(ORDERS_PAGE, "timing_orders_page", TM_ORDER_SELECT \
        " FROM (SELECT * FROM orders WHERE id < %s" \
        " AND FIND_IN_SET(status, %s) > 0" \
        " ORDER BY id DESC LIMIT %s) o" \
        " JOIN order_items i ON i.order_id = o.id" \
        " ORDER BY o.id DESC, i.line_no") \
    TM_SQL(ORDERS_OF_USER, "timing_orders_of_user", TM_ORDER_SELECT \
        " FROM (SELECT * FROM orders WHERE user_id = %s AND id < %s" \
        " ORDER BY id DESC LIMIT %s) o" \
        " JOIN order_items i ON i.order_id = o.id" \
        " ORDER BY o.id DESC, i.line_no") \
    /* Pruned events still count: ids are never issued again.  Revoke \
     * rows do not: a client resumes from what it may see. */ \
    TM_SQL(LAST_EVENT, "timing_last_event", \
        "SELECT GREATEST(COALESCE((SELECT MAX(id) FROM events" \
        " WHERE type <> 'revoke'), 0)," \
        " events_pruned_through) FROM timing_epoch WHERE id = 1") \
    TM_SQL(EVENTS_PRUNED, "timing_events_pruned", \
        "SELECT events_pruned_through FROM timing_epoch WHERE id = 1") \
    TM_SQL(ORDER_LAST_EVENT, "timing_order_last_event", \
        "SELECT MAX(id) FROM events WHERE order_id = %s") \
    TM_SQL(ORDER_SET_STATUS, "timing_order_set_status", \
        "UPDATE orders SET status = %s, version = version + 1," \
        " updated_at = %s WHERE id = %s") \
    TM_SQL(ORDER_HISTORY, "timing_order_history", \
        "SELECT h.from_status, h.to_status, h.by_user_id, u.name, h.reason," \
        " h.created_at FROM order_status_history h" \
        " LEFT JOIN users u ON u.id = h.by_user_id" \
        " WHERE h.order_id = %s ORDER BY h.id") \
    TM_SQL(NOW_EPOCH, "timing_now_epoch", \
        "SELECT UTC_TIMESTAMP(3), epoch FROM timing_epoch WHERE id = 1") \
    /* Idempotency-Key: the first answer to a key, for \
     * TimingIdempotencyRetention (seconds; at least 24 hours).  The key \
     * is the client's, filed with the account that used it (NULL: none) \
     * and the SHA-256 of its body's canonical text. */ \
    TM_SQL(IDEM_EXPIRE, "timing_idem_expire", \
        "DELETE FROM idempotency_keys WHERE idem_key = %s" \
        " AND created_at < UTC_TIMESTAMP(3) - INTERVAL %s SECOND") \
    TM_SQL(IDEM_CLAIM, "timing_idem_claim", \
        "INSERT INTO idempotency_keys (idem_key, user_id, request_hash," \
        " order_id, status, response, created_at)" \
        " VALUES (%s, %s, UNHEX(%s), NULL, 0, '', UTC_TIMESTAMP(3))") \
    TM_SQL(IDEM_GET, "timing_idem_get", \
        "SELECT HEX(request_hash), status, response, user_id" \
        " FROM idempotency_keys WHERE idem_key = %s") \
    TM_SQL(IDEM_SAVE, "timing_idem_save", \
        "UPDATE idempotency_keys SET order_id = %s, status = %s," \
        " response = %s WHERE idem_key = %s") \
    /* The event log; the last column says whether a row is younger \
     * than the horizon (microseconds), where a gap before it may still \
     * be filled by a transaction that has not committed yet. */ \
    /* Revoke rows come too (last column), for the gaps only: they fill \
     * their ids but are not shown, and the limit counts only the rows \
     * shown, up to the limit-th of them (tm_events.c asks for one more \
     * than its page, to know whether a next page exists). */ \
    TM_SQL(EVENTS_AFTER, "timing_events_after", \
        "SELECT id, message, created_at," \
        " created_at > UTC_TIMESTAMP(3) - INTERVAL %s MICROSECOND," \
        " type = 'revoke' FROM events WHERE id > %s AND id <=" \
        " (SELECT MAX(id) FROM (SELECT id FROM events WHERE id > %s" \
        " AND type <> 'revoke' ORDER BY id LIMIT %s) shown) ORDER BY id") \
    TM_SQL(MENU_GET, "timing_menu_get", \
        "SELECT id, name, description, category, price_minor, available" \
        " FROM menu_items WHERE id = %s") \
    TM_SQL(MENU_INSERT, "timing_menu_insert", \
        "INSERT INTO menu_items (name, description, category, price_minor," \
        " available, position, created_at, updated_at)" \
        " SELECT %s, %s, %s, %s, %s, COALESCE(MAX(position), 0) + 10," \
        " UTC_TIMESTAMP(3), UTC_TIMESTAMP(3) FROM menu_items") \
    /* NULL keeps a column as it is. */ \
    TM_SQL(MENU_UPDATE, "timing_menu_update", \
        "UPDATE menu_items SET name = COALESCE(%s, name)," \
        " description = COALESCE(%s, description)," \
        " category = COALESCE(%s, category)," \
        " price_minor = COALESCE(%s, price_minor)," \
        " available = COALESCE(%s, available)," \
        " updated_at = UTC_TIMESTAMP(3) WHERE id = %s") \
    TM_SQL(SHOP_UPDATE, "timing_shop_update", \
        "UPDATE shop SET name = COALESCE(%s, name)," \
        " currency = COALESCE(%s, currency)," \
        " timezone = COALESCE(%s, timezone)," \
        " accepting_orders = COALESCE(%s, accepting_orders)," \
        " updated_at = UTC_TIMESTAMP(3) WHERE id = 1") \
    TM_SQL(TZ_KNOWN, "timing_tz_known", \
        "SELECT CONVERT_TZ(UTC_TIMESTAMP(), '+00:00', %s) IS NOT NULL") \
    /* The summary's day: the one asked for, or today in the shop's zone. */ \
    TM_SQL(SHOP_TODAY, "timing_shop_today", \
        "SELECT DATE(CONVERT_TZ(UTC_TIMESTAMP(3), '+00:00', timezone))," \
        " currency FROM shop WHERE id = 1") \
    TM_SQL(DAY_BY_STATUS, "timing_day_by_status", \
        "SELECT status, COUNT(*), SUM(total_minor) FROM orders" \
        " WHERE shop_date = %s GROUP BY status") \
    TM_SQL(DAY_ITEMS, "timing_day_items", \
        "SELECT i.menu_id, MAX(i.menu_name), SUM(i.quantity)," \
        " SUM(i.quantity * i.price_minor) FROM order_items i" \
        " JOIN orders o ON o.id = i.order_id" \
        " WHERE o.shop_date = %s AND o.status <> 'cancelled'" \
        " GROUP BY i.menu_id ORDER BY SUM(i.quantity) DESC, i.menu_id") \
    TM_SQL(DAY_ORDERS, "timing_day_orders", TM_ORDER_SELECT \
        " FROM orders o JOIN order_items i ON i.order_id = o.id" \
        " WHERE o.shop_date = %s ORDER BY o.id, i.line_no") \
    TM_SQL(NOW, "timing_now", \
        "SELECT UTC_TIMESTAMP(3)") \
    TM_SQL(LAST_ID, "timing_last_id", \
        "SELECT LAST_INSERT_ID()") \
    /* Now, and the shop's date now in its own timezone (needs MariaDB's \
     * zone tables), with what placing an order needs of the shop. */ \
    TM_SQL(SHOP_FOR_ORDER, "timing_shop_for_order", \
        "SELECT t.now, DATE(CONVERT_TZ(t.now, '+00:00', s.timezone))," \
        " s.currency, s.accepting_orders," \
        " (SELECT epoch FROM timing_epoch WHERE id = 1)" \
        " FROM shop s, (SELECT UTC_TIMESTAMP(3) AS now) t WHERE s.id = 1") \
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
