/* Open-addressing string map with backward-shift deletion (no tombstones), so long runs
 * that add and remove keys keep probe lengths and memory bounded. */
#include "map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct slot {
    char *key; /* NULL when empty */
    size_t len;
    uint64_t hash;
    void *value;
};

struct op_map {
    struct slot *slots;
    size_t cap; /* power of two */
    size_t n;
};

static uint64_t hash_key(const char *k, size_t n)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= UINT64_C(1099511628211);
    }
    return h ^ (h >> 29);
}

struct op_map *op_map_new(void)
{
    struct op_map *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = 16;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void op_map_destroy(struct op_map *m, void (*free_value)(void *))
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) {
            if (free_value)
                free_value(m->slots[i].value);
            free(m->slots[i].key);
        }
    free(m->slots);
    free(m);
}

static size_t find(const struct op_map *m, const char *key, size_t len, uint64_t h)
{
    size_t mask = m->cap - 1, i = h & mask;
    while (m->slots[i].key) {
        if (m->slots[i].hash == h && m->slots[i].len == len &&
            memcmp(m->slots[i].key, key, len) == 0)
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

void *op_map_get(const struct op_map *m, const char *key, size_t key_len)
{
    size_t i = find(m, key, key_len, hash_key(key, key_len));
    return m->slots[i].key ? m->slots[i].value : NULL;
}

static int grow(struct op_map *m)
{
    size_t cap = m->cap * 2;
    struct slot *s = calloc(cap, sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        size_t j = m->slots[i].hash & (cap - 1);
        while (s[j].key)
            j = (j + 1) & (cap - 1);
        s[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = s;
    m->cap = cap;
    return 0;
}

int op_map_put(struct op_map *m, const char *key, size_t key_len, void *value, void **old)
{
    uint64_t h = hash_key(key, key_len);
    size_t i = find(m, key, key_len, h);
    if (m->slots[i].key) {
        if (old)
            *old = m->slots[i].value;
        m->slots[i].value = value;
        return 0;
    }
    if (old)
        *old = NULL;
    if ((m->n + 1) * 4 > m->cap * 3) {
        if (grow(m) != 0)
            return -1;
        i = find(m, key, key_len, h);
    }
    char *k = malloc(key_len + 1);
    if (!k)
        return -1;
    memcpy(k, key, key_len);
    k[key_len] = 0;
    m->slots[i] = (struct slot){k, key_len, h, value};
    m->n++;
    return 0;
}

void *op_map_remove(struct op_map *m, const char *key, size_t key_len)
{
    size_t mask = m->cap - 1;
    size_t i = find(m, key, key_len, hash_key(key, key_len));
    if (!m->slots[i].key)
        return NULL;
    void *v = m->slots[i].value;
    free(m->slots[i].key);
    m->slots[i].key = NULL;
    m->n--;
    /* Backward-shift the cluster after i so lookups never stop early at the hole. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->slots[j].key)
            break;
        size_t home = m->slots[j].hash & mask;
        /* Move j into the hole when its home is not cyclically within (i, j]. */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            m->slots[i] = m->slots[j];
            m->slots[j].key = NULL;
            i = j;
        }
    }
    return v;
}

size_t op_map_size(const struct op_map *m)
{
    return m->n;
}

int op_map_next(const struct op_map *m, size_t *pos, const char **key, size_t *key_len,
                void **value)
{
    while (*pos < m->cap) {
        struct slot *s = &m->slots[(*pos)++];
        if (s->key) {
            if (key)
                *key = s->key;
            if (key_len)
                *key_len = s->len;
            if (value)
                *value = s->value;
            return 1;
        }
    }
    return 0;
}
