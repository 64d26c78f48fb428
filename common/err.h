/* The one way an error message reaches a caller's buffer (the `char *errstr, size_t
 * errstr_size` convention of rd_kafka_conf_set): formatted, always NUL-terminated. */
#ifndef OP_ERR_H
#define OP_ERR_H

#include <stddef.h>

/* Formats into errstr (truncating to errstr_size - 1 bytes); does nothing when errstr is NULL
 * or errstr_size is 0. */
void op_set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
