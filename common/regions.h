/* The GB/T 2260 region table (province > prefecture > county) that events name by 6-digit
 * code: loading and validating it, lookups, ancestor chains and prefix authorisation. */
#ifndef OP_REGIONS_H
#define OP_REGIONS_H

#include <stddef.h>
#include <stdint.h>

enum op_region_level { OP_REGION_PROVINCE = 1, OP_REGION_PREFECTURE = 2, OP_REGION_COUNTY = 3 };

struct op_region {
    uint32_t code;    /* e.g. 530102 */
    const char *name; /* UTF-8, owned by the table */
    enum op_region_level level;
    uint32_t parent; /* 0 for a province */
};

struct op_regions;

/* Parses and validates a `code,name,level,parent` CSV (header line required; LF or CRLF;
 * blank lines and a UTF-8 BOM are ignored; no quoting). Rows may come in any order.
 * Checks, in this order: each line's syntax (6-digit codes, known level, code shape of the
 * level, non-empty name, empty parent for a province); duplicate codes; then each parent:
 * it exists, is one level up, and its code is the prefix of the child's (2 digits for a
 * prefecture, 4 for a county). Some prefectures (e.g. 441900) have no counties.
 * Returns the table, or NULL with `origin:line: reason` in errstr (`origin: reason` when
 * no line applies). The table does not refer to csv after the call. */
struct op_regions *op_regions_new_from_buffer(const char *csv, size_t len, const char *origin,
                                              char *errstr, size_t errstr_size);
/* The same from a file; errors use the path as origin. path NULL: op_regions_new_default (what
 * a program's unset regions.file means). */
struct op_regions *op_regions_new_from_file(const char *path, char *errstr, size_t errstr_size);
/* The copy of schemas/regions.csv compiled into the library (origin "embedded:regions.csv"). */
struct op_regions *op_regions_new_default(char *errstr, size_t errstr_size);
void op_regions_destroy(struct op_regions *regs);

/* The region with this code, or NULL. O(log n). The pointer lives as long as the table. */
const struct op_region *op_regions_find(const struct op_regions *regs, uint32_t code);

/* Fills out[0] with the region and out[1], out[2] with its ancestors up to the province.
 * Returns how many were filled (1 for a province, 3 for a county), 0 if code is unknown. */
size_t op_regions_chain(const struct op_regions *regs, uint32_t code,
                        const struct op_region *out[3]);

/* Iteration in ascending code order: i in [0, op_regions_count()); NULL past the end. */
size_t op_regions_count(const struct op_regions *regs);
const struct op_region *op_regions_at(const struct op_regions *regs, size_t i);

/* Parses exactly six ASCII digits (NUL-terminated) into *code. Returns 0, or -1 leaving
 * *code unchanged. Says nothing about whether the code exists. */
int op_regions_parse_code(const char *s, uint32_t *code);

/* The code of the province containing code: its first two digits followed by 0000. */
uint32_t op_region_province_code(uint32_t code);

/* "province", "prefecture" or "county"; "?" for other values. */
const char *op_region_level_name(enum op_region_level level);

/* Authorisation: 1 if the 6-digit code starts with prefix, a string of 2, 4 or 6 ASCII
 * digits ("53" = all of Yunnan, "5301" = Kunming and its counties, "530102" = that code
 * only); 0 otherwise, including for a malformed prefix, so a typo never grants access.
 * Note "530000" matches only the province code itself, not its prefectures or counties. */
int op_region_matches_prefix(uint32_t code, const char *prefix);

/* 1 if prefix is 2, 4 or 6 ASCII digits: validate configured prefixes at startup with it. */
int op_region_prefix_valid(const char *prefix);

#endif
