-- SPDX-License-Identifier: Apache-2.0
-- 004_accounts.sql -- e-mail addresses compare exactly, tokens carry a
-- version, and revocations travel in the event outbox (issue 15).
--
-- Under utf8mb4_unicode_ci the unique key on users.email was accent- and
-- case-insensitive: "bóss@" took "boss@" from its owner.  Addresses are
-- now stored normalised (lower case, trimmed; mod_timing and create-admin
-- lower-case what is typed with the same LOWER()) and compared byte for
-- byte, so case still does not make another account and an accent does.
--
-- Two existing rows could become one address (" boss@x" and "Boss@x" were
-- distinct before).  Which of them is the owner's only a person can tell,
-- so the migration then stops before changing anything and names them;
-- rename or remove one (README: "Upgrading to migration 004") and run
-- schema/migrate again.
DELIMITER //
BEGIN NOT ATOMIC
    DECLARE clash TEXT DEFAULT NULL;
    DECLARE msg VARCHAR(128);

    SELECT GROUP_CONCAT(ids SEPARATOR '; ') INTO clash
    FROM (SELECT GROUP_CONCAT(id ORDER BY id) AS ids
          FROM users
          GROUP BY CONVERT(LOWER(TRIM(email)) USING utf8mb4)
                   COLLATE utf8mb4_bin
          HAVING COUNT(*) > 1) c;
    IF clash IS NOT NULL THEN
        SET msg = LEFT(CONCAT('users with one address once lower-cased, ',
                              'keep one of each: ids ', clash), 128);
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = msg;
    END IF;
END//
DELIMITER ;

-- The exact collation first: lower-casing under the old one could make
-- "bóss@" and "boss@" collide in the old key.
ALTER TABLE users
    MODIFY email VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin
        NOT NULL;
UPDATE users SET email = LOWER(TRIM(email));

-- Bumped whenever what a token vouches for changes: a new password, a new
-- role, a disable (PATCH /api/admin/users/:id, create-admin's reset).  A
-- token carries the version it was issued under (claim "tv"; a token from
-- before this migration has none and counts as 0), and one of an older
-- version is refused.  A count, not iat: seconds are too coarse, and the
-- servers' clocks differ.
ALTER TABLE users
    ADD COLUMN token_version INT UNSIGNED NOT NULL DEFAULT 0 AFTER disabled;

-- A revocation ("revoke user N") is written with the change that causes
-- it and sent after COMMIT like any event, so timing-eventd watches its
-- id and a lost one shows as a gap.  It belongs to no order, and nothing
-- a client reads shows it (GET /api/admin/events skips it).
ALTER TABLE events
    MODIFY type ENUM('newOrder', 'orderStatusUpdate', 'revoke') NOT NULL,
    MODIFY order_id INT UNSIGNED NULL;
