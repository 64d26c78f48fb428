/* Display names of the schemas' enum symbols (funding source and purpose, region level) in Chinese
 * and English: the one table the page and reports read; docs/events.md holds the same names. */
#ifndef OP_LABELS_H
#define OP_LABELS_H

/* OP_LABEL_FIGURE: a rollup's scalar figures by field name (funding_fen is "资金(元)");
 * OP_LABEL_WINDOW_KIND: DAY, MONTH, CAMPAIGN, ALL. */
enum op_label_enum {
    OP_LABEL_FUNDING_SOURCE,
    OP_LABEL_FUNDING_PURPOSE,
    OP_LABEL_LEVEL,
    OP_LABEL_FIGURE,
    OP_LABEL_WINDOW_KIND
};

/* The name of symbol (e.g. "UNION_FUNDS") in enum e, Chinese when zh else English; NULL for a
 * symbol the table does not know (callers show the symbol itself). Static storage. */
const char *op_label(enum op_label_enum e, const char *symbol, int zh);

#endif
