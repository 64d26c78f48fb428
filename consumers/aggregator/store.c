/* LMDB under the aggregator's state: three databases (meta, rollups, seen) in one
 * environment, keys prefixed by the big-endian partition so each partition is one range. */
#include "err.h"
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "buf.h"
#include "event.h"

/* Bumped whenever keys or values change meaning: an older store is rebuilt, not misread. */
#define STORE_FORMAT "outreach-aggregator-store 1"

struct agg_store {
    MDB_env *env;
    MDB_dbi meta, rollups, seen;
    MDB_txn *read; /* reset between uses, renewed on demand */
    int read_live;
    /* Set (by the engine thread) while another thread owns the write transaction: reads then
     * use the read snapshot only and never look at `write`. */
    int write_elsewhere;
    char read_error[256]; /* the reads' errors, apart from the writer's */
    MDB_txn *write;
    size_t pending;
    struct op_buf buf;
    char **windows;
    size_t n_windows;
    char error[256];
};

static int fail(struct agg_store *st, const char *what, int rc)
{
    op_set_err(st->error, sizeof st->error, "%s: %s", what, mdb_strerror(rc));
    return -1;
}

void agg_fault(const char *point)
{
    static int counts[8];
    static const char *points[8];
    const char *want = getenv("OUTREACH_AGG_FAULT");
    size_t n = strlen(point);
    if (!want || strncmp(want, point, n) != 0 || (want[n] != 0 && want[n] != ':'))
        return;
    int at = want[n] == ':' ? atoi(want + n + 1) : 1, slot = 0;
    while (slot < 7 && points[slot] && points[slot] != point)
        slot++;
    points[slot] = point;
    if (++counts[slot] >= at) {
        fprintf(stderr, "outreach-aggregator: fault injected at %s (#%d): exiting\n", point,
                counts[slot]);
        _exit(86);
    }
}

/* ---- keys ------------------------------------------------------------------------------- */

static void be32(unsigned char *o, uint32_t v)
{
    o[0] = (unsigned char)(v >> 24), o[1] = (unsigned char)(v >> 16);
    o[2] = (unsigned char)(v >> 8), o[3] = (unsigned char)v;
}

static void be64(unsigned char *o, uint64_t v)
{
    be32(o, (uint32_t)(v >> 32));
    be32(o + 4, (uint32_t)v);
}

static MDB_val rollup_key(unsigned char k[12], int32_t p, uint64_t id)
{
    be32(k, (uint32_t)p);
    be64(k + 4, id);
    return (MDB_val){12, k};
}

static MDB_val seen_key(unsigned char k[4 + OP_EVENT_ID_MAX], int32_t p, const char *id, size_t n)
{
    be32(k, (uint32_t)p);
    memcpy(k + 4, id, n);
    return (MDB_val){4 + n, k};
}

static MDB_val text(const char *s)
{
    return (MDB_val){strlen(s), (void *)s};
}

/* ---- transactions ----------------------------------------------------------------------- */

/* The transaction to read from: the open write transaction, else the read snapshot. */
static int read_fail(struct agg_store *st, const char *what, int rc)
{
    op_set_err(st->read_error, sizeof st->read_error, "%s: %s", what, mdb_strerror(rc));
    return -1;
}

static MDB_txn *reader(struct agg_store *st)
{
    if (!st->write_elsewhere && st->write)
        return st->write;
    if (!st->read_live) {
        int rc = st->read ? mdb_txn_renew(st->read)
                          : mdb_txn_begin(st->env, NULL, MDB_RDONLY, &st->read);
        if (rc) {
            read_fail(st, "read transaction", rc);
            return NULL;
        }
        st->read_live = 1;
    }
    return st->read;
}

static void reader_done(struct agg_store *st)
{
    if (st->read_live) {
        mdb_txn_reset(st->read);
        st->read_live = 0;
    }
}

int agg_store_begin(struct agg_store *st)
{
    if (st->write)
        return 0;
    /* A held snapshot would keep freed pages from reuse; the engine's own, while this write
     * runs on another thread, is the engine's to reset (agg_store_write_elsewhere). */
    if (!st->write_elsewhere)
        reader_done(st);
    int rc = mdb_txn_begin(st->env, NULL, 0, &st->write);
    if (rc)
        return fail(st, "begin", rc);
    st->pending = 0;
    return 0;
}

int agg_store_commit(struct agg_store *st)
{
    if (!st->write)
        return 0;
    int rc = mdb_txn_commit(st->write);
    st->write = NULL;
    st->pending = 0;
    return rc ? fail(st, "commit", rc) : 0;
}

void agg_store_abort(struct agg_store *st)
{
    if (st->write)
        mdb_txn_abort(st->write);
    st->write = NULL;
    st->pending = 0;
}

size_t agg_store_pending(const struct agg_store *st)
{
    return st->pending;
}

static int put(struct agg_store *st, MDB_dbi dbi, MDB_val *k, MDB_val *v, const char *what)
{
    if (!st->write) {
        op_set_err(st->error, sizeof st->error, "%s: no write transaction", what);
        return -1;
    }
    int rc = mdb_put(st->write, dbi, k, v, 0);
    st->pending++;
    return rc ? fail(st, what, rc) : 0;
}

/* ---- open ------------------------------------------------------------------------------- */

static int meta_get(MDB_txn *t, MDB_dbi meta, const char *key, char *out, size_t out_size)
{
    MDB_val k = text(key), v;
    if (mdb_get(t, meta, &k, &v) != 0 || v.mv_size >= out_size)
        return -1;
    memcpy(out, v.mv_data, v.mv_size);
    out[v.mv_size] = 0;
    return 0;
}

static int load_windows(struct agg_store *st)
{
    for (size_t i = 0; i < st->n_windows; i++)
        free(st->windows[i]);
    free(st->windows);
    st->windows = NULL;
    st->n_windows = 0;
    MDB_txn *t = reader(st);
    MDB_cursor *c;
    if (!t || mdb_cursor_open(t, st->meta, &c) != 0)
        return -1;
    MDB_val k = text("w:"), v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE), bad = 0;
    for (; rc == 0 && k.mv_size == 7 && memcmp(k.mv_data, "w:", 2) == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        char num[6];
        memcpy(num, (char *)k.mv_data + 2, 5);
        num[5] = 0;
        size_t w = (size_t)strtoul(num, NULL, 10);
        if (w != st->n_windows) { /* numbers are dense: a gap means damage */
            bad = 1;
            break;
        }
        char **nw = realloc(st->windows, (w + 1) * sizeof *nw);
        if (!nw || !(nw[w] = strndup(v.mv_data, v.mv_size))) {
            if (nw)
                st->windows = nw;
            bad = 1;
            break;
        }
        st->windows = nw;
        st->n_windows++;
    }
    mdb_cursor_close(c);
    return bad ? -1 : 0;
}

/* Checks format and identity; writes them into an empty store. 0 when usable, 1 when not
 * (why in reason), -1 on an error. */
static int check_identity(struct agg_store *st, const struct agg_store_identity *id, char *reason,
                          size_t reason_size)
{
    MDB_txn *t;
    int rc = mdb_txn_begin(st->env, NULL, 0, &t);
    if (rc)
        return fail(st, "begin", rc);
    char parts[16], got[512];
    snprintf(parts, sizeof parts, "%d", id->partitions);
    const char *keys[] = {"format", "cluster.id", "rollups.topic", "seen.topic", "partitions"};
    const char *want[] = {STORE_FORMAT, id->cluster_id ? id->cluster_id : "", id->rollups_topic,
                          id->seen_topic, parts};
    if (meta_get(t, st->meta, "format", got, sizeof got) != 0) {
        MDB_stat s1, s2;
        if (mdb_stat(t, st->rollups, &s1) == 0 && mdb_stat(t, st->seen, &s2) == 0 &&
            s1.ms_entries + s2.ms_entries > 0) {
            mdb_txn_abort(t);
            op_set_err(reason, reason_size, "the store has data but no format record");
            return 1;
        }
        for (size_t i = 0; i < 5; i++) {
            MDB_val k = text(keys[i]), v = text(want[i]);
            if ((rc = mdb_put(t, st->meta, &k, &v, 0)) != 0) {
                mdb_txn_abort(t);
                return fail(st, "write identity", rc);
            }
        }
        rc = mdb_txn_commit(t);
        return rc ? fail(st, "commit identity", rc) : 0;
    }
    for (size_t i = 0; i < 5; i++)
        if (meta_get(t, st->meta, keys[i], got, sizeof got) != 0 || strcmp(got, want[i]) != 0) {
            op_set_err(reason, reason_size, "the store's %s is \"%s\", this run's is \"%s\"",
                       keys[i], got, want[i]);
            mdb_txn_abort(t);
            return 1;
        }
    mdb_txn_abort(t);
    return 0;
}

static int path_of(char *out, size_t size, const char *dir, const char *file)
{
    int n = snprintf(out, size, "%s/%s", dir, file);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

void agg_store_remove(const char *dir)
{
    char p[4096];
    if (path_of(p, sizeof p, dir, "data.mdb") == 0)
        unlink(p);
    if (path_of(p, sizeof p, dir, "lock.mdb") == 0)
        unlink(p);
}

/* 0 opened, 1 the file is not a usable LMDB store (why in reason), -1 error. */
static int try_open(struct agg_store *st, const char *dir, size_t map_mb, char *reason,
                    size_t reason_size, char *errstr, size_t errstr_size)
{
    char file[4096];
    struct stat sb;
    int rc = mdb_env_create(&st->env);
    if (rc) {
        op_set_err(errstr, errstr_size, "lmdb: %s", mdb_strerror(rc));
        return -1;
    }
    mdb_env_set_maxdbs(st->env, 4);
    mdb_env_set_mapsize(st->env, map_mb << 20);
    /* NOMETASYNC: data pages are synced at commit, the meta page with the next commit; after
     * a power cut the store may be one commit behind, which the changelog tail repairs.
     * NORDAHEAD: lookups are random; read-ahead would only fill the page cache. */
    rc = mdb_env_open(st->env, dir, MDB_NOMETASYNC | MDB_NORDAHEAD, 0600);
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED) {
        op_set_err(reason, reason_size, "unreadable (%s)", mdb_strerror(rc));
        return 1;
    }
    if (rc) {
        op_set_err(errstr, errstr_size, "lmdb: open %s: %s", dir, mdb_strerror(rc));
        return -1;
    }
    /* Reader slots of a killed incarnation would keep LMDB from reusing freed pages. */
    int dead = 0;
    mdb_reader_check(st->env, &dead);
    /* A truncated file would fault (SIGBUS) on the first page past its end: check that every
     * page the last commit used is there before reading any. */
    MDB_envinfo info;
    MDB_stat est;
    if (path_of(file, sizeof file, dir, "data.mdb") != 0 || stat(file, &sb) != 0 ||
        mdb_env_info(st->env, &info) != 0 || mdb_env_stat(st->env, &est) != 0) {
        op_set_err(errstr, errstr_size, "lmdb: stat %s: %s", dir, strerror(errno));
        return -1;
    }
    if ((uint64_t)sb.st_size < ((uint64_t)info.me_last_pgno + 1) * est.ms_psize) {
        op_set_err(reason, reason_size, "truncated (%lld bytes, its last commit needs %" PRIu64 ")",
                   (long long)sb.st_size, ((uint64_t)info.me_last_pgno + 1) * est.ms_psize);
        return 1;
    }
    MDB_txn *t;
    if ((rc = mdb_txn_begin(st->env, NULL, 0, &t)) != 0) {
        op_set_err(errstr, errstr_size, "lmdb: begin: %s", mdb_strerror(rc));
        return -1;
    }
    if ((rc = mdb_dbi_open(t, "meta", MDB_CREATE, &st->meta)) ||
        (rc = mdb_dbi_open(t, "rollups", MDB_CREATE, &st->rollups)) ||
        (rc = mdb_dbi_open(t, "seen", MDB_CREATE, &st->seen))) {
        mdb_txn_abort(t);
        op_set_err(reason, reason_size, "unreadable databases (%s)", mdb_strerror(rc));
        return 1;
    }
    if ((rc = mdb_txn_commit(t)) != 0) { /* the commit frees t either way */
        op_set_err(reason, reason_size, "unreadable databases (%s)", mdb_strerror(rc));
        return 1;
    }
    return 0;
}

static void close_env(struct agg_store *st)
{
    agg_store_abort(st);
    if (st->read)
        mdb_txn_abort(st->read);
    st->read = NULL;
    st->read_live = 0;
    if (st->env)
        mdb_env_close(st->env);
    st->env = NULL;
}

struct agg_store *agg_store_open(const char *dir, size_t map_mb,
                                 const struct agg_store_identity *id, char *reason,
                                 size_t reason_size, char *errstr, size_t errstr_size)
{
    *reason = 0;
    if (errstr_size)
        *errstr = 0;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        op_set_err(errstr, errstr_size, "state.dir %s: %s", dir, strerror(errno));
        return NULL;
    }
    struct agg_store *st = calloc(1, sizeof *st);
    if (!st) {
        op_set_err(errstr, errstr_size, "out of memory");
        return NULL;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        char why[400] = "";
        int rc = try_open(st, dir, map_mb, why, sizeof why, errstr, errstr_size);
        if (rc == 0) {
            rc = check_identity(st, id, why, sizeof why);
            if (rc < 0) {
                op_set_err(errstr, errstr_size, "store %s: %s", dir, st->error);
                break;
            }
        }
        if (rc < 0)
            break;
        if (rc == 0 && load_windows(st) != 0) {
            op_set_err(why, sizeof why, "damaged window table");
            rc = 1;
        }
        if (rc == 0) {
            reader_done(st);
            return st;
        }
        /* Untrusted: start from nothing; the topics have everything. */
        op_set_err(reason, reason_size, "%s", why);
        close_env(st);
        agg_store_remove(dir);
    }
    if (!*errstr)
        op_set_err(errstr, errstr_size, "store %s: still unusable after recreating it", dir);
    agg_store_close(st);
    return NULL;
}

void agg_store_close(struct agg_store *st)
{
    if (!st)
        return;
    close_env(st);
    for (size_t i = 0; i < st->n_windows; i++)
        free(st->windows[i]);
    free(st->windows);
    op_buf_free(&st->buf);
    free(st);
}

const char *agg_store_error(const struct agg_store *st)
{
    return st->read_error[0] ? st->read_error : st->error;
}

/* ---- partitions ------------------------------------------------------------------------- */

static void partition_key(char out[16], int32_t p)
{
    snprintf(out, 16, "p:%" PRId32, p);
}

int agg_store_partition(struct agg_store *st, int32_t p, int64_t *rollups_next, int64_t *seen_next)
{
    char key[16];
    partition_key(key, p);
    MDB_txn *t = reader(st);
    if (!t)
        return -1;
    MDB_val k = text(key), v;
    int rc = mdb_get(t, st->meta, &k, &v), found = 0;
    if (rc == 0 && v.mv_size == 16) {
        memcpy(rollups_next, v.mv_data, 8);
        memcpy(seen_next, (char *)v.mv_data + 8, 8);
        found = 1;
    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        fail(st, "read partition", rc);
        found = -1;
    }
    if (!st->write)
        reader_done(st);
    return found;
}

int agg_store_set_partition(struct agg_store *st, int32_t p, int64_t rollups_next,
                            int64_t seen_next)
{
    char key[16];
    unsigned char val[16];
    partition_key(key, p);
    memcpy(val, &rollups_next, 8);
    memcpy(val + 8, &seen_next, 8);
    MDB_val k = text(key), v = {16, val};
    return put(st, st->meta, &k, &v, "write partition offsets");
}

static int delete_range(struct agg_store *st, MDB_dbi dbi, int32_t p)
{
    MDB_cursor *c;
    unsigned char prefix[4];
    be32(prefix, (uint32_t)p);
    int rc = mdb_cursor_open(st->write, dbi, &c);
    if (rc)
        return fail(st, "cursor", rc);
    MDB_val k = {4, prefix}, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
         rc == 0 && k.mv_size >= 4 && memcmp(k.mv_data, prefix, 4) == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        if ((rc = mdb_cursor_del(c, 0)) != 0)
            break;
    mdb_cursor_close(c);
    return rc && rc != MDB_NOTFOUND ? fail(st, "delete partition", rc) : 0;
}

int agg_store_reset_partition(struct agg_store *st, int32_t p, int wipe)
{
    char key[16];
    partition_key(key, p);
    if (!st->write && agg_store_begin(st) != 0)
        return -1;
    MDB_val k = text(key);
    int rc = mdb_del(st->write, st->meta, &k, NULL);
    if (rc && rc != MDB_NOTFOUND)
        return fail(st, "forget partition", rc);
    if (wipe && (delete_range(st, st->rollups, p) != 0 || delete_range(st, st->seen, p) != 0))
        return -1;
    return 0;
}

/* ---- windows ---------------------------------------------------------------------------- */

int agg_store_windows(struct agg_store *st, char ***names, size_t *n)
{
    *names = st->windows;
    *n = st->n_windows;
    return 0;
}

int agg_store_put_window(struct agg_store *st, uint16_t window, const char *name)
{
    char key[8];
    snprintf(key, sizeof key, "w:%05u", (unsigned)window);
    MDB_val k = text(key), v = text(name);
    return put(st, st->meta, &k, &v, "write window name");
}

int64_t agg_store_forgotten_before(struct agg_store *st)
{
    char v[32];
    MDB_txn *t = reader(st);
    int64_t ms = 0;
    if (t && meta_get(t, st->meta, "forgotten.before", v, sizeof v) == 0)
        ms = strtoll(v, NULL, 10);
    if (t && (st->write_elsewhere || !st->write))
        reader_done(st);
    return ms;
}

int agg_store_put_forgotten_before(struct agg_store *st, int64_t ms)
{
    char v[32];
    snprintf(v, sizeof v, "%" PRId64, ms);
    MDB_val k = text("forgotten.before"), val = text(v);
    return put(st, st->meta, &k, &val, "write forgotten.before");
}

/* ---- rollups and seen ids --------------------------------------------------------------- */

int agg_store_get_rollup(struct agg_store *st, int32_t p, uint64_t id, struct agg_rollup *out)
{
    unsigned char kb[12];
    MDB_val k = rollup_key(kb, p, id), v;
    MDB_txn *t = reader(st);
    if (!t)
        return -1;
    int rc = mdb_get(t, st->rollups, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return read_fail(st, "read rollup", rc);
    if (agg_rollup_decode(out, v.mv_data, v.mv_size) != 0) {
        op_set_err(st->read_error, sizeof st->read_error,
                   "rollup %016" PRIx64 " of partition %" PRId32
                   ": malformed value (damaged store)",
                   id, p);
        return -1;
    }
    out->id = id;
    return 1;
}

int agg_store_get_seen(struct agg_store *st, int32_t p, const char *event_id, size_t n,
                       struct op_buf *info)
{
    unsigned char kb[4 + OP_EVENT_ID_MAX];
    if (n > OP_EVENT_ID_MAX)
        return 0;
    MDB_val k = seen_key(kb, p, event_id, n), v;
    MDB_txn *t = reader(st);
    if (!t)
        return -1;
    int rc = mdb_get(t, st->seen, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return read_fail(st, "read seen id", rc);
    if (v.mv_size < 8) {
        op_set_err(st->read_error, sizeof st->read_error,
                   "seen id of partition %" PRId32 ": malformed value (damaged store)", p);
        return -1;
    }
    if (info && op_buf_append(info, (const char *)v.mv_data + 8, v.mv_size - 8) != 0) {
        op_set_err(st->read_error, sizeof st->read_error, "out of memory");
        return -1;
    }
    return 1;
}

int agg_store_has_seen(struct agg_store *st, int32_t p, const char *event_id, size_t n)
{
    return agg_store_get_seen(st, p, event_id, n, NULL);
}

int agg_store_put_rollup(struct agg_store *st, int32_t p, const struct agg_rollup *r)
{
    unsigned char kb[12];
    MDB_val k = rollup_key(kb, p, r->id);
    st->buf.len = 0;
    if (agg_rollup_encode(r, &st->buf) != 0) {
        op_set_err(st->error, sizeof st->error, "out of memory");
        return -1;
    }
    MDB_val v = {st->buf.len, st->buf.data};
    return put(st, st->rollups, &k, &v, "write rollup");
}

int agg_store_put_encoded(struct agg_store *st, int32_t p, uint64_t id, const void *data,
                          size_t len)
{
    unsigned char kb[12];
    MDB_val k = rollup_key(kb, p, id), v = {len, (void *)data};
    return put(st, st->rollups, &k, &v, "write rollup");
}

int agg_store_put_seen(struct agg_store *st, int32_t p, const char *event_id, size_t n, int64_t ms,
                       const void *info, size_t len)
{
    unsigned char kb[4 + OP_EVENT_ID_MAX];
    if (n == 0 || n > OP_EVENT_ID_MAX) {
        op_set_err(st->error, sizeof st->error, "event id of %zu bytes", n);
        return -1;
    }
    st->buf.len = 0;
    if (op_buf_append(&st->buf, &ms, sizeof ms) != 0 ||
        (len && op_buf_append(&st->buf, info, len) != 0)) {
        op_set_err(st->error, sizeof st->error, "out of memory");
        return -1;
    }
    MDB_val k = seen_key(kb, p, event_id, n), v = {st->buf.len, st->buf.data};
    return put(st, st->seen, &k, &v, "write seen id");
}

static int get_backed_rollup(void *opaque, int32_t p, uint64_t id, struct agg_rollup *out)
{
    return agg_store_get_rollup(opaque, p, id, out);
}

static int get_backed_seen(void *opaque, int32_t p, const char *event_id, size_t n,
                           struct op_buf *info)
{
    return agg_store_get_seen(opaque, p, event_id, n, info);
}

struct agg_backing agg_store_backing(struct agg_store *st)
{
    return (struct agg_backing){get_backed_rollup, get_backed_seen, st};
}

long agg_store_prune_seen(struct agg_store *st, int64_t cutoff_ms)
{
    if (agg_store_begin(st) != 0)
        return -1;
    MDB_cursor *c;
    int rc = mdb_cursor_open(st->write, st->seen, &c);
    if (rc) {
        agg_store_abort(st);
        return fail(st, "cursor", rc);
    }
    long removed = 0;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        int64_t ms;
        if (v.mv_size < sizeof ms)
            continue;
        memcpy(&ms, v.mv_data, sizeof ms);
        if (ms < cutoff_ms) {
            if ((rc = mdb_cursor_del(c, 0)) != 0)
                break;
            removed++;
        }
    }
    mdb_cursor_close(c);
    if (rc && rc != MDB_NOTFOUND) {
        agg_store_abort(st);
        return fail(st, "prune", rc);
    }
    /* What was removed is forgotten: a correction of it can no longer be applied. */
    if (removed > 0 && cutoff_ms > agg_store_forgotten_before(st) &&
        agg_store_put_forgotten_before(st, cutoff_ms) != 0) {
        agg_store_abort(st);
        return -1;
    }
    return agg_store_commit(st) == 0 ? removed : -1;
}

uint64_t agg_store_bytes(struct agg_store *st)
{
    MDB_envinfo info;
    MDB_stat est;
    if (mdb_env_info(st->env, &info) != 0 || mdb_env_stat(st->env, &est) != 0)
        return 0;
    return ((uint64_t)info.me_last_pgno + 1) * est.ms_psize;
}

void agg_store_counts(struct agg_store *st, uint64_t *rollups, uint64_t *seen)
{
    MDB_stat s;
    MDB_txn *t = reader(st);
    *rollups = *seen = 0;
    if (!t)
        return;
    if (mdb_stat(t, st->rollups, &s) == 0)
        *rollups = s.ms_entries;
    if (mdb_stat(t, st->seen, &s) == 0)
        *seen = s.ms_entries;
    if (st->write_elsewhere || !st->write)
        reader_done(st);
}

void agg_store_write_elsewhere(struct agg_store *st, int on)
{
    reader_done(st); /* after a write elsewhere: the next read sees it */
    st->write_elsewhere = on;
}
