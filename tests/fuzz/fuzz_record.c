/* libFuzzer target for record conversion: producer_conv_json on JSON Lines records (the parser
 * and every validation rule), and, for an input that does not start with '{', its first line as a
 * CSV header (aliases included) and the other lines as rows through producer_conv_csv. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "regions.h"
#include "../../producers/input.h"
#include "../../producers/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct op_codec *codec;
static struct op_regions *regions;
static struct producer_conv conv;
static struct producer_cells cells;

static void teardown(void)
{
    producer_cells_free(&cells);
    producer_conv_free(&conv);
    op_regions_destroy(regions);
    op_codec_destroy(codec);
}

static void setup(void)
{
    char err[512];
    codec = op_codec_new_default(err, sizeof err);
    regions = codec ? op_regions_new_default(err, sizeof err) : NULL;
    if (!regions ||
        producer_conv_init(&conv, codec, regions, NULL, 600000, -1, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_record: %s\n", err);
        abort();
    }
    atexit(teardown);
}

/* 2025-01-15: far enough from the fuzzed timestamps' usual range to exercise both checks. */
#define NOW_MS 1736899200000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!codec)
        setup();
    char field[PRODUCER_FIELD_MAX], reason[PRODUCER_REASON_MAX];
    struct producer_rec rec;
    const char *s = (const char *)data;
    if (size && s[0] == '{') {
        /* Each line a record, as the reader gives them (no terminator). */
        size_t i = 0;
        while (i <= size) {
            const char *nl = memchr(s + i, '\n', size - i);
            size_t end = nl ? (size_t)(nl - s) : size;
            field[0] = reason[0] = 0;
            if (producer_conv_json(&conv, s + i, end - i, NOW_MS, &rec, field, sizeof field, reason,
                                   sizeof reason) != 0 &&
                (!field[0] || !reason[0])) {
                fprintf(stderr, "fuzz_record: a JSON reject without field or reason\n");
                abort();
            }
            i = end + 1;
        }
        return 0;
    }
    struct producer_csv_header h;
    memset(&h, 0, sizeof h);
    int have_header = 0;
    size_t i = 0;
    while (i < size) {
        const char *nl = memchr(s + i, '\n', size - i);
        size_t end = nl ? (size_t)(nl - s) : size;
        size_t bad;
        const char *why;
        if (producer_csv_split(s + i, end - i, &cells, &bad, &why) == 0) {
            field[0] = reason[0] = 0;
            if (!have_header) {
                if (producer_csv_header_init(&h, &conv, cells.cell, cells.len, cells.n, field,
                                             sizeof field, reason, sizeof reason) != 0)
                    return 0;
                have_header = 1;
            } else if (producer_conv_csv(&conv, &h, cells.cell, cells.len, cells.n, NOW_MS, &rec,
                                         field, sizeof field, reason, sizeof reason) != 0 &&
                       (!field[0] || !reason[0])) {
                fprintf(stderr, "fuzz_record: a CSV reject without field or reason\n");
                abort();
            }
        }
        i = end + 1;
    }
    producer_csv_header_free(&h);
    return 0;
}
