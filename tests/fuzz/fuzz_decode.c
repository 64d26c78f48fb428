/* libFuzzer target for the codec's hostile-input path: op_codec_decode on arbitrary messages,
 * op_avrojson_to_json on what it accepts, and op_codec_check_body on bare bodies. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avrojson.h"
#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One codec for the whole run, as a consumer keeps one: decode reuses its values, so state left
 * behind by one input is exercised by the next. */
static struct op_codec *codec;

/* Destroyed at exit, before LeakSanitizer's final check (atexit runs last-registered first), so
 * the check also proves op_codec_destroy frees what the run left in the reusable values. */
static void destroy_codec(void)
{
    op_codec_destroy(codec);
    codec = NULL;
}

/* A decoded value must render: the checks in front of avro-c promise valid UTF-8 and in-range
 * enums and branches, so NULL here means the check and the renderer disagree. */
static void render(avro_value_t *v, const char *what)
{
    json_t *j = op_avrojson_to_json(v);
    if (!j) {
        fprintf(stderr, "fuzz_decode: %s decoded but op_avrojson_to_json failed\n", what);
        abort();
    }
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    free(text);
    json_decref(j);
}

/* The whole input as one framed message: any outcome but a crash is fine. */
static void fuzz_message(const uint8_t *data, size_t size)
{
    avro_value_t *v;
    char err[512];
    if (op_codec_decode(codec, data, size, &v, NULL, NULL, err, sizeof err) == 0)
        render(v, "message");
}

/* A bare body of the schema that `mode` picks. A body the bounds check accepts is one datum of
 * that schema, so the framed message must then decode, and resolve to the newest version. */
static void fuzz_body(uint8_t mode, const uint8_t *body, size_t len)
{
    const struct op_schema *s = op_codec_at(codec, mode % op_codec_count(codec));
    char err[512];
    if (op_codec_check_body(s->schema, body, len, err, sizeof err) != 0)
        return;
    uint8_t *msg = malloc(OP_CODEC_HEADER_SIZE + len);
    if (!msg)
        return;
    msg[0] = OP_CODEC_MAGIC0;
    msg[1] = OP_CODEC_MAGIC1;
    for (int i = 0; i < 8; i++)
        msg[2 + i] = (uint8_t)(s->fingerprint >> (8 * i));
    if (len)
        memcpy(msg + OP_CODEC_HEADER_SIZE, body, len);
    avro_value_t *v;
    int rc =
        op_codec_decode(codec, msg, OP_CODEC_HEADER_SIZE + len, &v, NULL, NULL, err, sizeof err);
    free(msg);
    if (rc != 0) {
        fprintf(stderr, "fuzz_decode: %s body passed op_codec_check_body but decode says %s: %s\n",
                s->name, op_codec_err_name(rc), err);
        abort();
    }
    render(v, s->name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!codec) {
        char err[512];
        codec = op_codec_new_default(err, sizeof err);
        if (!codec) {
            fprintf(stderr, "fuzz_decode: op_codec_new_default: %s\n", err);
            abort();
        }
        atexit(destroy_codec);
    }
    /* Mode byte: the single-object magic means "the input is a message", so encoder output is
     * a seed as it is; any other first byte picks a schema for a bare body. */
    if (size == 0 || data[0] == OP_CODEC_MAGIC0)
        fuzz_message(data, size);
    else
        fuzz_body(data[0], data + 1, size - 1);
    return 0;
}
