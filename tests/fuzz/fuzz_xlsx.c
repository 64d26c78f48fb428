/* libFuzzer target for the .xlsx reader: any bytes as a workbook (zip, XML parts, shared strings,
 * styles, merged ranges, the streamed sheet). An error is fine; a crash, a leak, a row with cells
 * past its count or not NUL-terminated is not. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../producers/xlsx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/fuzz_xlsx.%ld.xlsx", (long)getpid());
    FILE *fp = fopen(path, "wb");
    if (!fp)
        abort();
    if (size && fwrite(data, 1, size, fp) != size)
        abort();
    fclose(fp);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        abort();
    char err[512];
    /* Small limits: the caps are part of what is fuzzed. */
    struct producer_xlsx_limits lim = {1 << 20, 4096};
    struct producer_xlsx *x = producer_xlsx_open(fd, "fuzz.xlsx", NULL, &lim, err, sizeof err);
    if (x) {
        struct producer_xlsx_row *r;
        long prev = 0;
        while (producer_xlsx_next(x, &r) == 1) {
            if (r->row <= prev)
                abort();
            prev = r->row;
            for (size_t i = 0; i < r->n; i++)
                if (strlen(r->cell[i]) != r->len[i])
                    abort();
        }
        producer_xlsx_close(x);
    } else if (!err[0])
        abort();
    close(fd);
    unlink(path);
    return 0;
}
