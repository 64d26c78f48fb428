/* outreach-gen: events that follow the seed article's own stories (ANCHOR_PCT of them),
 * each filled in by its office's function. */
#include "gen_internal.h"

/* ---- the article's own stories ------------------------------------------------------------ */

static void anchor_yunnan_funding(struct gen *g, struct event *ev)
{
    /* 云南省总: 4000余万元 over 8 groups, so 350..650万元 per group and disbursement. */
    static const uint8_t groups[8] = {GRP_HARDSHIP, GRP_MIGRANT, GRP_MODEL,   GRP_POLICE,
                                      GRP_BORDER,   GRP_PUBLIC,  GRP_PLATEAU, GRP_ONDUTY};
    static const uint16_t purposes[PUR_COUNT] = {55, 25, 0, 20, 0, 0};
    ev->f.group = groups[rng_range(&g->rng, 0, 7)];
    ev->f.source = SRC_UNION;
    ev->f.purpose = (uint8_t)rng_pick(&g->rng, purposes, PUR_COUNT);
    ev->f.amount = (int64_t)rng_range(&g->rng, 350, 650) * 1000000;
    ev->f.recipients = (int32_t)(ev->f.amount / ((int64_t)rng_range(&g->rng, 800, 2000) * 100));
    ev->f.disb = (uint8_t)rng_pick(&g->rng, gen_pur_disb[ev->f.purpose], DIS_COUNT);
}

static void anchor_yunnan_visit(struct gen *g, struct event *ev)
{
    /* The provincial 慰问组 at 巧家县: 白鹤滩 site, a 劳模 and a 困难职工 at home, a forum
     * with 10 bus drivers and 10 riders. */
    uint32_t x = rng_range(&g->rng, 0, 99);
    if (x < 50) {
        ev->v.activity = ACT_CONDOLENCE;
        ev->v.groups[ev->v.ngroups++] = GRP_ONDUTY;
        ev->v.workers = (int32_t)rng_range(&g->rng, 200, 400);
        ev->v.staff = (int32_t)rng_range(&g->rng, 10, 15);
        ev->v.venue = VEN_WORK;
        ev->note = rng_pct(&g->rng, 50) ? NOTE_BAIHETAN : -1;
        set_duration(g, ev, 90, 180);
    } else if (x < 80) {
        ev->v.activity = ACT_HOME;
        ev->v.groups[ev->v.ngroups++] = rng_pct(&g->rng, 50) ? GRP_MODEL : GRP_HARDSHIP;
        ev->v.workers = ev->v.households = 1;
        ev->v.staff = (int32_t)rng_range(&g->rng, 4, 8);
        ev->v.venue = VEN_HOME;
        set_duration(g, ev, 30, 90);
    } else {
        ev->v.activity = ACT_FORUM;
        ev->v.groups[ev->v.ngroups++] = GRP_PUBLIC;
        ev->v.groups[ev->v.ngroups++] = GRP_NEWEMP;
        ev->v.workers = (int32_t)rng_range(&g->rng, 18, 22);
        ev->v.staff = 6;
        ev->v.venue = VEN_STATION;
        set_duration(g, ev, 60, 120);
    }
}

static void anchor_tianshan_goods(struct gen *g, struct event *ev)
{
    /* 天山区总: rice, flour and oil for 2100余 sanitation workers. */
    ev->f.group = GRP_SANIT;
    ev->f.source = SRC_UNION;
    ev->f.purpose = PUR_GOODS;
    ev->f.recipients = (int32_t)rng_range(&g->rng, 2000, 2200);
    ev->f.amount = (int64_t)ev->f.recipients * rng_range(&g->rng, 150, 250) * 100;
    ev->f.disb = DIS_KIND;
    ev->note = rng_pct(&g->rng, 70) ? NOTE_GRAIN : -1;
}

static void anchor_liuzhou_survey(struct gen *g, struct event *ev)
{
    /* 柳州市总: 12 enterprises by 座谈, 实地走访 and 问卷 on 能级工资; one survey, MIXED. */
    int32_t r = (int32_t)rng_range(&g->rng, 240, 480);
    ev->s.method = MET_MIXED;
    ev->s.enterprises = (int32_t)rng_range(&g->rng, 10, 14);
    ev->s.respondents = r;
    ev->s.topic = TOP_WAGES;
    ev->s.needs[0] = NEED_PAY;
    ev->s.counts[0] = r * (int32_t)rng_range(&g->rng, 50, 65) / 100;
    ev->s.needs[1] = NEED_SKILLS;
    ev->s.counts[1] = r * (int32_t)rng_range(&g->rng, 20, 30) / 100;
    ev->s.needs[2] = NEED_OTHER;
    ev->s.counts[2] = r * (int32_t)rng_range(&g->rng, 3, 8) / 100;
    ev->s.nneeds = 3;
}

static void anchor_laoshan_eap(struct gen *g, struct event *ev)
{
    /* 崂山区总: ~400 psychological-service activities, 1万 person-times, mobile EAP stations
     * that follow the building projects. */
    static const uint16_t venues[VEN_COUNT] = {0, 15, 0, 35, 50, 0, 0, 0, 0};
    ev->v.activity = ACT_PSYCH;
    ev->v.groups[ev->v.ngroups++] = GRP_CONSTR;
    if (rng_pct(&g->rng, 20))
        ev->v.groups[ev->v.ngroups++] = GRP_NEWEMP;
    ev->v.workers = (int32_t)rng_range(&g->rng, 10, 40);
    ev->v.staff = (int32_t)rng_range(&g->rng, 1, 4);
    ev->v.venue = (uint8_t)rng_pick(&g->rng, venues, VEN_COUNT);
    ev->note = rng_pct(&g->rng, 25) ? NOTE_EAP : -1;
    set_duration(g, ev, 60, 150);
}

static void anchor_laoshan_forum(struct gen *g, struct event *ev)
{
    /* The forums with project unions that revealed the construction workers' stress. */
    int32_t r = (int32_t)rng_range(&g->rng, 30, 60), left = r;
    ev->s.method = MET_FORUM;
    ev->s.enterprises = (int32_t)rng_range(&g->rng, 3, 8);
    ev->s.respondents = r;
    ev->s.topic = TOP_HEALTH;
    for (int i = 0; i < 4; i++) {
        ev->s.sat[i] = (int32_t)rng_range(&g->rng, 0, (uint32_t)left / (uint32_t)(5 - i));
        left -= ev->s.sat[i];
    }
    ev->s.sat[4] = left;
    ev->s.needs[0] = NEED_MENTAL;
    ev->s.counts[0] = (int32_t)rng_range(&g->rng, (uint32_t)r / 2, (uint32_t)r);
    ev->s.needs[1] = NEED_REST;
    ev->s.counts[1] = (int32_t)rng_range(&g->rng, 1, (uint32_t)r / 3);
    ev->s.nneeds = 2;
}

static void anchor_hohhot_clinic(struct gen *g, struct event *ev)
{
    /* 6 medical experts for bus drivers and outdoor workers at the launch in 呼和浩特. */
    ev->v.activity = ACT_CLINIC;
    ev->v.groups[ev->v.ngroups++] = GRP_PUBLIC;
    ev->v.groups[ev->v.ngroups++] = GRP_OTHER;
    ev->v.workers = (int32_t)rng_range(&g->rng, 100, 200);
    ev->v.staff = 6 + (int32_t)rng_range(&g->rng, 0, 4);
    ev->v.venue = rng_pct(&g->rng, 60) ? VEN_PUBLIC : VEN_WORK;
    set_duration(g, ev, 120, 240);
}

static void anchor_hohhot_bus(struct gen *g, struct event *ev)
{
    /* 10万元 慰问金 and goods for the bus company's hardship, model and front-line workers. */
    ev->f.source = SRC_UNION;
    if (rng_pct(&g->rng, 60)) {
        ev->f.purpose = PUR_CASH;
        ev->f.group = rng_pct(&g->rng, 70) ? GRP_HARDSHIP : GRP_MODEL;
        ev->f.recipients = (int32_t)rng_range(&g->rng, 20, 40);
        ev->f.amount = (int64_t)ev->f.recipients * 2000 * 100;
        ev->f.disb = DIS_CASH;
    } else {
        ev->f.purpose = PUR_GOODS;
        ev->f.group = GRP_PUBLIC;
        ev->f.recipients = (int32_t)rng_range(&g->rng, 150, 250);
        ev->f.amount = (int64_t)ev->f.recipients * 200 * 100;
        ev->f.disb = DIS_KIND;
    }
}

static void anchor_beilun_check(struct gen *g, struct event *ev)
{
    /* Mobile check-ups at the 圆通 depot in 北仑 for couriers who work 05:30 to 21:00. */
    ev->v.activity = ACT_CHECK;
    ev->v.groups[ev->v.ngroups++] = GRP_NEWEMP;
    ev->v.workers = (int32_t)rng_range(&g->rng, 50, 120);
    ev->v.staff = (int32_t)rng_range(&g->rng, 8, 12);
    ev->v.venue = rng_pct(&g->rng, 70) ? VEN_WORK : VEN_MOBILE;
    ev->note = rng_pct(&g->rng, 30) ? NOTE_BEILUN : -1;
    set_duration(g, ev, 120, 240);
}

static void anchor_cangshan_meals(struct gen *g, struct event *ev)
{
    /* Making 米时 and 元宵 with 32 couriers and riders in a 仓山 union station. */
    ev->v.activity = ACT_MEALS;
    ev->v.groups[ev->v.ngroups++] = GRP_NEWEMP;
    ev->v.workers = (int32_t)rng_range(&g->rng, 25, 40);
    ev->v.staff = (int32_t)rng_range(&g->rng, 3, 8);
    ev->v.venue = VEN_STATION;
    ev->note = rng_pct(&g->rng, 40) ? NOTE_CANGSHAN : -1;
    set_duration(g, ev, 120, 180);
}

static void anchor_fuzhou_charity(struct gen *g, struct event *ev)
{
    /* 164 charity activities in ~100 stations levering 120万元 of 爱心公益资金. */
    ev->f.source = SRC_SOCIAL;
    ev->f.purpose = PUR_SERVICE;
    ev->f.group = GRP_NEWEMP;
    ev->f.recipients = (int32_t)rng_range(&g->rng, 100, 600);
    ev->f.amount = (int64_t)rng_range(&g->rng, 5000, 9600) * 100;
    ev->f.disb = DIS_OTHER;
    ev->note = rng_pct(&g->rng, 30) ? NOTE_CHARITY : -1;
}

static void anchor_xiamen_market(struct gen *g, struct event *ev)
{
    /* 会员服务日 at 五一广场: 112 merchants, free clinic and haircuts, the union card. */
    ev->v.activity = ACT_OTHER;
    if (rng_pct(&g->rng, 40))
        ev->v.groups[ev->v.ngroups++] = GRP_NEWEMP;
    ev->v.groups[ev->v.ngroups++] = GRP_OTHER;
    ev->v.workers = (int32_t)rng_range(&g->rng, 200, 800);
    ev->v.staff = (int32_t)rng_range(&g->rng, 10, 30);
    ev->v.venue = VEN_PUBLIC;
    ev->note = rng_pct(&g->rng, 50) ? NOTE_XIAMEN : -1;
    set_duration(g, ev, 180, 360);
}

static void anchor_ningbo_voucher(struct gen *g, struct event *ev)
{
    /* 宁波 "温暖加倍": 福袋 and 消费券 for the "城市超人" on duty over the holidays. */
    static const uint8_t groups[3] = {GRP_NEWEMP, GRP_SANIT, GRP_ONDUTY};
    ev->f.source = SRC_UNION;
    ev->f.purpose = PUR_GOODS;
    ev->f.group = groups[rng_range(&g->rng, 0, 2)];
    ev->f.recipients = (int32_t)rng_range(&g->rng, 200, 1500);
    ev->f.amount = (int64_t)ev->f.recipients * rng_range(&g->rng, 100, 300) * 100;
    ev->f.disb = DIS_VOUCHER;
    ev->note = rng_pct(&g->rng, 40) ? NOTE_VOUCHER : -1;
}

/* In priority order: with --agencies K, the first offices named here are kept. */
const struct anchor gen_anchor_table[] = {
    {530000, 530000, T_FUNDING, anchor_yunnan_funding},
    {530000, 530622, T_VISIT, anchor_yunnan_visit},
    {650102, 650102, T_FUNDING, anchor_tianshan_goods},
    {450200, 450200, T_SURVEY, anchor_liuzhou_survey},
    {370212, 370212, T_VISIT, anchor_laoshan_eap},
    {370212, 370212, T_SURVEY, anchor_laoshan_forum},
    {150000, 150100, T_VISIT, anchor_hohhot_clinic},
    {150000, 150100, T_FUNDING, anchor_hohhot_bus},
    {330206, 330206, T_VISIT, anchor_beilun_check},
    {350104, 350104, T_VISIT, anchor_cangshan_meals},
    {350100, 350100, T_FUNDING, anchor_fuzhou_charity},
    {350200, 350200, T_VISIT, anchor_xiamen_market},
    {330200, 330200, T_FUNDING, anchor_ningbo_voucher},
};
const size_t gen_anchor_count = sizeof gen_anchor_table / sizeof gen_anchor_table[0];
