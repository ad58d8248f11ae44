-- SPDX-License-Identifier: Apache-2.0
-- 002_idempotency_text.sql -- a stored answer is JSON in UTF-8 (Thai
-- names), not ASCII like the key it is filed under.
ALTER TABLE idempotency_keys
    MODIFY response MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
    NOT NULL;
