/* SPDX-License-Identifier: Apache-2.0 */
/* test_messages.c -- the daemon's own messages: exactly the JSON the API
 * lists, built once, with times as the REST API writes them. */
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include <json.h>

#include "messages.h"

static void test_typed(void)
{
    char *pong = msg_typed("pong", NULL);
    char *resync = msg_typed("resync", "too \"old\"");

    CU_ASSERT_STRING_EQUAL(pong, "{\"type\":\"pong\"}");
    /* The reason is JSON-escaped, not pasted. */
    CU_ASSERT_STRING_EQUAL(resync,
                           "{\"type\":\"resync\",\"reason\":\"too \\\"old\\\"\"}");
    free(pong);
    free(resync);
}

static void test_connection(void)
{
    struct timespec t = { 1795511702, 123456789 };
    char *m = msg_connection("00ff", "ab12", 42, &t);
    json_object *o = json_tokener_parse(m), *v;

    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_TRUE(json_object_object_get_ex(o, "type", &v));
    CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "connection");
    CU_ASSERT_TRUE(json_object_object_get_ex(o, "client_id", &v));
    CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "00ff");
    CU_ASSERT_TRUE(json_object_object_get_ex(o, "epoch", &v));
    CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "ab12");
    CU_ASSERT_TRUE(json_object_object_get_ex(o, "last_event_id", &v));
    CU_ASSERT_TRUE(json_object_is_type(v, json_type_int));
    CU_ASSERT_EQUAL(json_object_get_int64(v), 42);
    CU_ASSERT_TRUE(json_object_object_get_ex(o, "server_time", &v));
    CU_ASSERT_STRING_EQUAL(json_object_get_string(v),
                           "2026-11-24T09:15:02.123Z");
    CU_ASSERT_EQUAL(json_object_object_length(o), 5);
    json_object_put(o);
    free(m);
}

static void test_time_and_ids(void)
{
    struct timespec t = { 0, 999999999 };
    char iso[MSG_ISO_TIME_LEN + 1], small[10];
    char a[MSG_CLIENT_ID_LEN + 1], b[MSG_CLIENT_ID_LEN + 1];
    size_t i;

    CU_ASSERT_EQUAL(msg_iso_time(&t, iso, sizeof iso), 24);
    CU_ASSERT_STRING_EQUAL(iso, "1970-01-01T00:00:00.999Z");
    CU_ASSERT_EQUAL(msg_iso_time(&t, small, sizeof small), -1);
    msg_client_id(a);
    msg_client_id(b);
    CU_ASSERT_EQUAL(strlen(a), MSG_CLIENT_ID_LEN);
    for (i = 0; i < MSG_CLIENT_ID_LEN; i++) {
        CU_ASSERT_PTR_NOT_NULL(strchr("0123456789abcdef", a[i]));
    }
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
}

int add_messages_suite(void)
{
    CU_pSuite s = CU_add_suite("timing-eventd messages", NULL, NULL);

    if (!s || !CU_add_test(s, "typed messages", test_typed)
        || !CU_add_test(s, "the connection message", test_connection)
        || !CU_add_test(s, "times and client ids", test_time_and_ids)) {
        return -1;
    }
    return 0;
}
