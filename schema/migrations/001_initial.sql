-- SPDX-License-Identifier: Apache-2.0
-- 001_initial.sql -- every table the contract needs, and the epoch.
--
-- Money is integer minor units (satang for THB); the API formats it.
-- Times are DATETIME(3) in UTC, written with UTC_TIMESTAMP(3) so the
-- session time zone never matters.

CREATE TABLE timing_epoch (
    id          TINYINT UNSIGNED NOT NULL PRIMARY KEY,
    epoch       CHAR(16) NOT NULL,
    created_at  DATETIME(3) NOT NULL,
    CONSTRAINT one_epoch CHECK (id = 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Random, so a rebuilt or restored database names a different history.
INSERT INTO timing_epoch (id, epoch, created_at)
VALUES (1, LOWER(HEX(RANDOM_BYTES(8))), UTC_TIMESTAMP(3));

CREATE TABLE shop (
    id                TINYINT UNSIGNED NOT NULL PRIMARY KEY,
    name              VARCHAR(100) NOT NULL,
    currency          CHAR(3) NOT NULL,
    timezone          VARCHAR(64) NOT NULL,
    accepting_orders  BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at        DATETIME(3) NOT NULL,
    CONSTRAINT one_shop CHECK (id = 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO shop (id, name, currency, timezone, accepting_orders, updated_at)
VALUES (1, 'Timing', 'THB', 'Asia/Bangkok', TRUE, UTC_TIMESTAMP(3));

-- E-mail addresses match case-insensitively: the column's collation is.
CREATE TABLE users (
    id             INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name           VARCHAR(100) NOT NULL,
    email          VARCHAR(254) NOT NULL,
    password_hash  VARCHAR(255) NOT NULL,
    role           ENUM('admin', 'staff', 'customer') NOT NULL,
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     DATETIME(3) NOT NULL,
    updated_at     DATETIME(3) NOT NULL,
    UNIQUE KEY users_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE menu_items (
    id           INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name         VARCHAR(100) NOT NULL,
    description  VARCHAR(1000) NOT NULL DEFAULT '',
    category     VARCHAR(50) NOT NULL DEFAULT '',
    price_minor  INT UNSIGNED NOT NULL,
    available    BOOLEAN NOT NULL DEFAULT TRUE,
    position     INT NOT NULL DEFAULT 0,
    created_at   DATETIME(3) NOT NULL,
    updated_at   DATETIME(3) NOT NULL,
    CONSTRAINT menu_price CHECK (price_minor <= 100000000),
    KEY menu_order (position, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- pickup_number counts from 1 each day in the shop's timezone.
CREATE TABLE pickup_counters (
    shop_date    DATE NOT NULL PRIMARY KEY,
    last_number  INT UNSIGNED NOT NULL
) ENGINE=InnoDB;

CREATE TABLE orders (
    id              INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    shop_date       DATE NOT NULL,
    pickup_number   INT UNSIGNED NOT NULL,
    version         INT UNSIGNED NOT NULL DEFAULT 1,
    status          ENUM('pending', 'preparing', 'ready', 'completed',
                         'cancelled') NOT NULL DEFAULT 'pending',
    customer_name   VARCHAR(100) NOT NULL,
    customer_phone  VARCHAR(30) NULL,
    customer_email  VARCHAR(254) NULL,
    note            VARCHAR(500) NULL,
    total_minor     BIGINT UNSIGNED NOT NULL,
    currency        CHAR(3) NOT NULL,
    user_id         INT UNSIGNED NULL,
    -- SHA-1 of the tracking token: the token itself is never stored.
    tracking_hash   BINARY(20) NOT NULL,
    created_at      DATETIME(3) NOT NULL,
    updated_at      DATETIME(3) NOT NULL,
    UNIQUE KEY orders_pickup (shop_date, pickup_number),
    KEY orders_status (status, id),
    KEY orders_user (user_id, id),
    CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Items keep the name and price they were sold at.
CREATE TABLE order_items (
    id             INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    order_id       INT UNSIGNED NOT NULL,
    line_no        SMALLINT UNSIGNED NOT NULL,
    menu_id        INT UNSIGNED NOT NULL,
    menu_name      VARCHAR(100) NOT NULL,
    price_minor    INT UNSIGNED NOT NULL,
    quantity       SMALLINT UNSIGNED NOT NULL,
    note           VARCHAR(200) NULL,
    UNIQUE KEY order_items_line (order_id, line_no),
    CONSTRAINT order_items_order_fk FOREIGN KEY (order_id)
        REFERENCES orders (id),
    CONSTRAINT order_items_menu_fk FOREIGN KEY (menu_id)
        REFERENCES menu_items (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE order_status_history (
    id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    order_id     INT UNSIGNED NOT NULL,
    from_status  ENUM('pending', 'preparing', 'ready', 'completed',
                      'cancelled') NULL,
    to_status    ENUM('pending', 'preparing', 'ready', 'completed',
                      'cancelled') NOT NULL,
    by_user_id   INT UNSIGNED NULL,
    reason       VARCHAR(200) NULL,
    created_at   DATETIME(3) NOT NULL,
    KEY history_order (order_id, id),
    CONSTRAINT history_order_fk FOREIGN KEY (order_id) REFERENCES orders (id),
    CONSTRAINT history_user_fk FOREIGN KEY (by_user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The outbox and durable event log: written in the same transaction as the
-- change, sent to timing-eventd after COMMIT.  `message` is the staff
-- WebSocket message without event_id; customer_message is its masked twin.
CREATE TABLE events (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    type              ENUM('newOrder', 'orderStatusUpdate') NOT NULL,
    order_id          INT UNSIGNED NOT NULL,
    message           MEDIUMTEXT NOT NULL,
    customer_message  MEDIUMTEXT NULL,
    created_at        DATETIME(3) NOT NULL,
    KEY events_order (order_id, id),
    KEY events_created (created_at),
    CONSTRAINT events_order_fk FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Idempotency-Key: the first answer to a key, kept 24 hours.
CREATE TABLE idempotency_keys (
    idem_key      VARCHAR(255) NOT NULL PRIMARY KEY,
    request_hash  BINARY(20) NOT NULL,
    order_id      INT UNSIGNED NULL,
    status        SMALLINT UNSIGNED NOT NULL,
    response      MEDIUMTEXT NOT NULL,
    created_at    DATETIME(3) NOT NULL,
    KEY idempotency_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- Rate limits shared by every Apache process: one row per attempt, so a
-- sliding window is a COUNT over an index range.
CREATE TABLE rate_events (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    bucket      VARCHAR(300) NOT NULL,
    created_at  DATETIME(3) NOT NULL,
    KEY rate_bucket (bucket, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
