/* Data files compiled into the library (the schemas/ .avsc files, schemas/regions.csv).
 * Each is NUL-terminated beyond `size` so text files can be used as C strings. */
#ifndef OP_EMBED_H
#define OP_EMBED_H

#include <stddef.h>

struct op_embed_file {
    const char *name; /* base name, e.g. "visit.v1.avsc" */
    const unsigned char *data;
    size_t size;
};

/* Terminated by an entry whose name is NULL. */
extern const struct op_embed_file op_embed_files[];

/* Returns the file called `name`, or NULL. */
const struct op_embed_file *op_embed_find(const char *name);

#endif
