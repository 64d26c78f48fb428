/* outreach-mock-broker: the demo's embedded default broker, a librdkafka mock cluster hosted
 * in this process. Never for tests of exactly-once: it has no transaction markers. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "config.h"
#include "kafka.h"
#include "log.h"
#include "service.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: outreach-mock-broker --bootstrap-file PATH [--topic NAME:PARTITIONS]...\n"
                 "                            [-X key=value]... [-v|-q]\n"
                 "\n"
                 "Starts a one-broker librdkafka mock cluster on 127.0.0.1 (kernel-chosen port),\n"
                 "creates the given topics (the mock has no CreateTopics API), writes the\n"
                 "bootstrap address to PATH and serves until SIGTERM or SIGINT. -X sets a\n"
                 "librdkafka property of the client hosting the cluster (e.g. debug=mock).\n"
                 "\n"
                 "For the demo only: the mock keeps at most 100k messages or 5 MiB per partition\n"
                 "and silently drops older ones, writes no transaction markers and discards\n"
                 "transactional offset commits. Exit status: 0 after a signal, 2 on bad usage or\n"
                 "setup failure.\n");
}

struct args {
    const char *bootstrap_file;
    const char *topics[64];
    int n_topics;
};

static int option(int argc, char **argv, int i, void *opaque)
{
    struct args *a = opaque;
    int file = strcmp(argv[i], "--bootstrap-file") == 0, topic = strcmp(argv[i], "--topic") == 0;
    if (!file && !topic)
        return 0;
    if (i + 1 >= argc) {
        fprintf(stderr, "outreach-mock-broker: %s needs a value (see --help)\n", argv[i]);
        return -1;
    }
    if (file) {
        a->bootstrap_file = argv[i + 1];
    } else {
        if (a->n_topics == (int)(sizeof a->topics / sizeof a->topics[0])) {
            fprintf(stderr, "outreach-mock-broker: at most 64 --topic\n");
            return -1;
        }
        a->topics[a->n_topics++] = argv[i + 1];
    }
    return 2;
}

int main(int argc, char **argv)
{
    struct args a = {0};
    char err[512];
    op_log_set_prog("outreach-mock-broker");
    struct op_conf *conf = op_conf_new_kafka(mockbroker_conf_defs);
    if (!conf) {
        fprintf(stderr, "outreach-mock-broker: out of memory\n");
        return 2;
    }
    int first;
    enum op_cli_result r =
        op_cli_parse(argc, argv, conf, mockbroker_conf_defs, usage, option, &a, &first);
    if (r != OP_CLI_OK || first < argc || !a.bootstrap_file) {
        if (r == OP_CLI_OK)
            usage(stderr);
        op_conf_destroy(conf);
        return r == OP_CLI_EXIT ? 0 : 2;
    }
    /* The hosting client needs no broker of its own. */
    static const char *const settings[] = {"bootstrap.servers", "", NULL};
    struct op_kafka_client_opts o = {.settings = settings};
    rd_kafka_t *rk = op_kafka_client_new(conf, RD_KAFKA_PRODUCER, &o, err, sizeof err);
    op_conf_destroy(conf);
    if (!rk) {
        fprintf(stderr, "outreach-mock-broker: %s\n", err);
        return 2;
    }
    const char *bootstrap_file = a.bootstrap_file;
    const char **topics = a.topics;
    int n_topics = a.n_topics;
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
    if (!mc) {
        fprintf(stderr, "outreach-mock-broker: cannot create the mock cluster\n");
        rd_kafka_destroy(rk);
        return 2;
    }
    int rc = 0;
    for (int i = 0; i < n_topics && rc == 0; i++) {
        char name[256];
        const char *colon = strrchr(topics[i], ':');
        int parts = colon ? atoi(colon + 1) : 0;
        size_t len = colon ? (size_t)(colon - topics[i]) : 0;
        if (!colon || parts < 1 || len == 0 || len >= sizeof name) {
            fprintf(stderr, "outreach-mock-broker: --topic %s: want NAME:PARTITIONS\n", topics[i]);
            rc = 2;
            break;
        }
        memcpy(name, topics[i], len);
        name[len] = 0;
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, parts, 1);
        if (e) {
            fprintf(stderr, "outreach-mock-broker: topic %s: %s\n", name, rd_kafka_err2str(e));
            rc = 2;
        }
    }
    if (rc == 0) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", bootstrap_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%s\n", rd_kafka_mock_cluster_bootstraps(mc)) < 0 || fclose(f) != 0 ||
            rename(tmp, bootstrap_file) != 0) {
            perror(bootstrap_file);
            rc = 2;
        } else {
            fprintf(stderr, "outreach-mock-broker: serving %s\n",
                    rd_kafka_mock_cluster_bootstraps(mc));
        }
    }
    op_service_install_signals();
    while (rc == 0 && op_service_run)
        op_clock_sleep_ms(200);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return rc;
}
