/* SPDX-License-Identifier: Apache-2.0 */
/*
 * standalone.c -- runs a harness on the files named on the command line,
 * without libFuzzer, so a harness built with plain gcc can run its corpus
 * under valgrind (which sees uninitialised reads that ASan does not).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int i;

    if (LLVMFuzzerInitialize) {
        LLVMFuzzerInitialize(&argc, &argv);
    }
    for (i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        uint8_t *buf;
        long n;

        if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0
            || fseek(f, 0, SEEK_SET)) {
            perror(argv[i]);
            return 2;
        }
        /* One byte more, so an empty file still has a buffer. */
        buf = malloc((size_t)n + 1);
        if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
            perror(argv[i]);
            return 2;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t)n);
        free(buf);
    }
    return 0;
}
