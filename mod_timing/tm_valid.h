/*
 * tm_valid.h -- checks on text from outside, pure logic with no httpd
 * dependency so the unit tests can reach every branch.
 */
#ifndef TM_VALID_H
#define TM_VALID_H

#include <stddef.h>

/* 1 when s[0..len) is well-formed UTF-8: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
int tm_utf8_valid(const char *s, size_t len);

/* 1 when s is a decimal id in 1..4294967295 with no sign, spaces or
 * leading zeros; stores it in *id. */
int tm_parse_id(const char *s, unsigned long *id);

#endif /* TM_VALID_H */
