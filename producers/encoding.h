/* Input encodings of outreach-producer: UTF-8, and GB18030 (a superset of GBK, what Chinese
 * Excel and WPS save CSV files as), detected per input or forced; GB18030 is converted to UTF-8
 * one record at a time with glibc's iconv, so line numbers and the original bytes stay as read. */
#ifndef PRODUCER_ENCODING_H
#define PRODUCER_ENCODING_H

#include <iconv.h>
#include <signal.h>
#include <stddef.h>

#include "buf.h"
#include "input.h"

/* Records are cut on the original bytes (input.c) before they are converted. That is sound for
 * GB18030: its multi-byte sequences use only bytes 0x30-0x39, 0x40-0x7E and 0x80-0xFE after
 * the first, so '\n', '\r', '"', ',', space and tab are always characters of their own. */

enum producer_encoding {
    PRODUCER_ENCODING_AUTO = 0, /* detect; as a result: not decided yet (all ASCII so far) */
    PRODUCER_ENCODING_UTF8,
    PRODUCER_ENCODING_GB18030
};

/* "auto", "utf-8" or "utf8", "gb18030" or "gbk" (any case); -1 for anything else. */
int producer_encoding_from_name(const char *name);
/* "auto", "UTF-8" or "GB18030". */
const char *producer_encoding_name(enum producer_encoding e);

/* An incremental check of an input's bytes, fed from its first byte in pieces of any size:
 * is all of it valid UTF-8 (RFC 3629), is all of it GB18030 that iconv converts? */
struct producer_sniff {
    iconv_t cd;   /* GB18030 -> UTF-8, output discarded */
    long line;    /* physical line of the next byte */
    int utf8_bad; /* a byte that is not UTF-8 was seen, on line utf8_bad_line */
    int gb_bad;   /* a byte that is not GB18030 was seen, on line gb_bad_line */
    long utf8_bad_line, gb_bad_line;
    unsigned u_need;          /* UTF-8: continuation bytes still expected */
    unsigned char u_lo, u_hi; /* the range of the next continuation byte */
    unsigned char carry[4];   /* GB18030: the start of a sequence cut by the piece's end */
    size_t carry_len;
};

/* line: the physical line of the first byte to be fed. Returns 0, or -1 with errstr when
 * iconv has no GB18030 (no glibc gconv modules). */
int producer_sniff_init(struct producer_sniff *s, long line, char *errstr, size_t errstr_size);
void producer_sniff_free(struct producer_sniff *s);
/* Feeds the next bytes. Returns 1 while one of the two encodings still fits, 0 once neither
 * does (feeding more changes nothing). */
int producer_sniff_feed(struct producer_sniff *s, const void *data, size_t len);
/* Ends a piece whose continuation is not fed (a record cut at input.max.record.bytes): a
 * sequence cut there counts as neither valid nor invalid. */
void producer_sniff_break(struct producer_sniff *s);
/* The verdict on what was fed: UTF-8 if all of it is valid UTF-8, else GB18030 if all of it
 * is valid GB18030, else UTF-8 (both flags are then set). With `complete` the whole input was
 * fed and a sequence cut by its end is invalid; without, the bytes are a prefix of the input. */
enum producer_encoding producer_sniff_verdict(struct producer_sniff *s, int complete);

/* How one input is decoded. */
struct producer_decoder {
    enum producer_encoding forced; /* --encoding / input.encoding; AUTO: detect */
    enum producer_encoding enc;    /* for the current input; AUTO: undecided, all ASCII so far */
    int first;                     /* the next record is the input's first */
    const char *name;              /* the current input as shown in messages */
    iconv_t cd;                    /* GB18030 -> UTF-8 for the records */
    struct op_buf out;             /* the current record in UTF-8 */
    char note[512];   /* what to say once about the current input's encoding, "" for nothing */
    int note_warning; /* the note is a warning: the input fits neither encoding */
};

/* Returns 0, or -1 with errstr when iconv has no GB18030. */
int producer_decoder_init(struct producer_decoder *d, enum producer_encoding forced, char *errstr,
                          size_t errstr_size);
void producer_decoder_free(struct producer_decoder *d);

/* Starts an input that was just opened as `path` ("-" = stdin), shown as `name` (which must
 * outlive the input):
 *   - forced: that encoding;
 *   - a regular file: it is read once to the end first (a .gz decompressed) and the rule below
 *     applies to all of it;
 *   - stdin, pipes and other streams cannot be read twice: the encoding stays undecided while
 *     records are pure ASCII (the same in both encodings) and is decided at the first record
 *     with another byte, by the rule applied to that record and the bytes already read after
 *     it (up to a 64 KiB chunk; never waiting for more).
 * The rule: a UTF-8 BOM means UTF-8; else valid UTF-8 means UTF-8; else valid GB18030 means
 * GB18030 (d->note says so); else UTF-8 (d->note warns). Stops early when *run becomes 0. */
void producer_decoder_start(struct producer_decoder *d, const char *path, const char *name,
                            volatile sig_atomic_t *run);

/* The text of one record in UTF-8, terminator excluded: `*text` points into raw->data or
 * d->out, valid until the next call. `in` is the input raw came from (its BOM flag and the
 * bytes read ahead serve the decision on a stream). Returns 0, or -1 with a reason such as
 * `invalid GB18030 at byte 14 (...)`, the byte counted in the original record from 1. An
 * overlong record (raw->overlong) must not be passed: it is rejected undecoded. May set
 * d->note. */
int producer_decoder_record(struct producer_decoder *d, const struct producer_input *in,
                            const struct producer_raw *raw, const char **text, size_t *text_len,
                            char *reason, size_t reason_size);

#endif
