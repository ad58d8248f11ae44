-- SPDX-License-Identifier: Apache-2.0
-- 007_idempotency_scope.sql -- an Idempotency-Key is filed as the client
-- sent it, beside the account that used it and the SHA-256 of its body's
-- canonical JSON (issue 17).
--
-- Keys were filed under "<address>:<key>" or "user <id>:<key>", so the
-- same key from another address made a second order, and the body's hash
-- was of its bytes.  The key itself is now the scope: another
-- account (or none, after an account) with a used key is a 422, and an
-- anonymous caller's retry from another address gets the first answer.
-- A stored answer can no longer be found under its old name, and its
-- SHA-1 cannot become the new fingerprint, so the old rows go: a retry
-- that straddles this upgrade is a new request.
DELETE FROM idempotency_keys;
ALTER TABLE idempotency_keys
    ADD COLUMN user_id INT UNSIGNED NULL AFTER idem_key,
    MODIFY request_hash BINARY(32) NOT NULL;
