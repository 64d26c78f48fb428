/* Receipts: the published records of a run (or of one spool file) as SOURCE:LINE<TAB>event_id,
 * collected per file, written sorted at the end of each file to a temporary file that is renamed
 * into place at the end, so that a receipt is either complete or the previous one. */
#include "receipt.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"

struct rc_entry {
    long line;
    size_t off; /* of the id in ids, NUL-terminated */
};

struct producer_receipt {
    char *tmp_path;
    FILE *fp;
    int broken; /* out of memory or an I/O error: the receipt would be incomplete */
    int committed;
    int io_errno;
    /* the current file: reading thread only */
    struct rc_entry *e;
    size_t n, cap;
    struct op_buf ids;
    /* failed lines of the current file: any thread, under mu */
    pthread_mutex_t mu;
    long *failed;
    size_t nf, capf;
};

struct producer_receipt *producer_receipt_new(const char *tmp_path, char *errstr,
                                              size_t errstr_size)
{
    struct producer_receipt *r = calloc(1, sizeof *r);
    if (!r || !(r->tmp_path = strdup(tmp_path))) {
        op_set_err(errstr, errstr_size, "out of memory");
        free(r);
        return NULL;
    }
    int fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || !(r->fp = fdopen(fd, "w"))) {
        op_set_err(errstr, errstr_size, "%s: %s", tmp_path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp_path);
        }
        free(r->tmp_path);
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

void producer_receipt_destroy(struct producer_receipt *r)
{
    if (!r)
        return;
    if (r->fp)
        fclose(r->fp);
    if (!r->committed)
        unlink(r->tmp_path);
    pthread_mutex_destroy(&r->mu);
    free(r->tmp_path);
    free(r->e);
    free(r->failed);
    op_buf_free(&r->ids);
    free(r);
}

int producer_receipt_add(struct producer_receipt *r, long line, const char *id)
{
    if (!id) { /* the caller ran out of memory keeping it */
        r->broken = 1;
        return -1;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        struct rc_entry *ne = realloc(r->e, cap * sizeof *ne);
        if (!ne) {
            r->broken = 1;
            return -1;
        }
        r->e = ne;
        r->cap = cap;
    }
    size_t off = r->ids.len;
    if (op_buf_append(&r->ids, id, strlen(id) + 1) != 0) {
        r->broken = 1;
        return -1;
    }
    r->e[r->n].line = line;
    r->e[r->n].off = off;
    r->n++;
    return 0;
}

void producer_receipt_failed(struct producer_receipt *r, long line)
{
    pthread_mutex_lock(&r->mu);
    if (r->nf == r->capf) {
        size_t cap = r->capf ? r->capf * 2 : 64;
        long *nf = realloc(r->failed, cap * sizeof *nf);
        if (!nf) {
            /* Without the list a failed record could be listed as published. */
            r->broken = 1;
            pthread_mutex_unlock(&r->mu);
            return;
        }
        r->failed = nf;
        r->capf = cap;
    }
    r->failed[r->nf++] = line;
    pthread_mutex_unlock(&r->mu);
}

static int cmp_entry(const void *a, const void *b)
{
    long x = ((const struct rc_entry *)a)->line, y = ((const struct rc_entry *)b)->line;
    return x < y ? -1 : x > y;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

/* The source name as one field of a line: a tab or a line break in it would split the line. */
static void put_name(FILE *fp, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 ? '?' : *s, fp);
}

long producer_receipt_end_file(struct producer_receipt *r, const char *name, const char *sheet)
{
    pthread_mutex_lock(&r->mu);
    size_t nf = r->nf;
    pthread_mutex_unlock(&r->mu);
    /* Batches are accounted in input order already; sorting makes it a property of the file. */
    if (r->n > 1)
        qsort(r->e, r->n, sizeof *r->e, cmp_entry);
    if (nf > 1)
        qsort(r->failed, nf, sizeof *r->failed, cmp_long);
    long written = 0;
    for (size_t i = 0; i < r->n && r->fp; i++) {
        long line = r->e[i].line;
        if (nf && bsearch(&line, r->failed, nf, sizeof *r->failed, cmp_long))
            continue;
        put_name(r->fp, name);
        if (sheet && *sheet) {
            fputc(':', r->fp);
            put_name(r->fp, sheet);
            fprintf(r->fp, "!%ld\t%s\n", line, (const char *)r->ids.data + r->e[i].off);
        } else
            fprintf(r->fp, ":%ld\t%s\n", line, (const char *)r->ids.data + r->e[i].off);
        written++;
    }
    r->n = 0;
    r->ids.len = 0;
    pthread_mutex_lock(&r->mu);
    r->nf = 0;
    pthread_mutex_unlock(&r->mu);
    if (!r->fp || ferror(r->fp)) {
        if (!r->io_errno)
            r->io_errno = errno ? errno : EIO;
        r->broken = 1;
        return -1;
    }
    return written;
}

int producer_receipt_commit(struct producer_receipt *r, const char *dest_path, char *errstr,
                            size_t errstr_size)
{
    if (r->broken) {
        op_set_err(errstr, errstr_size, "%s: %s", r->tmp_path,
                   r->io_errno ? strerror(r->io_errno) : "out of memory");
        return -1;
    }
    FILE *fp = r->fp;
    r->fp = NULL;
    if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
        op_set_err(errstr, errstr_size, "%s: %s", r->tmp_path, strerror(errno));
        fclose(fp);
        return -1;
    }
    if (fclose(fp) != 0) {
        op_set_err(errstr, errstr_size, "%s: %s", r->tmp_path, strerror(errno));
        return -1;
    }
    if (rename(r->tmp_path, dest_path) != 0) {
        op_set_err(errstr, errstr_size, "rename %s -> %s: %s", r->tmp_path, dest_path,
                   strerror(errno));
        return -1;
    }
    r->committed = 1;
    return 0;
}
