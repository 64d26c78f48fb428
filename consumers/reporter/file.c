/* Atomic snapshot files for file:// endpoints: a reader sees a whole batch file or none, and a
 * file that exists is on disk (data and directory entry) before the offsets are committed. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "log.h"
#include "transport.h"

int reporter_file_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int reporter_file_write(const char *dir, const char *name, const void *data, size_t len,
                        char *errstr, size_t errstr_size)
{
    size_t n = strlen(dir) + strlen(name) + 64;
    char *tmp = malloc(n), *dst = malloc(n);
    int fd = -1, rc = -1;
    if (!tmp || !dst) {
        snprintf(errstr, errstr_size, "out of memory");
        goto cleanup;
    }
    snprintf(tmp, n, "%s/.%s.jsonl.%ld.tmp", dir, name, (long)getpid());
    snprintf(dst, n, "%s/%s.jsonl", dir, name);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(errstr, errstr_size, "%s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    const unsigned char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(errstr, errstr_size, "%s: %s", tmp, w < 0 ? strerror(errno) : "short write");
            goto cleanup;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0) {
        snprintf(errstr, errstr_size, "fsync %s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    int cr = close(fd);
    fd = -1;
    if (cr != 0) {
        snprintf(errstr, errstr_size, "close %s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    if (rename(tmp, dst) != 0) {
        snprintf(errstr, errstr_size, "rename to %s: %s", dst, strerror(errno));
        goto cleanup;
    }
    if (reporter_file_fsync_dir(dir) != 0) {
        /* The file is complete; only its name may not be durable yet. Report it: the batch
         * is retried and rewritten, which is harmless. */
        snprintf(errstr, errstr_size, "fsync %s: %s", dir, strerror(errno));
        free(tmp);
        tmp = NULL;
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (fd >= 0)
        close(fd);
    if (rc != 0 && tmp)
        unlink(tmp);
    free(tmp);
    free(dst);
    return rc;
}

char *reporter_file_dir_of_url(const char *url)
{
    const char *p;
    if (strncmp(url, "file://", 7) != 0)
        return NULL;
    p = url + 7;
    if (strncmp(p, "localhost/", 10) == 0)
        p += 9;
    if (p[0] != '/')
        return NULL;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    /* Percent-encoding is not decoded: refuse it rather than write somewhere unexpected. */
    if (memchr(p, '%', n))
        return NULL;
    return strndup(p, n);
}

/* ---- the engine's transport --------------------------------------------------------------- */

static void file_send(void *impl, const struct reporter_send_args *a,
                      struct reporter_send_result *out)
{
    const char *dir = impl;
    struct op_buf lines = OP_BUF_INIT;
    int rc;
    memset(out, 0, sizeof *out);
    out->retry_after_ms = -1;
    if ((rc = reporter_batch_jsonl(a->batch, &lines)) == 0)
        rc = reporter_file_write(dir, a->batch->key, lines.data, lines.len, out->why,
                                 sizeof out->why);
    else
        snprintf(out->why, sizeof out->why, "out of memory");
    op_buf_free(&lines);
    if (rc != 0) {
        out->verdict = REPORTER_RETRY;
        out->detail = out->why;
        out->detail_len = strlen(out->why);
        return;
    }
    op_log(OP_LOG_DEBUG, "endpoint %s: wrote %s/%s.jsonl (%zu rollups)", a->endpoint, dir,
           a->batch->key, a->batch->rollups);
}

static void file_close(void *impl)
{
    free(impl);
}

const struct reporter_transport reporter_file_transport = {
    .kind = "file", .send = file_send, .close = file_close};
