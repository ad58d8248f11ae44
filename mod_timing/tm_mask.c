/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_mask.c -- masking of phone numbers and e-mail addresses.
 *
 * Masks count and cut whole UTF-8 characters, never bytes: a name that
 * begins with ñ or a Thai letter keeps that character whole, so the
 * masked copy is still valid UTF-8 (the database stores it and browsers
 * read it).  The input is already valid UTF-8 (tm_valid.c refuses
 * anything else), so a character starts at every byte that is not a
 * continuation byte.
 */
#include <string.h>

#include "apr_strings.h"
#include "tm_mask.h"

#define IS_CONT(c) (((unsigned char)(c) & 0xC0) == 0x80)

/* The byte offset of the character after the one at s[i]. */
static size_t next_char(const char *s, size_t i)
{
    if (s[i]) {
        i++;
    }
    while (s[i] && IS_CONT(s[i])) {
        i++;
    }
    return i;
}

/* Characters in s[0..len). */
static size_t count_chars(const char *s, size_t len)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        n += !IS_CONT(s[i]);
    }
    return n;
}

/* Copies s with the characters from the from-th up to (not including)
 * the to-th each replaced by one '*'. */
static char *mask_chars(apr_pool_t *p, const char *s, size_t from, size_t to)
{
    size_t len = strlen(s), i = 0, c = 0, n = 0;
    char *out = apr_palloc(p, len + 1);

    while (s[i]) {
        size_t next = next_char(s, i);

        if (c < from || c >= to) {
            memcpy(out + n, s + i, next - i);
            n += next - i;
        }
        else {
            out[n++] = '*';
        }
        i = next;
        c++;
    }
    out[n] = '\0';
    return out;
}

const char *tm_mask_phone(apr_pool_t *p, const char *phone)
{
    size_t chars;

    if (!phone) {
        return NULL;
    }
    chars = count_chars(phone, strlen(phone));
    if (chars >= 8) {
        return mask_chars(p, phone, 3, chars - 3);
    }
    return mask_chars(p, phone, 0, chars > 2 ? chars - 2 : 0);
}

/* The local part becomes its first character and three asterisks
 * whatever its length: how long a name is tells something too. */
const char *tm_mask_email(apr_pool_t *p, const char *email)
{
    const char *at;

    if (!email) {
        return NULL;
    }
    at = strrchr(email, '@');
    if (!at || at == email) {
        return at ? apr_pstrcat(p, "***", at, NULL) : "***";
    }
    return apr_pstrcat(p, apr_pstrmemdup(p, email,
                                         next_char(email, 0)),
                       "***", at, NULL);
}
