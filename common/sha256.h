/* SHA-256 (FIPS 180-4), streaming: the producer derives event ids from it, so its output must
 * never change. No dependency on OpenSSL; ~100 MB/s is plenty for ids. */
#ifndef OP_SHA256_H
#define OP_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define OP_SHA256_SIZE 32
#define OP_SHA256_HEX_SIZE 65 /* 64 hex digits and a NUL */

struct op_sha256 {
    uint32_t h[8];
    uint64_t bytes; /* total length so far */
    unsigned char block[64];
    size_t fill; /* bytes waiting in block */
};

void op_sha256_init(struct op_sha256 *c);
void op_sha256_update(struct op_sha256 *c, const void *data, size_t len);
/* Writes the digest; the context must be initialised again before reuse. */
void op_sha256_final(struct op_sha256 *c, unsigned char out[OP_SHA256_SIZE]);

/* One-shot digest of `len` bytes. */
void op_sha256(const void *data, size_t len, unsigned char out[OP_SHA256_SIZE]);

/* Lower-case hex of `n` bytes of `digest` (n <= 32) into out, which must hold 2n + 1 bytes. */
void op_sha256_hex(const unsigned char *digest, size_t n, char *out);

#endif
