/* What the aggregator's engine files share: the engine's context and the helpers that
 * aggregator.c (the loop, transactions, lifecycle) and changelog.c (the store and the
 * changelog topics) call across. Not a public interface: main.c and tests use aggregator.h. */
#ifndef AGG_INTERNAL_H
#define AGG_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "aggregator.h"
#include "authz.h"
#include "buf.h"
#include "codec.h"
#include "frame.h"
#include "service.h"
#include "regions.h"
#include "state.h"
#include "correct.h"
#include "store.h"

struct aggregator {
    struct op_conf *conf;
    struct agg_settings set; /* bound from conf once, by aggregator_new */
    struct op_codec *codec;
    struct op_frame *frame; /* wire.format of rollups; owns the schema registry client */
    struct op_regions *regions;
    struct op_authz *authz;
    struct agg_model model;
    int model_ready;
    rd_kafka_t *consumer, *producer, *restorer;
    int partitions;
    struct agg_state **states; /* by partition; NULL when not assigned */
    struct agg_store *store;
    char store_dir[4096];
    /* Per partition: next offset after our newest delivered record of the rollups [p*2] and
     * seen [p*2+1] topics: what the store records once the transaction is committed. */
    int64_t *changelog_next;
    size_t n_dirty;         /* rollups made dirty since the last commit (all partitions) */
    struct op_buf seen_buf; /* one seen-ids batch being assembled */
    int64_t *positions;     /* next offset to commit per partition, -1 when none */
    int txn_open;
    int64_t txn_started_ms;
    int64_t last_prune_ms;
    avro_value_t rollup_value;
    int have_rollup_value;
    const struct op_schema *audit_schema;
    avro_value_t audit_value;
    int have_audit_value;
    struct agg_counted counted; /* the outcome of the event being handled */
    /* Ids counted before this may have been forgotten (see agg_count_rules); kept in the
     * store, raised by prunes and by restores that found the seen topic truncated. */
    int64_t forgotten_before_ms;
    struct op_buf buf;
    int64_t horizon_ms, max_future_ms; /* dedup.horizon.days, max.future.skew.s in ms */
    int fatal;                         /* set from callbacks: leave the loop and exit 1 */
    int32_t flushing;                  /* partition whose dirty rollups txn_commit is producing */
    char member_id[300];               /* group.instance.id: static membership, see start() */
    /* What the HTTP thread may read: a copy refreshed by the engine thread under lock. */
    pthread_mutex_t lock;
    struct aggregator_stats snap;
    int64_t *lag_snap; /* per partition, -1 when not assigned */
    uint64_t snap_rollups, snap_seen, snap_store_bytes;
    int64_t last_lag_ms;
    struct op_service *service; /* health endpoint, sd_notify, watchdog */
    struct op_conf *(*reload_fn)(void *opaque);
    void *reload_opaque;
    struct aggregator_stats stats;
    /* The store writer thread (changelog.c): one committed transaction's frozen working sets
     * at a time. w_job, w_failed, w_stop under wlock; w_busy, w_parts, w_next are the
     * engine's, read by the writer only while w_job is set. */
    pthread_t writer;
    int writer_on;
    pthread_mutex_t wlock;
    pthread_cond_t wcond;
    int w_job, w_failed, w_stop;
    int w_busy;             /* a write is out, until agg_store_sync joins it */
    unsigned char *w_parts; /* partitions in the write */
    int64_t *w_next;        /* their changelog offsets, laid out as changelog_next */
};

/* systemd watchdog: called from the main loop and from every wait that can outlast
 * WatchdogSec (restores, offset fetches, commit retries), so only a stuck daemon is killed. */
void agg_watchdog_ping(struct aggregator *a);

/* producev with back-pressure (QUEUE_FULL waits for deliveries and retries); takes hdrs. */
int agg_produce(struct aggregator *a, const char *topic, int32_t partition, const void *key,
                size_t key_len, const void *value, size_t len, rd_kafka_headers_t *hdrs);

/* events.c: processes one event inside the open transaction. 0, or -1 when producing
 * failed (the transaction must abort). */
int agg_handle(struct aggregator *a, rd_kafka_message_t *m);

/* observe.c: the engine thread copies its counters (and, every 2 s or when forced, the
 * lag) where the HTTP thread reads them; the health callbacks; the SIGHUP reload. */
void agg_publish_snapshot(struct aggregator *a, int force);
int agg_ready_cb(void *opaque, char *why, size_t why_size);
void agg_metrics_cb(void *opaque, struct op_buf *out);
void agg_reload(struct aggregator *a);

/* changelog.c: the new ids of partition p as seen-batch records of the open transaction. */
int agg_produce_seen(struct aggregator *a, int32_t p);

/* changelog.c: after a Kafka commit, joins the previous store write, freezes the working
 * sets and hands them with the changelog offsets to the writer thread. 0, or -1 (the store
 * was removed: fatal). */
int agg_store_commit_txn(struct aggregator *a);

/* changelog.c: joins the store write out, if any (blocking); the frozen generations are
 * freed. 0, or -1 when it failed (the store was removed: fatal). Before anything that
 * writes the store or changes the assigned states. */
int agg_store_sync(struct aggregator *a);

/* changelog.c: agg_store_sync when the write out has finished; never blocks. */
int agg_store_poll(struct aggregator *a);

/* changelog.c: opens the instance's store, checked against this cluster and these topics,
 * and numbers the campaign windows as the store does (new names are added to it). 0 or -1
 * (logged). */
int agg_open_store(struct aggregator *a);

/* changelog.c: the writer thread (after the store is open); stop joins it. */
int agg_writer_start(struct aggregator *a);
void agg_writer_stop(struct aggregator *a);

/* changelog.c: logs a storage error, removes the store and marks the engine fatal. */
void agg_store_failed(struct aggregator *a, const char *what);

/* changelog.c: brings the store up to the changelogs' last stable offsets for `parts`
 * (tail or full restore). 0 or -1 with errstr. */
int agg_restore_partitions(struct aggregator *a, const rd_kafka_topic_partition_list_t *parts,
                           char *errstr, size_t errstr_size);

#endif
