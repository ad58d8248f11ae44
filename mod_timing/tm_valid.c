/*
 * tm_valid.c -- validation of text that comes from clients.
 *
 * Pure functions: the handlers decide which status a failure maps to.
 */
#include "tm_valid.h"

int tm_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t need;
        unsigned long cp, min;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1; cp = c & 0x1F; min = 0x80;
        }
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 2; cp = c & 0x0F; min = 0x800;
        }
        else if (c >= 0xF0 && c <= 0xF4) {
            need = 3; cp = c & 0x07; min = 0x10000;
        }
        else {
            return 0;
        }
        if (len - i <= need) {
            return 0;
        }
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return 0;
        }
        i += need + 1;
    }
    return 1;
}

int tm_parse_id(const char *s, unsigned long *id)
{
    unsigned long long v = 0;
    size_t n = 0;

    if (!s || s[0] < '1' || s[0] > '9') {
        return 0;
    }
    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 10) {
            return 0;
        }
        v = v * 10 + (unsigned)(s[n] - '0');
    }
    if (v > 4294967295ULL) {
        return 0;
    }
    *id = (unsigned long)v;
    return 1;
}
