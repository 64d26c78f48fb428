/* make bench: the Avro codec alone, in ns per event, on the bench's own JSON Lines events:
 * op_codec_encode, then op_codec_decode + op_event_from_value, with nothing else timed.
 *
 * Usage: codec_bench EVENTS.jsonl  → one JSON line on stdout.
 *
 * Events are converted (untimed) JSON → Avro the way the producer does it (timestamps to
 * milliseconds, op_avrojson_from_json into the newest schema of the type) in chunks of
 * CHUNK values; each chunk is then encoded as a whole and its bytes decoded as a whole, so
 * the clock is read twice per chunk, not per event, and memory stays bounded. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <avro.h>
#include <jansson.h>

#include "avrojson.h"
#include "buf.h"
#include "codec.h"
#include "event.h"

#include "../../producers/record.h"

#define CHUNK 4096

struct bench {
    struct op_codec *codec;
    const struct op_schema *reader[OP_EVENT_TYPES];
    avro_value_t pool[OP_EVENT_TYPES][CHUNK];
    size_t pooled[OP_EVENT_TYPES]; /* values created in pool[t] */
    const struct op_schema *chunk_schema[CHUNK];
    avro_value_t *chunk_value[CHUNK];
    size_t chunk_off[CHUNK + 1];
    size_t n; /* events in the current chunk */
    size_t used[OP_EVENT_TYPES];
    struct op_buf enc;
    uint64_t events, bytes, encode_ns, decode_ns;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Timestamp-millis fields given as RFC 3339 strings become integer milliseconds, as the
 * producer's input stage does before the JSON meets the schema. */
static int timestamps_to_ms(const struct op_schema *s, json_t *obj, char *err, size_t err_size)
{
    json_t *fields = json_object_get(s->json, "fields");
    for (size_t i = 0; i < json_array_size(fields); i++) {
        json_t *f = json_array_get(fields, i);
        json_t *ty = json_object_get(f, "type");
        json_t *lt = json_is_object(ty) ? json_object_get(ty, "logicalType") : NULL;
        if (!json_is_string(lt) || strcmp(json_string_value(lt), "timestamp-millis") != 0)
            continue;
        const char *name = json_string_value(json_object_get(f, "name"));
        json_t *v = name ? json_object_get(obj, name) : NULL;
        if (!json_is_string(v))
            continue;
        int64_t ms;
        const char *why;
        if (producer_ts_parse(json_string_value(v), json_string_length(v), &ms, &why) != 0) {
            snprintf(err, err_size, "%s: %s", name, why);
            return -1;
        }
        if (json_object_set_new(obj, name, json_integer(ms)) != 0) {
            snprintf(err, err_size, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* Adds one JSON line to the current chunk as an Avro value. */
static int add_line(struct bench *b, const char *line, size_t len, char *err, size_t err_size)
{
    json_error_t je;
    json_t *obj = json_loadb(line, len, 0, &je);
    int rc = -1;
    if (!json_is_object(obj)) {
        snprintf(err, err_size, "not a JSON object: %s", obj ? "" : je.text);
        goto cleanup;
    }
    int t = op_event_type_from_name(json_string_value(json_object_get(obj, "type")));
    if (t < 0) {
        snprintf(err, err_size, "no known \"type\"");
        goto cleanup;
    }
    json_object_del(obj, "type");
    /* The producer derives a missing id; any id of the usual length serves here. */
    if (!json_is_string(json_object_get(obj, "event_id"))) {
        char id[48];
        snprintf(id, sizeof id, "d-codec-bench-%020" PRIu64, b->events + b->n);
        json_object_set_new(obj, "event_id", json_string(id));
    }
    const struct op_schema *s = b->reader[t];
    if (timestamps_to_ms(s, obj, err, err_size) != 0)
        goto cleanup;
    size_t k = b->used[t]++;
    if (k == b->pooled[t]) {
        if (avro_generic_value_new(s->iface, &b->pool[t][k]) != 0) {
            snprintf(err, err_size, "avro-c: %s", avro_strerror());
            goto cleanup;
        }
        b->pooled[t]++;
    }
    if (op_avrojson_from_json(s, &b->pool[t][k], obj, err, err_size) != 0)
        goto cleanup;
    b->chunk_schema[b->n] = s;
    b->chunk_value[b->n] = &b->pool[t][k];
    b->n++;
    rc = 0;
cleanup:
    json_decref(obj);
    return rc;
}

/* Encodes the chunk, then decodes its bytes; only these two loops are timed. */
static int run_chunk(struct bench *b, char *err, size_t err_size)
{
    b->enc.len = 0;
    if (op_buf_reserve(&b->enc, b->n * 512) != 0) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    uint64_t t0 = now_ns();
    for (size_t i = 0; i < b->n; i++) {
        b->chunk_off[i] = b->enc.len;
        if (op_codec_encode(b->chunk_schema[i], b->chunk_value[i], &b->enc, err, err_size) != 0)
            return -1;
    }
    b->chunk_off[b->n] = b->enc.len;
    uint64_t t1 = now_ns();
    char field[96];
    for (size_t i = 0; i < b->n; i++) {
        avro_value_t *v;
        const struct op_schema *reader;
        struct op_event ev;
        int rc = op_codec_decode(b->codec, b->enc.data + b->chunk_off[i],
                                 b->chunk_off[i + 1] - b->chunk_off[i], &v, NULL, &reader, err,
                                 err_size);
        if (rc != 0)
            return -1;
        if (op_event_from_value(&ev, reader, v, field, sizeof field, err, err_size) != 0)
            return -1;
    }
    uint64_t t2 = now_ns();
    b->encode_ns += t1 - t0;
    b->decode_ns += t2 - t1;
    b->events += b->n;
    b->bytes += b->enc.len;
    b->n = 0;
    memset(b->used, 0, sizeof b->used);
    return 0;
}

int main(int argc, char **argv)
{
    char err[512];
    int rc = 1;
    FILE *in = NULL;
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    struct bench *b = calloc(1, sizeof *b);
    if (argc != 2) {
        fprintf(stderr, "usage: codec_bench EVENTS.jsonl\n");
        free(b);
        return 2;
    }
    if (!b) {
        fprintf(stderr, "codec_bench: out of memory\n");
        return 1;
    }
    b->codec = op_codec_new_default(err, sizeof err);
    if (!b->codec) {
        fprintf(stderr, "codec_bench: %s\n", err);
        goto cleanup;
    }
    for (int t = 0; t < OP_EVENT_TYPES; t++) {
        b->reader[t] = op_codec_reader(b->codec, op_event_type_name((enum op_event_type)t));
        if (!b->reader[t]) {
            fprintf(stderr, "codec_bench: no schema for %s\n", op_event_type_name(t));
            goto cleanup;
        }
    }
    in = fopen(argv[1], "r");
    if (!in) {
        perror(argv[1]);
        goto cleanup;
    }
    ssize_t len;
    while ((len = getline(&line, &cap, in)) > 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        if (add_line(b, line, (size_t)len, err, sizeof err) != 0) {
            fprintf(stderr, "codec_bench: %s:%zu: %s\n", argv[1], lineno, err);
            goto cleanup;
        }
        if (b->n == CHUNK && run_chunk(b, err, sizeof err) != 0) {
            fprintf(stderr, "codec_bench: %s\n", err);
            goto cleanup;
        }
    }
    if (b->n && run_chunk(b, err, sizeof err) != 0) {
        fprintf(stderr, "codec_bench: %s\n", err);
        goto cleanup;
    }
    if (b->events == 0) {
        fprintf(stderr, "codec_bench: no events in %s\n", argv[1]);
        goto cleanup;
    }
    printf("{\"codec_events\":%" PRIu64 ",\"codec_bytes_per_event\":%.1f,"
           "\"codec_encode_ns_per_event\":%.1f,\"codec_decode_ns_per_event\":%.1f}\n",
           b->events, (double)b->bytes / (double)b->events,
           (double)b->encode_ns / (double)b->events, (double)b->decode_ns / (double)b->events);
    rc = 0;
cleanup:
    if (in)
        fclose(in);
    free(line);
    for (int t = 0; t < OP_EVENT_TYPES; t++)
        for (size_t i = 0; i < b->pooled[t]; i++)
            avro_value_decref(&b->pool[t][i]);
    op_buf_free(&b->enc);
    op_codec_destroy(b->codec);
    free(b);
    return rc;
}
