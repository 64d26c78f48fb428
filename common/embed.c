/* Lookup of the data files compiled into the library by tools/embedgen.c. */
#include "embed.h"

#include <string.h>

const struct op_embed_file *op_embed_find(const char *name)
{
    for (const struct op_embed_file *f = op_embed_files; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}
