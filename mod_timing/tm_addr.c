/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tm_addr.c -- which client addresses share one per-address allowance.
 *
 * An IPv4 address is one client (behind a shop's NAT, many people: the
 * limits are generous for that).  An IPv6 client is usually given a whole
 * /64 and may send from any address in it, so counting single addresses
 * would give it 2^64 allowances; its /64 is counted instead.  Which
 * address the request came from is the caller's business (Apache's
 * r->useragent_ip, after mod_remoteip).
 */
#include "tm_addr.h"

#include "apr_strings.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

const char *tm_addr_bucket(apr_pool_t *p, const char *ip)
{
    struct in_addr a4;
    struct in6_addr a6;
    char text[INET6_ADDRSTRLEN];
    const char *zone;
    char *bare;

    if (!ip) {
        return "";
    }
    if (inet_pton(AF_INET, ip, &a4) == 1) {
        return apr_pstrdup(p, ip);
    }
    /* A link-local address may carry its interface (fe80::1%eth0); the
     * interface says nothing about the client. */
    zone = strchr(ip, '%');
    bare = zone ? apr_pstrndup(p, ip, zone - ip) : apr_pstrdup(p, ip);
    if (inet_pton(AF_INET6, bare, &a6) != 1) {
        return bare;
    }
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        return inet_ntop(AF_INET, a6.s6_addr + 12, text, sizeof text)
               ? apr_pstrdup(p, text) : bare;
    }
    memset(a6.s6_addr + 8, 0, 8);
    return inet_ntop(AF_INET6, &a6, text, sizeof text)
           ? apr_pstrcat(p, text, "/64", NULL) : bare;
}
