/* Chinese column names of outreach-producer's CSV and .xlsx headers: the one table that maps
 * what offices write in a header row (事件编号, 发生时间, ...) to the field names of the schemas.
 */
#ifndef PRODUCER_ALIASES_H
#define PRODUCER_ALIASES_H

#include <stddef.h>

struct producer_alias {
    const char *alias; /* the header text, UTF-8 */
    const char *field; /* "type", a top-level field or s1..s5 */
    const char *type;  /* only for this event type (the same word means different fields in
                        * visit and funding); NULL: every type */
};

/* The table, ending with {NULL, NULL, NULL}. docs/producer.md lists it. */
extern const struct producer_alias producer_aliases[];

/* The field that header text `name` (len bytes, trimmed) stands for in events of type `type`
 * ("visit", ...; NULL: any), or NULL when it is no alias. Full-width brackets （） match
 * ASCII () and spaces inside are ignored: 金额（分） = 金额(分) = 金额 (分). */
const char *producer_alias_field(const char *name, size_t len, const char *type);

/* A hint for a header text that is no column, or "" (e.g. 金额: amounts are in fen). */
const char *producer_alias_hint(const char *name, size_t len);

#endif
