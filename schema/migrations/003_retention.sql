-- SPDX-License-Identifier: Apache-2.0
-- 003_retention.sql -- what timing-maintain needs to keep data only as
-- long as configured.
--
-- events_pruned_through: the highest event id pruned from the log.  A
-- reader asking for events after an older id has missed some for good:
-- the event log answers 410 events_pruned and the client reloads.
ALTER TABLE timing_epoch
    ADD COLUMN events_pruned_through BIGINT UNSIGNED NOT NULL DEFAULT 0;

-- anonymised_at: when a finished order's customer details were erased
-- (TimingPersonalDataRetention); NULL while they are kept.
ALTER TABLE orders
    ADD COLUMN anonymised_at DATETIME(3) NULL,
    ADD KEY orders_finished (status, updated_at);
