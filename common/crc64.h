/* CRC-64-AVRO (the Rabin fingerprint of the Avro specification), for schema fingerprints
 * and content digests; Kafka- and Avro-free, so the sink can use it. */
#ifndef OP_CRC64_H
#define OP_CRC64_H

#include <stddef.h>
#include <stdint.h>

/* The fingerprint of len bytes at data (data may be NULL when len is 0). Thread-safe. */
uint64_t op_crc64(const void *data, size_t len);

#endif
