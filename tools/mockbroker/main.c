/* outreach-mock-broker: the demo's embedded default broker, a librdkafka mock cluster hosted
 * in this process. Never for tests of exactly-once: it has no transaction markers. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t run = 1;

static void stop(int sig)
{
    (void)sig;
    run = 0;
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: outreach-mock-broker --bootstrap-file PATH [--topic NAME:PARTITIONS]...\n"
                 "\n"
                 "Starts a one-broker librdkafka mock cluster on 127.0.0.1 (kernel-chosen port),\n"
                 "creates the given topics (the mock has no CreateTopics API), writes the\n"
                 "bootstrap address to PATH and serves until SIGTERM or SIGINT.\n"
                 "\n"
                 "For the demo only: the mock keeps at most 100k messages or 5 MiB per partition\n"
                 "and silently drops older ones, writes no transaction markers and discards\n"
                 "transactional offset commits. Exit status: 0 after a signal, 2 on bad usage or\n"
                 "setup failure.\n");
}

int main(int argc, char **argv)
{
    const char *bootstrap_file = NULL;
    const char *topics[64];
    int n_topics = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bootstrap-file") == 0 && i + 1 < argc)
            bootstrap_file = argv[++i];
        else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc && n_topics < 64)
            topics[n_topics++] = argv[++i];
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!bootstrap_file) {
        usage(stderr);
        return 2;
    }
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* The hosting client needs no broker of its own. */
    rd_kafka_conf_set(conf, "bootstrap.servers", "", err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "outreach-mock-broker: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return 2;
    }
    /* rd_kafka_new() took ownership of conf. */
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
    signal(SIGINT, stop);
    signal(SIGTERM, stop);
    while (rc == 0 && run) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return rc;
}
