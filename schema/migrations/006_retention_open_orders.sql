-- SPDX-License-Identifier: Apache-2.0
-- 006_retention_open_orders.sql -- timing-maintain erases the personal
-- data of every order whose last change (updated_at) is older than
-- TimingPersonalDataRetention, finished or left open, and finds those not
-- yet erased by this key instead of reading the whole table each run.
ALTER TABLE orders
    ADD KEY orders_retention (anonymised_at, updated_at);
