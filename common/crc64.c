/* Table-driven CRC-64-AVRO; the table is built once (pthread_once: no data race when
 * threads fingerprint at the same time). */
#include "crc64.h"

#include <pthread.h>

#define CRC64_EMPTY UINT64_C(0xc15d213aa4d7a795)

static uint64_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void)
{
    for (int i = 0; i < 256; i++) {
        uint64_t fp = (uint64_t)i;
        for (int j = 0; j < 8; j++)
            fp = (fp >> 1) ^ (CRC64_EMPTY & (0 - (fp & 1)));
        table[i] = fp;
    }
}

uint64_t op_crc64(const void *data, size_t len)
{
    pthread_once(&table_once, build_table);
    const unsigned char *p = data;
    uint64_t fp = CRC64_EMPTY;
    for (size_t i = 0; i < len; i++)
        fp = (fp >> 8) ^ table[(fp ^ p[i]) & 0xff];
    return fp;
}
