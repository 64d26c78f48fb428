/* The spool daemon: files dropped into DIR/incoming are claimed by a rename into processing/,
 * published, and moved to done/ or failed/ only after every delivery report is in. A crash
 * leaves the file in processing/, and the next start publishes it again: derived ids repeat. */
#include "producer.h"
#include "clock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "health.h"
#include "log.h"
#include "service.h"
#include "map.h"
#include "receipt.h"

struct spool {
    struct producer *p;
    volatile sig_atomic_t *run;
    char *incoming, *processing, *done, *failed;
    int ifd, lockfd;
    struct op_map *closed; /* names inotify saw closed or moved in: complete files */
    int64_t rescan_ms, settle_ms, retry_max_ms;
    int receipts;                 /* spool.receipts: NAME.receipt beside each filed file */
    int64_t backoff_ms, retry_at; /* a file in processing/ waits for a retry */
    /* Counters: written by the spool thread under lock, read by the HTTP thread. */
    pthread_mutex_t lock;
    struct producer_counts total;
    uint64_t files_done, files_failed;
    int64_t last_done_ms; /* Unix ms when a file last reached done/, 0: none since start */
    int ready;
    struct op_service *service; /* health endpoint, sd_notify, watchdog */
};

enum outcome { OUT_DONE, OUT_RETRY, OUT_STOP };

static void count_file(struct spool *s, const struct producer_counts *n, int done, int failed)
{
    pthread_mutex_lock(&s->lock);
    s->total.read += n->read;
    s->total.published += n->published;
    s->total.rejected += n->rejected;
    s->total.failed += n->failed;
    s->files_done += (uint64_t)done;
    s->files_failed += (uint64_t)failed;
    if (done)
        s->last_done_ms = op_clock_wall_ms();
    pthread_mutex_unlock(&s->lock);
}

static int ready_cb(void *opaque, char *why, size_t why_size)
{
    struct spool *s = opaque;
    pthread_mutex_lock(&s->lock);
    int ready = s->ready;
    pthread_mutex_unlock(&s->lock);
    if (!ready)
        snprintf(why, why_size, "not ready: spool directory not set up or stopping");
    return ready;
}

static int ignored(const char *name);

/* Entries of dir that the spool would list (no dot files: temporaries and hidden). */
static uint64_t count_files(const char *dir)
{
    uint64_t n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (!ignored(de->d_name))
            n++;
    closedir(d);
    return n;
}

static void metrics_cb(void *opaque, struct op_buf *out)
{
    struct spool *s = opaque;
    pthread_mutex_lock(&s->lock);
    struct producer_counts t = s->total;
    uint64_t done = s->files_done, failed = s->files_failed;
    int64_t last_done_ms = s->last_done_ms;
    int ready = s->ready;
    pthread_mutex_unlock(&s->lock);
    const struct {
        const char *name, *help;
        uint64_t v;
    } counters[] = {
        {"outreach_producer_events_read_total", "records read from input files", t.read},
        {"outreach_producer_events_published_total", "events acknowledged by the brokers",
         t.published},
        {"outreach_producer_events_rejected_total", "records that failed validation", t.rejected},
        {"outreach_producer_events_failed_total",
         "deliveries that failed (the file is published again later)", t.failed},
    };
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
        op_prom_header(out, counters[i].name, "counter", counters[i].help);
        op_prom_sample_u64(out, counters[i].name, NULL, counters[i].v);
    }
    op_prom_header(out, "outreach_producer_files_total", "counter",
                   "spool files finished, by where they went");
    op_prom_sample_u64(out, "outreach_producer_files_total", "result=\"done\"", done);
    op_prom_sample_u64(out, "outreach_producer_files_total", "result=\"failed\"", failed);
    /* Counted at each scrape (the directories are the queue: nothing to keep in sync). */
    op_prom_header(out, "outreach_producer_spool_files", "gauge",
                   "files waiting in incoming/ and being published from processing/");
    op_prom_sample_u64(out, "outreach_producer_spool_files", "dir=\"incoming\"",
                       count_files(s->incoming));
    op_prom_sample_u64(out, "outreach_producer_spool_files", "dir=\"processing\"",
                       count_files(s->processing));
    op_prom_header(out, "outreach_producer_queue_messages", "gauge",
                   "messages produced and not yet acknowledged by the brokers");
    int q = producer_queue_len(s->p);
    op_prom_sample_u64(out, "outreach_producer_queue_messages", NULL, (uint64_t)(q > 0 ? q : 0));
    op_prom_header(out, "outreach_producer_last_success_timestamp_seconds", "gauge",
                   "Unix time when a spool file last reached done/ (0: none since start)");
    op_prom_sample(out, "outreach_producer_last_success_timestamp_seconds", NULL,
                   (double)last_done_ms / 1000.0);
    op_prom_header(out, "outreach_producer_ready", "gauge", "1 when /readyz answers 200");
    op_prom_sample_u64(out, "outreach_producer_ready", NULL, (uint64_t)ready);
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", a, b);
    return s;
}

/* dir/PREFIX NAME SUFFIX */
static char *joinf(const char *dir, const char *prefix, const char *name, const char *suffix)
{
    size_t n = strlen(dir) + strlen(prefix) + strlen(name) + strlen(suffix) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s%s%s", dir, prefix, name, suffix);
    return s;
}

/* Temporary files, and files still being written under a conventional name. */
static int ignored(const char *name)
{
    size_t n = strlen(name);
    return name[0] == '.' || (n >= 4 && !strcmp(name + n - 4, ".tmp")) ||
           (n >= 5 && !strcmp(name + n - 5, ".part"));
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0775) == 0 || errno == EEXIST)
        return 0;
    op_log(OP_LOG_ERR, "mkdir %s: %s", path, strerror(errno));
    return -1;
}

/* One daemon per spool directory: a second one would publish the same files. */
static int take_lock(struct spool *s, const char *dir)
{
    char *path = join(dir, ".lock");
    if (!path)
        return -1;
    s->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0664);
    if (s->lockfd < 0) {
        op_log(OP_LOG_ERR, "%s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(s->lockfd, F_SETLK, &fl) != 0) {
        struct flock who = fl;
        long pid = fcntl(s->lockfd, F_GETLK, &who) == 0 ? (long)who.l_pid : -1;
        op_log(OP_LOG_ERR, "%s is spooled by another outreach-producer (pid %ld)", dir, pid);
        free(path);
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(s->lockfd, 0) != 0 || write(s->lockfd, pid, (size_t)n) != n)
        op_log(OP_LOG_WARNING, "%s: %s", path, strerror(errno));
    free(path);
    return 0;
}

struct entry {
    char *name;
    int64_t mtime_ms;
};

static int cmp_entry(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->mtime_ms != y->mtime_ms)
        return x->mtime_ms < y->mtime_ms ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void free_entries(struct entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].name);
    free(e);
}

/* Not ignored entries of dir, whatever their type, oldest first (by_name: in name order). */
static int list_dir(const char *dir, int by_name, struct entry **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) {
        op_log(OP_LOG_ERR, "%s: %s", dir, strerror(errno));
        return -1;
    }
    size_t n = 0, cap = 0;
    struct entry *e = NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (ignored(de->d_name))
            continue;
        char *path = join(dir, de->d_name);
        struct stat st;
        /* lstat: a symbolic link, FIFO, directory or device is listed too, as itself, so that
         * it is claimed and filed under failed/ with a reason (producer_input_open_regular
         * refuses to read it) instead of lying in incoming/ or being followed. */
        if (!path || lstat(path, &st) != 0) {
            free(path);
            continue;
        }
        free(path);
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct entry *ne = realloc(e, cap * sizeof *e);
            if (!ne)
                break;
            e = ne;
        }
        e[n].name = strdup(de->d_name);
        if (!e[n].name)
            break;
        e[n].mtime_ms =
            by_name ? 0 : (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        n++;
    }
    closedir(d);
    if (n)
        qsort(e, n, sizeof *e, cmp_entry);
    *out = e;
    *count = n;
    return 0;
}

/* Whether path names anything, a dangling symbolic link included (access() follows links). */
static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 || errno != ENOENT;
}

/* A name in dir that is not taken yet: NAME, then NAME.1, NAME.2, ... (with its reports). */
static char *unique_name(const char *dir, const char *name)
{
    char cand[4200];
    if (strlen(name) > 4096)
        return NULL;
    for (int i = 0; i < 100000; i++) {
        if (i == 0)
            snprintf(cand, sizeof cand, "%s", name);
        else
            snprintf(cand, sizeof cand, "%s.%d", name, i);
        char *a = join(dir, cand), *b = joinf(dir, "", cand, ".errors");
        char *c = joinf(dir, "", cand, ".receipt");
        int taken = !a || !b || !c || exists(a) || exists(b) || exists(c);
        free(a);
        free(b);
        free(c);
        if (!taken)
            return strdup(cand);
    }
    return NULL;
}

static int move(const char *from, const char *to)
{
    if (rename(from, to) == 0)
        return 0;
    op_log(OP_LOG_ERR, "rename %s -> %s: %s", from, to, strerror(errno));
    return -1;
}

/* Publishes processing/NAME and files it under done/ or failed/, or leaves it for a retry. */
static enum outcome publish_one(struct spool *s, const char *name)
{
    enum outcome out = OUT_STOP;
    struct producer_file f;
    memset(&f, 0, sizeof f);
    char *path = join(s->processing, name);
    char *errors = joinf(s->processing, ".", name, ".errors.tmp");
    char *rejects = joinf(s->processing, ".", name, ".rejects.tmp");
    char *rtmp = joinf(s->processing, ".", name, ".receipt.tmp");
    char *dest = NULL, *dpath = NULL, *derr = NULL, *drej = NULL, *drec = NULL;
    struct producer_receipt *receipt = NULL;
    if (!path || !errors || !rejects || !rtmp)
        goto cleanup;
    unlink(errors);
    unlink(rejects);
    if (s->receipts) {
        char err[512];
        receipt = producer_receipt_new(rtmp, err, sizeof err);
        if (!receipt) /* the events still go out: a receipt is a convenience, not the data */
            op_log(OP_LOG_ERR, "%s: no receipt: %s", name, err);
    }
    op_log(OP_LOG_INFO, "%s: publishing", name);
    int64_t t0 = op_clock_mono_ms();
    struct producer_sink sink = {rejects, errors, 0, receipt};
    producer_publish(s->p, path, name, &sink, &f, s->run);
    op_service_ping();
    if (f.interrupted) {
        count_file(s, &f.n, 0, 0);
        op_log(OP_LOG_NOTICE,
               "%s: stopped after %" PRIu64 " records; left in processing/ to "
               "be published again",
               name, f.n.read);
        unlink(errors);
        unlink(rejects);
        goto cleanup;
    }
    if (f.n.failed > f.failed_permanent) {
        s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : 1000;
        if (s->backoff_ms > s->retry_max_ms)
            s->backoff_ms = s->retry_max_ms;
        s->retry_at = op_clock_mono_ms() + s->backoff_ms;
        op_log(OP_LOG_WARNING,
               "%s: %" PRIu64 " of %" PRIu64 " deliveries failed (%s): publishing it again in "
               "%" PRId64 " s",
               name, f.n.failed, f.n.failed + f.n.published, f.first_failure, s->backoff_ms / 1000);
        unlink(errors);
        unlink(rejects);
        count_file(s, &f.n, 0, 0);
        out = OUT_RETRY;
        goto cleanup;
    }
    s->backoff_ms = 0;
    int bad = f.open_error || f.header_error || f.failed_permanent > 0 ||
              (f.n.published == 0 && f.n.rejected > 0);
    const char *ddir = bad ? s->failed : s->done;
    dest = unique_name(ddir, name);
    dpath = dest ? join(ddir, dest) : NULL;
    derr = dest ? joinf(ddir, "", dest, ".errors") : NULL;
    drej = dest ? joinf(ddir, "", dest, ".rejects") : NULL;
    drec = dest ? joinf(ddir, "", dest, ".receipt") : NULL;
    if (!dpath || !derr || !drej || !drec)
        goto cleanup;
    if (f.reported > 0) {
        FILE *fp = fopen(errors, "a");
        if (fp) {
            char prefix[4200];
            snprintf(prefix, sizeof prefix, "%s: ", name);
            producer_print_counts(fp, prefix, &f.n, 0);
            fclose(fp);
        }
        if (move(errors, derr) != 0)
            goto cleanup;
    }
    if (access(rejects, F_OK) == 0 && move(rejects, drej) != 0)
        goto cleanup;
    if (receipt && f.n.published > 0) {
        char err[512];
        if (producer_receipt_commit(receipt, drec, err, sizeof err) != 0)
            op_log(OP_LOG_ERR, "%s: no receipt: %s", name, err);
    }
    /* Last: once the file leaves processing/, nothing of it is published again. */
    if (move(path, dpath) != 0) {
        count_file(s, &f.n, 0, 0);
        goto cleanup;
    }
    count_file(s, &f.n, !bad, bad);
    op_log(bad || f.n.rejected ? OP_LOG_WARNING : OP_LOG_NOTICE,
           "%s -> %s/%s: read %" PRIu64 ", published %" PRIu64 ", rejected %" PRIu64
           ", failed %" PRIu64 " in %.1f s",
           name, bad ? "failed" : "done", dest, f.n.read, f.n.published, f.n.rejected, f.n.failed,
           (double)(op_clock_mono_ms() - t0) / 1000.0);
    out = OUT_DONE;
cleanup:
    if (out == OUT_STOP && !f.interrupted && !producer_fatal(s->p) && path)
        op_log(OP_LOG_ERR, "%s: could not be filed: it stays in processing/", name);
    free(path);
    free(errors);
    free(rejects);
    producer_receipt_destroy(receipt); /* removes the temporary file unless it was filed */
    free(rtmp);
    free(dest);
    free(dpath);
    free(derr);
    free(drej);
    free(drec);
    return out;
}

/* Files left in processing/ by a crash, a stop or a failed delivery, in name order. */
static enum outcome do_processing(struct spool *s)
{
    struct entry *e;
    size_t n;
    if (list_dir(s->processing, 1, &e, &n) != 0)
        return OUT_STOP;
    enum outcome out = OUT_DONE;
    for (size_t i = 0; i < n && out == OUT_DONE; i++) {
        if (!*s->run)
            out = OUT_STOP;
        else
            out = publish_one(s, e[i].name);
    }
    free_entries(e, n);
    return out;
}

/* Claims and publishes every complete file of incoming/. *wait_ms is lowered to when a file
 * that was not settled yet should be looked at again. */
static enum outcome do_incoming(struct spool *s, int64_t *wait_ms)
{
    struct entry *e;
    size_t n;
    if (list_dir(s->incoming, 0, &e, &n) != 0)
        return OUT_STOP;
    enum outcome out = OUT_DONE;
    int64_t now = op_clock_wall_ms();
    for (size_t i = 0; i < n && out == OUT_DONE; i++) {
        if (!*s->run || producer_fatal(s->p)) {
            out = OUT_STOP;
            break;
        }
        const char *name = e[i].name;
        size_t len = strlen(name);
        int complete = op_map_get(s->closed, name, len) != NULL;
        int64_t age = now - e[i].mtime_ms;
        if (!complete && age < s->settle_ms) {
            if (s->settle_ms - age < *wait_ms)
                *wait_ms = s->settle_ms - age;
            continue;
        }
        op_map_remove(s->closed, name, len);
        char *from = join(s->incoming, name), *to = join(s->processing, name);
        int moved = from && to && !exists(to) && move(from, to) == 0;
        free(from);
        free(to);
        if (moved)
            out = publish_one(s, name);
    }
    free_entries(e, n);
    return out;
}

/* Reads inotify events; returns 1 if incoming/ should be listed again. */
static int read_events(struct spool *s)
{
    _Alignas(struct inotify_event) char buf[16384];
    int dirty = 0;
    for (;;) {
        ssize_t r = read(s->ifd, buf, sizeof buf);
        if (r <= 0)
            break;
        for (char *q = buf; q < buf + r;) {
            struct inotify_event *ev = (struct inotify_event *)(void *)q;
            if (ev->mask & IN_Q_OVERFLOW)
                dirty = 1;
            else if (ev->len && !ignored(ev->name)) {
                op_map_put(s->closed, ev->name, strlen(ev->name), (void *)1, NULL);
                dirty = 1;
            }
            q += sizeof *ev + ev->len;
        }
    }
    /* Names of files that went away without being claimed must not pile up. */
    if (op_map_size(s->closed) > 100000) {
        op_map_destroy(s->closed, NULL);
        s->closed = op_map_new();
    }
    return dirty;
}

/* The topic must exist before files are claimed; a broker that is down is waited for. */
static int wait_for_topic(struct spool *s)
{
    char err[512];
    int64_t delay = 1000;
    while (*s->run) {
        if (producer_ensure_topic(s->p, 10000, err, sizeof err) == 0)
            return 0;
        op_log(OP_LOG_WARNING, "%s: retrying in %" PRId64 " s", err, delay / 1000);
        for (int64_t until = op_clock_mono_ms() + delay; *s->run && op_clock_mono_ms() < until;) {
            producer_poll(s->p, 100);
            op_service_ping();
        }
        delay = delay * 2 > 30000 ? 30000 : delay * 2;
    }
    return -1;
}

static void clean_temp(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (de->d_name[0] == '.' && n > 4 && !strcmp(de->d_name + n - 4, ".tmp")) {
            char *p = join(dir, de->d_name);
            if (p)
                unlink(p);
            free(p);
        }
    }
    closedir(d);
}

int producer_spool_run(struct producer *p, const char *dir, volatile sig_atomic_t *run)
{
    struct spool s;
    memset(&s, 0, sizeof s);
    s.p = p;
    s.run = run;
    s.ifd = -1;
    s.lockfd = -1;
    pthread_mutex_init(&s.lock, NULL);
    const struct producer_settings *set = producer_settings(p);
    s.rescan_ms = set->spool_rescan_ms;
    s.settle_ms = set->spool_settle_ms;
    s.retry_max_ms = set->spool_retry_max_ms;
    s.receipts = set->spool_receipts;
    int rc = 2;
    s.incoming = join(dir, "incoming");
    s.processing = join(dir, "processing");
    s.done = join(dir, "done");
    s.failed = join(dir, "failed");
    s.closed = op_map_new();
    if (!s.incoming || !s.processing || !s.done || !s.failed || !s.closed)
        goto cleanup;
    if (make_dir(dir) || make_dir(s.incoming) || make_dir(s.processing) || make_dir(s.done) ||
        make_dir(s.failed) || take_lock(&s, dir))
        goto cleanup;
    clean_temp(s.processing);
    s.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (s.ifd < 0 || inotify_add_watch(s.ifd, s.incoming, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
        op_log(OP_LOG_ERR, "inotify on %s: %s", s.incoming, strerror(errno));
        goto cleanup;
    }
    char err[256];
    s.service = op_service_start(set->health_listen, ready_cb, metrics_cb, &s, err, sizeof err);
    if (!s.service) {
        op_log(OP_LOG_ERR, "%s", err);
        goto cleanup;
    }
    pthread_mutex_lock(&s.lock);
    s.ready = 1;
    pthread_mutex_unlock(&s.lock);
    op_service_ready(s.service, "spooling");
    op_log(OP_LOG_NOTICE, "spooling %s (incoming/ -> done/ or failed/)", dir);
    if (wait_for_topic(&s) != 0) {
        rc = 0; /* stopped while waiting */
        goto cleanup;
    }
    int dirty = 1, failed = 0;
    int64_t last_scan = 0, settle_at = -1;
    while (*run && !producer_fatal(p)) {
        int64_t now = op_clock_mono_ms();
        enum outcome out = OUT_DONE;
        if (now >= s.retry_at) {
            out = do_processing(&s);
            if (out == OUT_DONE &&
                (dirty || now - last_scan >= s.rescan_ms || (settle_at >= 0 && now >= settle_at))) {
                int64_t wait = INT64_MAX;
                dirty = 0;
                last_scan = now;
                out = do_incoming(&s, &wait);
                settle_at = wait == INT64_MAX ? -1 : op_clock_mono_ms() + wait;
            }
        }
        if (out == OUT_STOP) {
            failed = *run && !producer_fatal(p); /* not a stop request: a filing error */
            break;
        }
        /* Short waits: SIGTERM is seen within a second. */
        int64_t timeout = 1000;
        if (settle_at >= 0 && settle_at - op_clock_mono_ms() < timeout)
            timeout = settle_at - op_clock_mono_ms();
        if (s.retry_at > op_clock_mono_ms() && s.retry_at - op_clock_mono_ms() < timeout)
            timeout = s.retry_at - op_clock_mono_ms();
        if (timeout < 0)
            timeout = 0;
        struct pollfd pfd = {s.ifd, POLLIN, 0};
        if (poll(&pfd, 1, (int)timeout) > 0)
            dirty |= read_events(&s);
        producer_poll(p, 0);
        op_service_ping();
    }
    rc = producer_fatal(p) || failed ? 2 : 0;
    op_log(rc ? OP_LOG_ERR : OP_LOG_NOTICE, "spool %s: %s", dir,
           producer_fatal(p) ? "fatal producer error: exiting (a restart publishes the "
                               "unfinished file again)"
           : failed          ? "cannot go on: exiting (see the error above)"
                             : "stopped");
cleanup:
    op_service_stopping(s.service); /* when READY was sent */
    op_service_stop(s.service);     /* before the lock goes: its thread reads the counters */
    pthread_mutex_destroy(&s.lock);
    if (s.ifd >= 0)
        close(s.ifd);
    if (s.lockfd >= 0)
        close(s.lockfd);
    op_map_destroy(s.closed, NULL);
    free(s.incoming);
    free(s.processing);
    free(s.done);
    free(s.failed);
    return rc;
}
