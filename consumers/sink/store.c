/* The sink's durable state: an append-only log where each accepted batch adds one line
 * {"keys":[[KEY,DIGEST]],"rollups":[...the rollups it advanced...]}, fsync'd before the answer;
 * at start the log is replayed (a torn last line is cut off) and rewritten compacted. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc64.h"
#include "err.h"
#include "log.h"
#include "map.h"

struct rollup_entry {
    char *key;
    int64_t revision;
    char *json; /* compact, NUL-terminated */
    size_t len;
};

struct sink_store {
    struct op_map *rollups; /* rollup key -> struct rollup_entry */
    struct op_map *keys;    /* Idempotency-Key -> uint64_t digest (malloc'd) */
    char **ring;            /* the keys in arrival order, for forgetting the oldest */
    size_t max_keys, head, n_keys;
    char *path;
    int fd;
    uint64_t log_bytes, compact_bytes;
    struct sink_stats stats;
    const struct op_regions *regions; /* NULL: no region or window check */
    size_t max_rollups;               /* 0: no cap */
};

/* ---- memory ----------------------------------------------------------------------------- */

static void free_entry(void *p)
{
    struct rollup_entry *e = p;
    if (!e)
        return;
    free(e->key);
    free(e->json);
    free(e);
}

/* Keeps json (taken over) as key's rollup if rev is higher than the stored one. Returns 1 if
 * kept, 0 if not (json freed), -1 on allocation failure (json freed). */
static int put_rollup(struct sink_store *s, const char *key, int64_t rev, char *json)
{
    size_t kl = strlen(key);
    struct rollup_entry *e = op_map_get(s->rollups, key, kl);
    if (e && e->revision >= rev) {
        free(json);
        return 0;
    }
    if (e) {
        free(e->json);
        e->json = json;
        e->len = strlen(json);
        e->revision = rev;
        return 1;
    }
    e = calloc(1, sizeof *e);
    if (!e || !(e->key = strdup(key)) || op_map_put(s->rollups, key, kl, e, NULL) != 0) {
        if (e)
            free(e->key);
        free(e);
        free(json);
        return -1;
    }
    e->json = json;
    e->len = strlen(json);
    e->revision = rev;
    return 1;
}

static int remember_key(struct sink_store *s, const char *key, uint64_t digest)
{
    size_t kl = strlen(key);
    uint64_t *d = op_map_get(s->keys, key, kl);
    if (d) {
        *d = digest;
        return 0;
    }
    if (s->n_keys == s->max_keys) {
        char *old = s->ring[s->head];
        free(op_map_remove(s->keys, old, strlen(old)));
        free(old);
        s->ring[s->head] = NULL;
        s->head = (s->head + 1) % s->max_keys;
        s->n_keys--;
    }
    char *copy = strdup(key);
    d = malloc(sizeof *d);
    if (!copy || !d || op_map_put(s->keys, key, kl, d, NULL) != 0) {
        free(copy);
        free(d);
        return -1;
    }
    *d = digest;
    s->ring[(s->head + s->n_keys) % s->max_keys] = copy;
    s->n_keys++;
    return 0;
}

/* ---- the log ---------------------------------------------------------------------------- */

static int write_all(int fd, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int append_json_string(struct op_buf *b, const char *s)
{
    json_t *j = json_string(s);
    char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    int rc = t ? op_buf_append(b, t, strlen(t)) : -1;
    free(t);
    json_decref(j);
    return rc;
}

static int append_key_pair(struct op_buf *b, const char *key, uint64_t digest)
{
    char hex[24];
    snprintf(hex, sizeof hex, ",\"%016" PRIx64 "\"]", digest);
    if (op_buf_append(b, "[", 1) || append_json_string(b, key) ||
        op_buf_append(b, hex, strlen(hex)))
        return -1;
    return 0;
}

static int fsync_parent(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -1;
    char *slash = strrchr(copy, '/');
    const char *dir = ".";
    if (slash == copy)
        dir = "/";
    else if (slash) {
        *slash = 0;
        dir = copy;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = -1;
    if (fd >= 0) {
        rc = fsync(fd);
        close(fd);
    }
    free(copy);
    return rc;
}

struct compact_ctx {
    int fd;
    struct op_buf line;
    size_t in_line;
    uint64_t bytes;
    int failed;
};

static int flush_line(struct compact_ctx *c, const char *close)
{
    if (c->in_line == 0)
        return 0;
    if (op_buf_append(&c->line, close, strlen(close)) ||
        write_all(c->fd, c->line.data, c->line.len))
        return -1;
    c->bytes += c->line.len;
    c->line.len = 0;
    c->in_line = 0;
    return 0;
}

/* Rewrites the log as the current state: key lines (oldest first), then rollup lines. */
static int compact(struct sink_store *s, char *errstr, size_t errstr_size)
{
    size_t n = strlen(s->path) + 8;
    char *tmp = malloc(n);
    struct compact_ctx c = {-1, OP_BUF_INIT, 0, 0, 0};
    int rc = -1;
    if (!tmp) {
        op_set_err(errstr, errstr_size, "out of memory");
        return -1;
    }
    snprintf(tmp, n, "%s.tmp", s->path);
    c.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (c.fd < 0) {
        op_set_err(errstr, errstr_size, "%s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    for (size_t i = 0; i < s->n_keys; i++) {
        const char *k = s->ring[(s->head + i) % s->max_keys];
        uint64_t *d = op_map_get(s->keys, k, strlen(k));
        if (c.in_line == 0 && op_buf_append(&c.line, "{\"keys\":[", 9))
            goto io;
        if ((c.in_line > 0 && op_buf_append(&c.line, ",", 1)) ||
            append_key_pair(&c.line, k, d ? *d : 0))
            goto io;
        if (++c.in_line == 1000 && flush_line(&c, "]}\n"))
            goto io;
    }
    if (flush_line(&c, "]}\n"))
        goto io;
    size_t pos = 0, kl;
    const char *k;
    void *v;
    while (op_map_next(s->rollups, &pos, &k, &kl, &v)) {
        const struct rollup_entry *e = v;
        if (c.in_line == 0 && op_buf_append(&c.line, "{\"rollups\":[", 12))
            goto io;
        if ((c.in_line > 0 && op_buf_append(&c.line, ",", 1)) ||
            op_buf_append(&c.line, e->json, e->len))
            goto io;
        if (++c.in_line == 500 && flush_line(&c, "]}\n"))
            goto io;
    }
    if (flush_line(&c, "]}\n"))
        goto io;
    if (fsync(c.fd) != 0)
        goto io;
    if (close(c.fd) != 0) {
        c.fd = -1;
        goto io;
    }
    c.fd = -1;
    if (rename(tmp, s->path) != 0) {
        op_set_err(errstr, errstr_size, "rename %s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    fsync_parent(s->path);
    if (s->fd >= 0)
        close(s->fd);
    s->fd = open(s->path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (s->fd < 0) {
        op_set_err(errstr, errstr_size, "%s: %s", s->path, strerror(errno));
        goto cleanup;
    }
    s->log_bytes = s->compact_bytes = c.bytes;
    rc = 0;
    goto cleanup;
io:
    op_set_err(errstr, errstr_size, "%s: %s", tmp, errno ? strerror(errno) : "out of memory");
cleanup:
    if (c.fd >= 0)
        close(c.fd);
    if (rc != 0)
        unlink(tmp);
    op_buf_free(&c.line);
    free(tmp);
    return rc;
}

/* Applies one log line. 0, or -1 with a reason. */
static int replay_line(struct sink_store *s, const char *line, size_t len, char *errstr,
                       size_t errstr_size)
{
    json_error_t jerr;
    json_t *doc = json_loadb(line, len, 0, &jerr), *keys, *rollups, *it;
    size_t i;
    int rc = -1;
    if (!json_is_object(doc)) {
        op_set_err(errstr, errstr_size, "%s", doc ? "not an object" : jerr.text);
        goto cleanup;
    }
    keys = json_object_get(doc, "keys");
    rollups = json_object_get(doc, "rollups");
    json_array_foreach(keys, i, it)
    {
        const char *k = json_string_value(json_array_get(it, 0));
        const char *d = json_string_value(json_array_get(it, 1));
        if (!k || !d || strlen(k) >= SINK_KEY_MAX) {
            op_set_err(errstr, errstr_size, "keys[%zu]: not [KEY, DIGEST]", i);
            goto cleanup;
        }
        if (remember_key(s, k, strtoull(d, NULL, 16)) != 0)
            goto oom;
    }
    json_array_foreach(rollups, i, it)
    {
        char key[SINK_KEY_MAX], why[256];
        int64_t rev;
        /* Accepted once: the current region table and window rules do not apply. */
        if (sink_validate_rollup(it, NULL, key, &rev, why, sizeof why) != 0) {
            op_set_err(errstr, errstr_size, "rollups[%zu]: %s", i, why);
            goto cleanup;
        }
        char *text = json_dumps(it, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!text || put_rollup(s, key, rev, text) < 0)
            goto oom;
    }
    rc = 0;
    goto cleanup;
oom:
    op_set_err(errstr, errstr_size, "out of memory");
cleanup:
    json_decref(doc);
    return rc;
}

static int replay(struct sink_store *s, char *errstr, size_t errstr_size)
{
    FILE *f = fopen(s->path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        op_set_err(errstr, errstr_size, "%s: %s", s->path, strerror(errno));
        return -1;
    }
    char *line = NULL, why[512];
    size_t cap = 0, lineno = 0;
    ssize_t n;
    long start = 0;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (replay_line(s, line, (size_t)n, why, sizeof why) == 0) {
            start = ftell(f);
            continue;
        }
        /* A bad line followed by nothing: an append torn by a crash, never acknowledged. */
        if (getline(&line, &cap, f) <= 0) {
            op_log(OP_LOG_WARNING, "%s:%zu: incomplete last line (%s): cut off", s->path, lineno,
                   why);
            if (truncate(s->path, start) != 0) {
                op_set_err(errstr, errstr_size, "truncate %s: %s", s->path, strerror(errno));
                rc = -1;
            }
        } else {
            op_set_err(errstr, errstr_size, "%s:%zu: %s", s->path, lineno, why);
            rc = -1;
        }
        break;
    }
    free(line);
    fclose(f);
    return rc;
}

struct sink_store *sink_store_open(const char *path, size_t max_keys, char *errstr,
                                   size_t errstr_size)
{
    struct sink_store *s = calloc(1, sizeof *s);
    if (!s) {
        op_set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    s->fd = -1;
    s->max_keys = max_keys ? max_keys : 1;
    s->rollups = op_map_new();
    s->keys = op_map_new();
    s->ring = calloc(s->max_keys, sizeof *s->ring);
    if (!s->rollups || !s->keys || !s->ring || (path && !(s->path = strdup(path)))) {
        op_set_err(errstr, errstr_size, "out of memory");
        goto fail;
    }
    if (path) {
        if (replay(s, errstr, errstr_size) != 0 || compact(s, errstr, errstr_size) != 0)
            goto fail;
        op_log(OP_LOG_INFO, "%s: %zu rollups, %zu idempotency keys", path, op_map_size(s->rollups),
               s->n_keys);
    }
    return s;
fail:
    sink_store_close(s);
    return NULL;
}

void sink_store_close(struct sink_store *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    op_map_destroy(s->rollups, free_entry);
    op_map_destroy(s->keys, free);
    if (s->ring)
        for (size_t i = 0; i < s->n_keys; i++)
            free(s->ring[(s->head + i) % s->max_keys]);
    free(s->ring);
    free(s->path);
    free(s);
}

/* ---- batches ---------------------------------------------------------------------------- */

struct pending {
    char key[SINK_KEY_MAX];
    int64_t rev;
    char *json;
};

enum sink_result sink_store_apply(struct sink_store *s, const char *idem_key, const char *body,
                                  size_t len, size_t *accepted, size_t *applied, char *errstr,
                                  size_t errstr_size)
{
    enum sink_result res = SINK_INVALID;
    json_t *doc = NULL;
    struct pending *pend = NULL;
    struct op_map *best = NULL; /* rollup key -> index + 1 of its highest revision */
    size_t n = 0, n_adv = 0;
    struct op_buf line = OP_BUF_INIT;
    json_error_t jerr;
    if (accepted)
        *accepted = 0;
    if (applied)
        *applied = 0;
    if (!idem_key || !idem_key[0] || strlen(idem_key) >= SINK_KEY_MAX) {
        op_set_err(errstr, errstr_size, "Idempotency-Key: missing or longer than %d bytes",
                   SINK_KEY_MAX - 1);
        s->stats.invalid++;
        return SINK_INVALID;
    }
    uint64_t digest = op_crc64(body, len);
    uint64_t *seen = op_map_get(s->keys, idem_key, strlen(idem_key));
    if (seen) {
        if (*seen == digest) {
            s->stats.duplicates++;
            return SINK_DUPLICATE;
        }
        op_set_err(errstr, errstr_size, "Idempotency-Key reused for a different body");
        s->stats.conflicts++;
        return SINK_CONFLICT;
    }
    doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        op_set_err(errstr, errstr_size, "body: %s", doc ? "not a JSON object" : jerr.text);
        goto cleanup;
    }
    static const char *const strs[] = {"batch_id", "endpoint", "generated_at", NULL};
    for (const char *const *f = strs; *f; f++)
        if (!json_is_string(json_object_get(doc, *f))) {
            op_set_err(errstr, errstr_size, "%s: missing or not a string", *f);
            goto cleanup;
        }
    json_t *rollups = json_object_get(doc, "rollups"), *r;
    if (!json_is_array(rollups)) {
        op_set_err(errstr, errstr_size, "rollups: missing or not an array");
        goto cleanup;
    }
    n = json_array_size(rollups);
    pend = calloc(n ? n : 1, sizeof *pend);
    if (!pend) {
        op_set_err(errstr, errstr_size, "out of memory");
        res = SINK_IOERR;
        goto cleanup;
    }
    size_t i;
    json_array_foreach(rollups, i, r)
    {
        char why[256];
        if (sink_validate_rollup(r, s->regions, pend[i].key, &pend[i].rev, why, sizeof why) != 0) {
            op_set_err(errstr, errstr_size, "rollups[%zu]: %s", i, why);
            goto cleanup;
        }
    }
    /* The rollups that raise a revision: per key the highest in the batch (the later one on
     * a tie), if it is above the stored one. */
    best = op_map_new();
    if (!best) {
        op_set_err(errstr, errstr_size, "out of memory");
        res = SINK_IOERR;
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        size_t kl = strlen(pend[i].key);
        uintptr_t prev = (uintptr_t)op_map_get(best, pend[i].key, kl);
        if ((!prev || pend[prev - 1].rev <= pend[i].rev) &&
            op_map_put(best, pend[i].key, kl, (void *)(uintptr_t)(i + 1), NULL) != 0) {
            op_set_err(errstr, errstr_size, "out of memory");
            res = SINK_IOERR;
            goto cleanup;
        }
    }
    /* The cap is checked before anything is written: a batch is stored whole or not at all. */
    if (s->max_rollups) {
        size_t n_new = 0;
        for (i = 0; i < n; i++) {
            size_t kl = strlen(pend[i].key);
            if ((uintptr_t)op_map_get(best, pend[i].key, kl) == i + 1 &&
                !op_map_get(s->rollups, pend[i].key, kl))
                n_new++;
        }
        if (n_new > 0 && op_map_size(s->rollups) + n_new > s->max_rollups) {
            op_set_err(errstr, errstr_size,
                       "the sink is full: %zu rollup keys stored, this batch adds %zu, the cap "
                       "is %zu (--max-rollups); nothing was stored",
                       op_map_size(s->rollups), n_new, s->max_rollups);
            s->stats.full++;
            res = SINK_FULL;
            goto cleanup;
        }
    }
    for (i = 0; i < n; i++) {
        size_t kl = strlen(pend[i].key);
        const struct rollup_entry *e = op_map_get(s->rollups, pend[i].key, kl);
        if ((uintptr_t)op_map_get(best, pend[i].key, kl) != i + 1 ||
            (e && e->revision >= pend[i].rev))
            continue;
        pend[i].json = json_dumps(json_array_get(rollups, i), JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!pend[i].json) {
            op_set_err(errstr, errstr_size, "out of memory");
            res = SINK_IOERR;
            goto cleanup;
        }
        n_adv++;
    }
    if (s->fd >= 0) {
        int bad = op_buf_append(&line, "{\"keys\":[", 9) ||
                  append_key_pair(&line, idem_key, digest) ||
                  op_buf_append(&line, "],\"rollups\":[", 13);
        size_t written = 0;
        for (i = 0; i < n && !bad; i++)
            if (pend[i].json)
                bad = (written++ && op_buf_append(&line, ",", 1)) ||
                      op_buf_append(&line, pend[i].json, strlen(pend[i].json));
        if (bad || op_buf_append(&line, "]}\n", 3)) {
            op_set_err(errstr, errstr_size, "out of memory");
            res = SINK_IOERR;
            goto cleanup;
        }
        if (write_all(s->fd, line.data, line.len) != 0 || fdatasync(s->fd) != 0) {
            op_set_err(errstr, errstr_size, "%s: %s", s->path, strerror(errno));
            /* Take back a partial line so the log stays replayable. */
            if (ftruncate(s->fd, (off_t)s->log_bytes) != 0)
                op_log(OP_LOG_ERR, "%s: cannot cut a partial write: %s", s->path, strerror(errno));
            res = SINK_IOERR;
            goto cleanup;
        }
        s->log_bytes += line.len;
    }
    for (i = 0; i < n; i++)
        if (pend[i].json) {
            if (put_rollup(s, pend[i].key, pend[i].rev, pend[i].json) < 0)
                op_log(OP_LOG_ERR, "out of memory keeping %s (it is in the log)", pend[i].key);
            pend[i].json = NULL;
        }
    if (remember_key(s, idem_key, digest) != 0)
        op_log(OP_LOG_ERR, "out of memory remembering an idempotency key (it is in the log)");
    s->stats.batches++;
    s->stats.rollups_received += n;
    s->stats.rollups_applied += n_adv;
    if (accepted)
        *accepted = n;
    if (applied)
        *applied = n_adv;
    res = SINK_ACCEPTED;
    if (s->fd >= 0 && s->log_bytes > 2 * s->compact_bytes + ((uint64_t)16 << 20)) {
        char why[512];
        if (compact(s, why, sizeof why) != 0)
            op_log(OP_LOG_WARNING, "compaction failed (the log keeps growing): %s", why);
    }
cleanup:
    if (res == SINK_INVALID)
        s->stats.invalid++;
    if (pend)
        for (size_t j = 0; j < n; j++)
            free(pend[j].json);
    free(pend);
    op_map_destroy(best, NULL);
    op_buf_free(&line);
    json_decref(doc);
    return res;
}

/* ---- reading ---------------------------------------------------------------------------- */

static int cmp_entry(const void *a, const void *b)
{
    const struct rollup_entry *x = *(const struct rollup_entry *const *)a;
    const struct rollup_entry *y = *(const struct rollup_entry *const *)b;
    return strcmp(x->key, y->key);
}

int sink_store_rollups_json(const struct sink_store *s, struct op_buf *out)
{
    size_t n = op_map_size(s->rollups), i = 0, pos = 0, kl;
    const struct rollup_entry **all = malloc((n ? n : 1) * sizeof *all);
    const char *k;
    void *v;
    int rc = -1;
    char head[64];
    if (!all)
        return -1;
    while (op_map_next(s->rollups, &pos, &k, &kl, &v))
        all[i++] = v;
    qsort(all, n, sizeof *all, cmp_entry);
    snprintf(head, sizeof head, "{\"count\":%zu,\"rollups\":[", n);
    if (op_buf_append(out, head, strlen(head)))
        goto cleanup;
    for (i = 0; i < n; i++)
        if ((i && op_buf_append(out, ",\n", 2)) || op_buf_append(out, all[i]->json, all[i]->len))
            goto cleanup;
    if (op_buf_append(out, "]}\n", 3))
        goto cleanup;
    rc = 0;
cleanup:
    free(all);
    return rc;
}

int sink_store_foreach(const struct sink_store *s,
                       int (*cb)(const char *key, const char *json, size_t len, void *opaque),
                       void *opaque)
{
    size_t pos = 0, kl;
    const char *k;
    void *v;
    while (op_map_next(s->rollups, &pos, &k, &kl, &v)) {
        const struct rollup_entry *e = v;
        int rc = cb(e->key, e->json, e->len, opaque);
        if (rc)
            return rc;
    }
    return 0;
}

void sink_store_set_limits(struct sink_store *s, const struct op_regions *regions,
                           size_t max_rollups)
{
    s->regions = regions;
    s->max_rollups = max_rollups;
}

size_t sink_store_count(const struct sink_store *s)
{
    return op_map_size(s->rollups);
}

size_t sink_store_keys(const struct sink_store *s)
{
    return s->n_keys;
}

const struct sink_stats *sink_store_stats(const struct sink_store *s)
{
    return &s->stats;
}
