/* The enum symbols' display names. The Chinese follows docs/events.md (FundingSource,
 * FundingPurpose); keep both in step when a schema gains a symbol. */
#include "labels.h"

#include <stddef.h>
#include <string.h>

struct label {
    const char *symbol, *zh, *en;
};

static const struct label sources[] = {
    {"UNION_FUNDS", "工会经费", "Union funds"},
    {"GOVERNMENT", "财政资金", "Government"},
    {"SOCIAL_CHARITY", "社会公益资金", "Social / charity"},
    {"ENTERPRISE", "企业", "Enterprise"},
    {"OTHER", "其他", "Other"},
    {NULL, NULL, NULL},
};

static const struct label purposes[] = {
    {"CASH_GRANT", "慰问金", "Cash grant"},
    {"GOODS", "慰问品", "Goods"},
    {"MEDICAL_MUTUAL_AID", "职工医疗互助", "Medical mutual aid"},
    {"HARDSHIP_RELIEF", "帮扶救助", "Hardship relief"},
    {"SERVICE_PROJECT", "服务项目", "Service project"},
    {"OTHER", "其他", "Other"},
    {NULL, NULL, NULL},
};

static const struct label levels[] = {
    {"PROVINCE", "省级", "Province"},
    {"PREFECTURE", "地级", "Prefecture"},
    {"COUNTY", "县级", "County"},
    {NULL, NULL, NULL},
};

const char *op_label(enum op_label_enum e, const char *symbol, int zh)
{
    const struct label *t = e == OP_LABEL_FUNDING_SOURCE    ? sources
                            : e == OP_LABEL_FUNDING_PURPOSE ? purposes
                                                            : levels;
    for (; symbol && t->symbol; t++)
        if (strcmp(t->symbol, symbol) == 0)
            return zh ? t->zh : t->en;
    return NULL;
}
