/* A string-keyed hash map (open addressing, linear probing) for aggregator state, seen event
 * ids and reporter batches: keys are copied in, values are caller-owned pointers. */
#ifndef OP_MAP_H
#define OP_MAP_H

#include <stddef.h>

struct op_map;

/* NULL on allocation failure. */
struct op_map *op_map_new(void);

/* Frees the map and its key copies; calls free_value on every value when not NULL. */
void op_map_destroy(struct op_map *m, void (*free_value)(void *));

/* The value stored under key, or NULL. */
void *op_map_get(const struct op_map *m, const char *key, size_t key_len);

/* Stores value under key (a copy of the key is kept), replacing and returning the previous
 * value through *old when not NULL. Returns 0, or -1 on allocation failure (map unchanged). */
int op_map_put(struct op_map *m, const char *key, size_t key_len, void *value, void **old);

/* Removes key; returns its value or NULL. */
void *op_map_remove(struct op_map *m, const char *key, size_t key_len);

size_t op_map_size(const struct op_map *m);

/* Iteration: start with *pos = 0; returns 0 at the end. The map must not change meanwhile
 * (removal shifts entries): collect keys first when removing. */
int op_map_next(const struct op_map *m, size_t *pos, const char **key, size_t *key_len,
                void **value);

#endif
