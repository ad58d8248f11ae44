/*
 * tm_mask.c -- masking of phone numbers and e-mail addresses.
 *
 * Works on bytes of ASCII text; a multi-byte character is masked whole,
 * since only ASCII bytes are ever kept.
 */
#include <string.h>

#include "apr_strings.h"
#include "tm_mask.h"

/* Copies s with every byte in [from, to) replaced by one '*' per
 * character (continuation bytes of UTF-8 are dropped). */
static char *mask_range(apr_pool_t *p, const char *s, size_t from, size_t to)
{
    size_t len = strlen(s), i, n = 0;
    char *out = apr_palloc(p, len + 1);

    for (i = 0; i < len; i++) {
        if (i < from || i >= to) {
            out[n++] = s[i];
        }
        else if (((unsigned char)s[i] & 0xC0) != 0x80) {
            out[n++] = '*';
        }
    }
    out[n] = '\0';
    return out;
}

const char *tm_mask_phone(apr_pool_t *p, const char *phone)
{
    size_t len;

    if (!phone) {
        return NULL;
    }
    len = strlen(phone);
    if (len >= 8) {
        return mask_range(p, phone, 3, len - 3);
    }
    return mask_range(p, phone, 0, len > 2 ? len - 2 : 0);
}

const char *tm_mask_email(apr_pool_t *p, const char *email)
{
    const char *at;

    if (!email) {
        return NULL;
    }
    at = strrchr(email, '@');
    if (!at || at == email) {
        return mask_range(p, email, 0, strlen(email));
    }
    return mask_range(p, email, 1, (size_t)(at - email));
}
