/* UTF-8 or GB18030: the check that decides an input's encoding (UTF-8 by hand, GB18030 by
 * asking iconv, so that "valid" means exactly "iconv converts it") and the per-record decoder. */
#include "err.h"
#include "encoding.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int producer_encoding_from_name(const char *name)
{
    if (!strcasecmp(name, "auto"))
        return PRODUCER_ENCODING_AUTO;
    if (!strcasecmp(name, "utf-8") || !strcasecmp(name, "utf8"))
        return PRODUCER_ENCODING_UTF8;
    /* GBK is a subset of GB18030: a GBK file is a GB18030 file. */
    if (!strcasecmp(name, "gb18030") || !strcasecmp(name, "gbk"))
        return PRODUCER_ENCODING_GB18030;
    return -1;
}

const char *producer_encoding_name(enum producer_encoding e)
{
    return e == PRODUCER_ENCODING_UTF8      ? "UTF-8"
           : e == PRODUCER_ENCODING_GB18030 ? "GB18030"
                                            : "auto";
}

static iconv_t open_gb18030(char *errstr, size_t errstr_size)
{
    iconv_t cd = iconv_open("UTF-8", "GB18030");
    if (cd == (iconv_t)-1)
        op_set_err(errstr, errstr_size, "iconv cannot convert GB18030 to UTF-8: %s",
                   strerror(errno));
    return cd;
}

/* ---- the check -------------------------------------------------------------------------- */

int producer_sniff_init(struct producer_sniff *s, long line, char *errstr, size_t errstr_size)
{
    memset(s, 0, sizeof *s);
    s->line = line;
    s->cd = open_gb18030(errstr, errstr_size);
    return s->cd == (iconv_t)-1 ? -1 : 0;
}

void producer_sniff_free(struct producer_sniff *s)
{
    if (s->cd != (iconv_t)-1 && s->cd != NULL)
        iconv_close(s->cd);
    s->cd = (iconv_t)-1;
}

/* Offset of the first byte that breaks UTF-8, or (size_t)-1. A sequence may continue from the
 * previous piece and into the next one (s->u_need). */
static size_t utf8_feed(struct producer_sniff *s, const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s->u_need) {
            if (p[i] < s->u_lo || p[i] > s->u_hi)
                return i;
            s->u_lo = 0x80;
            s->u_hi = 0xBF;
            s->u_need--;
            i++;
            continue;
        }
        /* Spreadsheet exports are mostly ASCII: skip it eight bytes at a time. */
        uint64_t w;
        while (i + 8 <= n && (memcpy(&w, p + i, 8), (w & UINT64_C(0x8080808080808080)) == 0))
            i += 8;
        if (i == n)
            break;
        unsigned char c = p[i++];
        if (c < 0x80)
            continue;
        s->u_lo = 0x80;
        s->u_hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            s->u_need = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            s->u_need = 2;
            if (c == 0xE0)
                s->u_lo = 0xA0; /* no overlongs */
            else if (c == 0xED)
                s->u_hi = 0x9F; /* no surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            s->u_need = 3;
            if (c == 0xF0)
                s->u_lo = 0x90;
            else if (c == 0xF4)
                s->u_hi = 0x8F; /* nothing past U+10FFFF */
        } else
            return i - 1;
    }
    return (size_t)-1;
}

/* Offset of the first byte that iconv refuses as GB18030, or (size_t)-1. A sequence cut by
 * the end of a piece waits in s->carry and is completed byte by byte from the next one. */
static size_t gb_feed(struct producer_sniff *s, const unsigned char *p, size_t n)
{
    char out[8192];
    size_t i = 0;
    while (s->carry_len && i < n) {
        s->carry[s->carry_len++] = p[i++];
        char *ip = (char *)s->carry, *op = out;
        size_t il = s->carry_len, ol = sizeof out;
        if (iconv(s->cd, &ip, &il, &op, &ol) != (size_t)-1) {
            s->carry_len = 0;
            break;
        }
        if (errno != EINVAL || s->carry_len == sizeof s->carry)
            return i - 1;
    }
    char *ip = (char *)p + i;
    size_t il = n - i;
    while (il) {
        char *op = out;
        size_t ol = sizeof out;
        if (iconv(s->cd, &ip, &il, &op, &ol) != (size_t)-1)
            break;
        if (errno == E2BIG)
            continue;
        if (errno == EINVAL && il < sizeof s->carry) {
            memcpy(s->carry, ip, il);
            s->carry_len = il;
            break;
        }
        return (size_t)(ip - (char *)p);
    }
    return (size_t)-1;
}

static long lines_in(const unsigned char *p, size_t n)
{
    long k = 0;
    const unsigned char *end = p + n;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        k++;
        p++;
    }
    return k;
}

int producer_sniff_feed(struct producer_sniff *s, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t bad;
    if (!s->utf8_bad && (bad = utf8_feed(s, p, len)) != (size_t)-1) {
        s->utf8_bad = 1;
        s->utf8_bad_line = s->line + lines_in(p, bad);
    }
    if (!s->gb_bad && (bad = gb_feed(s, p, len)) != (size_t)-1) {
        s->gb_bad = 1;
        s->gb_bad_line = s->line + lines_in(p, bad);
    }
    if (s->utf8_bad && s->gb_bad)
        return 0;
    s->line += lines_in(p, len);
    return 1;
}

void producer_sniff_break(struct producer_sniff *s)
{
    s->u_need = 0;
    s->carry_len = 0;
}

enum producer_encoding producer_sniff_verdict(struct producer_sniff *s, int complete)
{
    if (complete && s->u_need && !s->utf8_bad) {
        s->utf8_bad = 1;
        s->utf8_bad_line = s->line;
    }
    if (complete && s->carry_len && !s->gb_bad) {
        s->gb_bad = 1;
        s->gb_bad_line = s->line;
    }
    return !s->utf8_bad || s->gb_bad ? PRODUCER_ENCODING_UTF8 : PRODUCER_ENCODING_GB18030;
}

/* ---- the decoder ------------------------------------------------------------------------ */

int producer_decoder_init(struct producer_decoder *d, enum producer_encoding forced, char *errstr,
                          size_t errstr_size)
{
    memset(d, 0, sizeof *d);
    d->forced = forced;
    d->cd = open_gb18030(errstr, errstr_size);
    return d->cd == (iconv_t)-1 ? -1 : 0;
}

void producer_decoder_free(struct producer_decoder *d)
{
    if (d->cd != (iconv_t)-1 && d->cd != NULL)
        iconv_close(d->cd);
    d->cd = (iconv_t)-1;
    op_buf_free(&d->out);
}

/* d->note for a detected verdict; `line` > 0: decided on a stream at that line. */
static void say_verdict(struct producer_decoder *d, const struct producer_sniff *s,
                        enum producer_encoding e, long line)
{
    char where[96] = "";
    if (line > 0)
        snprintf(where, sizeof where, "decided at line %ld, the first that is not ASCII: ", line);
    if (e == PRODUCER_ENCODING_GB18030) {
        snprintf(d->note, sizeof d->note,
                 "%s: read as GB18030 (%snot valid UTF-8 from line %ld, valid GB18030)", d->name,
                 where, s->utf8_bad_line);
        d->note_warning = 0;
    } else if (s->utf8_bad && s->gb_bad) {
        snprintf(d->note, sizeof d->note,
                 "%s: read as UTF-8 (%sneither valid UTF-8 from line %ld nor valid GB18030 from "
                 "line %ld); if it is GBK or GB18030, --encoding gb18030 reads it as such",
                 d->name, where, s->utf8_bad_line, s->gb_bad_line);
        d->note_warning = 1;
    }
}

/* Reads a regular file to the end and decides. Leaves d->enc AUTO if it cannot (the read
 * that follows reports why) or when interrupted. */
static void decide_file(struct producer_decoder *d, const char *path, volatile sig_atomic_t *run)
{
    char err[256];
    struct producer_input in;
    if (producer_input_open(&in, path, PRODUCER_FORMAT_CSV, 1, err, sizeof err) != 0)
        return;
    in.run = run;
    struct producer_sniff s;
    if (producer_sniff_init(&s, 1, err, sizeof err) != 0) {
        producer_input_close(&in);
        return;
    }
    int first = 1, complete = 0;
    long n;
    while ((!run || *run) && (n = producer_input_fill(&in)) >= 0) {
        if (n == 0) {
            complete = 1;
            break;
        }
        if (first && n >= 3 && !memcmp(in.chunk, "\xEF\xBB\xBF", 3)) {
            d->enc = PRODUCER_ENCODING_UTF8; /* said so by the file itself */
            break;
        }
        first = 0;
        if (!producer_sniff_feed(&s, in.chunk, (size_t)n)) {
            complete = 1; /* neither fits: the rest cannot change that */
            break;
        }
    }
    if (complete) {
        d->enc = producer_sniff_verdict(&s, 1);
        say_verdict(d, &s, d->enc, 0);
    }
    producer_sniff_free(&s);
    producer_input_close(&in);
}

void producer_decoder_start(struct producer_decoder *d, const char *path, const char *name,
                            volatile sig_atomic_t *run)
{
    d->name = name;
    d->enc = d->forced;
    d->first = 1;
    d->note[0] = 0;
    d->note_warning = 0;
    struct stat st;
    if (d->enc == PRODUCER_ENCODING_AUTO && strcmp(path, "-") != 0 && stat(path, &st) == 0 &&
        S_ISREG(st.st_mode))
        decide_file(d, path, run);
}

static int ascii(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] >= 0x80)
            return 0;
    return 1;
}

/* A stream: the first record that is not ASCII decides, with what was read after it. */
static void decide_stream(struct producer_decoder *d, const struct producer_input *in,
                          const struct producer_raw *raw)
{
    char err[256];
    struct producer_sniff s;
    if (in->bom || producer_sniff_init(&s, raw->line, err, sizeof err) != 0) {
        d->enc = PRODUCER_ENCODING_UTF8;
        return;
    }
    producer_sniff_feed(&s, raw->data, raw->len);
    producer_sniff_break(&s);
    if (in->chunk && in->chunk_pos < in->chunk_len)
        producer_sniff_feed(&s, in->chunk + in->chunk_pos, in->chunk_len - in->chunk_pos);
    d->enc = producer_sniff_verdict(&s, 0);
    say_verdict(d, &s, d->enc, raw->line);
    producer_sniff_free(&s);
}

/* GB18030 -> UTF-8 into d->out. Returns 0, or -1 with *bad (offset of the refused byte) or
 * *bad = (size_t)-1 when out of memory. */
static int gb_convert(struct producer_decoder *d, const char *data, size_t len, size_t *bad)
{
    iconv(d->cd, NULL, NULL, NULL, NULL);
    d->out.len = 0;
    /* 2 bytes become at most 3, 4 at most 4: 1.5 times, and room to grow anyway. */
    size_t want = len + len / 2 + 16;
    char *ip = (char *)data;
    size_t il = len;
    for (;;) {
        if (op_buf_reserve(&d->out, want) != 0) {
            *bad = (size_t)-1;
            return -1;
        }
        char *op = (char *)d->out.data + d->out.len;
        size_t room = d->out.cap - d->out.len, ol = room;
        size_t r = iconv(d->cd, &ip, &il, &op, &ol);
        d->out.len += room - ol;
        if (r != (size_t)-1)
            return 0;
        if (errno != E2BIG) { /* EILSEQ, or EINVAL: cut off by the end of the record */
            *bad = (size_t)(ip - data);
            return -1;
        }
        want = d->out.cap;
    }
}

int producer_decoder_record(struct producer_decoder *d, const struct producer_input *in,
                            const struct producer_raw *raw, const char **text, size_t *text_len,
                            char *reason, size_t reason_size)
{
    int first = d->first;
    d->first = 0;
    *text = raw->data;
    *text_len = raw->text_len;
    if (d->enc == PRODUCER_ENCODING_AUTO) {
        if (ascii(raw->data, raw->text_len))
            return 0;
        decide_stream(d, in, raw);
    }
    const char *how = d->forced == PRODUCER_ENCODING_AUTO ? "read as" : "--encoding";
    size_t bad;
    if (d->enc == PRODUCER_ENCODING_GB18030) {
        if (gb_convert(d, raw->data, raw->text_len, &bad) != 0) {
            if (bad == (size_t)-1)
                op_set_err(reason, reason_size, "out of memory");
            else
                op_set_err(reason, reason_size, "invalid GB18030 at byte %zu (%s %s)", bad + 1, how,
                           d->forced ? "gb18030" : "GB18030");
            return -1;
        }
        *text = (const char *)d->out.data;
        *text_len = d->out.len;
        /* GB18030 has a byte order mark too: 84 31 95 33. */
        if (first && *text_len >= 3 && !memcmp(*text, "\xEF\xBB\xBF", 3)) {
            *text += 3;
            *text_len -= 3;
        }
    }
    /* iconv writes UTF-8 only: its output is checked all the same, like every other input. */
    if ((bad = producer_utf8_check(*text, *text_len)) != (size_t)-1) {
        if (d->enc == PRODUCER_ENCODING_GB18030)
            op_set_err(reason, reason_size, "invalid UTF-8 from iconv at byte %zu", bad + 1);
        else
            op_set_err(reason, reason_size,
                       "invalid UTF-8 at byte %zu (%s %s; for GBK or GB18030 give --encoding "
                       "gb18030)",
                       bad + 1, how, d->forced ? "utf-8" : "UTF-8");
        return -1;
    }
    return 0;
}
