/* libFuzzer target for the CSV reader: input.c cuts the bytes into records (quotes spanning
 * lines, stray quotes, over-long records, BOM, CRLF, blank lines) and producer_csv_split cuts each
 * record into cells. Checks the line accounting and that cells never run past the record. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../producers/input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/fuzz_csv.%ld.csv", (long)getpid());
    FILE *fp = fopen(path, "wb");
    if (!fp)
        abort();
    if (size && fwrite(data, 1, size, fp) != size)
        abort();
    fclose(fp);
    /* A small limit, so that over-long records (cut, then read to their end) are common. */
    struct producer_input in;
    char err[512];
    if (producer_input_open(&in, path, PRODUCER_FORMAT_CSV, 1024, err, sizeof err) != 0)
        abort();
    struct producer_cells cells;
    memset(&cells, 0, sizeof cells);
    struct producer_raw raw;
    long record_lines = 0;
    int r;
    while ((r = producer_input_next(&in, &raw)) == 1) {
        if (raw.lines < 1 || raw.text_len > raw.len || raw.len > 1024 + 2)
            abort();
        record_lines += raw.lines;
        size_t bad;
        const char *why;
        if (producer_csv_split(raw.data, raw.text_len, &cells, &bad, &why) == 0) {
            size_t total = 0;
            for (size_t i = 0; i < cells.n; i++) {
                if (strlen(cells.cell[i]) != cells.len[i] && !memchr(raw.data, 0, raw.text_len))
                    abort();
                total += cells.len[i];
            }
            if (total > raw.text_len)
                abort();
        } else if (!why || bad > cells.n)
            abort();
    }
    if (r < 0)
        abort();
    /* Every physical line is a record's or a blank one. */
    if (in.lines != record_lines + in.blank_lines)
        abort();
    producer_cells_free(&cells);
    producer_input_close(&in);
    unlink(path);
    return 0;
}
