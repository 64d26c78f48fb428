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

/* The reporter's xlsx column titles say the same. */
static const struct label figures[] = {
    {"event_count", "事件数", "Events"},
    {"visits", "走访慰问(次)", "Visits"},
    {"workers_reached", "服务职工(人)", "Workers reached"},
    {"households", "户数", "Households"},
    {"staff", "工作人员(人)", "Staff"},
    {"funding_fen", "资金(元)", "Funding (yuan)"},
    {"recipients", "受助人数", "Recipients"},
    {"surveys", "调研(次)", "Surveys"},
    {"enterprises", "调研企业(家)", "Enterprises surveyed"},
    {"respondents", "受访人数", "Respondents"},
    {"corrections", "更正次数", "Corrections"},
    {NULL, NULL, NULL},
};

static const struct label window_kinds[] = {
    {"DAY", "日", "Day"},        {"MONTH", "月", "Month"}, {"CAMPAIGN", "活动", "Campaign"},
    {"ALL", "累计", "All time"}, {NULL, NULL, NULL},
};

const char *op_label(enum op_label_enum e, const char *symbol, int zh)
{
    const struct label *t = e == OP_LABEL_FUNDING_SOURCE    ? sources
                            : e == OP_LABEL_FUNDING_PURPOSE ? purposes
                            : e == OP_LABEL_FIGURE          ? figures
                            : e == OP_LABEL_WINDOW_KIND     ? window_kinds
                                                            : levels;
    for (; symbol && t->symbol; t++)
        if (strcmp(t->symbol, symbol) == 0)
            return zh ? t->zh : t->en;
    return NULL;
}
