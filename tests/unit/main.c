/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c -- the CUnit runner for Timing's pure logic.
 *
 * Registers every suite listed in suites.h, runs them verbosely, and writes
 * "passed N failed M" to the file named by argv[1] so `make test` can add
 * the unit figures to its summary line.  Built with ASan and UBSan.
 */
#include <stdio.h>
#include <CUnit/Basic.h>

#define SUITE(name) int add_##name##_suite(void);
#include "suites.h"
#undef SUITE

int main(int argc, char **argv)
{
    unsigned passed, failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 2;
    }
#define SUITE(name) \
    if (add_##name##_suite() != 0) { \
        fprintf(stderr, "cannot register suite " #name "\n"); \
        return 2; \
    }
#include "suites.h"
#undef SUITE

    CU_basic_set_mode(CU_BRM_NORMAL);
    CU_basic_run_tests();
    passed = CU_get_number_of_tests_run() - CU_get_number_of_tests_failed();
    failed = CU_get_number_of_tests_failed()
             + CU_get_number_of_suites_failed();
    CU_cleanup_registry();

    printf("unit tests: %u passed, %u failed\n", passed, failed);
    if (argc > 1) {
        FILE *f = fopen(argv[1], "w");
        if (f) {
            fprintf(f, "passed %u failed %u\n", passed, failed);
            fclose(f);
        }
    }
    return failed ? 1 : 0;
}
