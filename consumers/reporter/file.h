/* outreach-reporter's file:// endpoints: each batch becomes one JSON Lines snapshot file named
 * by its batch key, written atomically (temp file, fsync, rename, fsync of the directory). */
#ifndef REPORTER_FILE_H
#define REPORTER_FILE_H

#include <stddef.h>

/* Writes len bytes as DIR/NAME.jsonl, replacing any file of that name (the same batch key
 * always carries the same content, so a rewrite after a crash is harmless). The data is on
 * disk when this returns 0; -1 with errstr (path and reason) otherwise, leaving no temp file. */
int reporter_file_write(const char *dir, const char *name, const void *data, size_t len,
                        char *errstr, size_t errstr_size);

/* fsync of a directory, so a rename in it is durable. 0, or -1 with errno set. */
int reporter_file_fsync_dir(const char *dir);

/* The directory of a file:// URL (file:///var/lib/x → /var/lib/x; "file://localhost/x" too).
 * Returns a malloc'd string, or NULL if url is not an absolute local file URL. */
char *reporter_file_dir_of_url(const char *url);

#endif
