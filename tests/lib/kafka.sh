# shellcheck shell=bash
# Test helper: a real Kafka broker for integration tests. Source it, then:
#
#   source "$REPO/tests/lib/kafka.sh"
#   kafka_ensure                 # or: kafka_ensure --brokers 3
#   trap kafka_cleanup EXIT      # stops the cluster only if kafka_ensure started it
#   kafka_topics --create --topic t --partitions 6
#   echo hi | kcat -P -b "$KAFKA_BOOTSTRAP" -t t
#
# kafka_ensure uses $KAFKA_BOOTSTRAP when it is set and answers, else a broker already
# answering on 127.0.0.1:${KAFKA_PORT:-9092}, else starts one with deploy/kafka/kafka.sh up.
# It exports KAFKA_BOOTSTRAP. Logs go to stderr.

KAFKA_LIB_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KAFKA_SH="$KAFKA_LIB_REPO/deploy/kafka/kafka.sh"
KAFKA_STARTED_BY_US=0

# _kafka_brokers BOOTSTRAP: prints the number of brokers in a metadata answer; fails if none.
_kafka_brokers() {
    local n
    n=$(timeout 10 kcat -L -b "$1" -m 4 2>/dev/null | sed -n 's/^ *\([0-9][0-9]*\) brokers:.*/\1/p' | head -1)
    [[ -n $n ]] && echo "$n"
}

# kafka_ensure [--brokers N] [--port P]: make sure a cluster with at least N brokers answers.
kafka_ensure() {
    local want=1 port=${KAFKA_PORT:-9092} args=("$@") n out
    while (($#)); do
        case $1 in
            --brokers) want=$2; shift 2 ;;
            --brokers=*) want=${1#*=}; shift ;;
            --port) port=$2; shift 2 ;;
            --port=*) port=${1#*=}; shift ;;
            *) echo "kafka_ensure: unknown argument '$1'" >&2; return 2 ;;
        esac
    done
    local candidate=${KAFKA_BOOTSTRAP:-127.0.0.1:$port}
    if n=$(_kafka_brokers "$candidate"); then
        if ((n < want)); then
            echo "kafka_ensure: $candidate answers with $n broker(s), $want wanted;" \
                "stop it ('$KAFKA_SH down') or use another --port" >&2
            return 1
        fi
        if [[ -z ${KAFKA_BOOTSTRAP:-} ]]; then
            # Prefer our own cluster's full bootstrap list when the broker is ours.
            out=$("$KAFKA_SH" bootstrap 2>/dev/null) && [[ $out == *"127.0.0.1:$port"* ]] \
                && candidate=$out
        fi
        export KAFKA_BOOTSTRAP=$candidate
        # Not ours to stop, even when a parent script (tests/integration/run.sh) started it:
        # a test's kafka_cleanup must not take the broker from the tests after it.
        KAFKA_STARTED_BY_US=0
        echo "kafka_ensure: using running Kafka at $KAFKA_BOOTSTRAP ($n broker(s))" >&2
        return 0
    fi
    if [[ -n ${KAFKA_BOOTSTRAP:-} ]]; then
        echo "kafka_ensure: KAFKA_BOOTSTRAP=$KAFKA_BOOTSTRAP does not answer; starting a local one" >&2
    fi
    out=$("$KAFKA_SH" up "${args[@]}") || { echo "kafka_ensure: '$KAFKA_SH up' failed" >&2; return 1; }
    export KAFKA_BOOTSTRAP=${out##*$'\n'}
    KAFKA_STARTED_BY_US=1
    echo "kafka_ensure: started Kafka at $KAFKA_BOOTSTRAP" >&2
}

# kafka_cleanup: stop (and wipe) the cluster if kafka_ensure started it. Meant for 'trap ... EXIT';
# keeps the caller's exit status.
kafka_cleanup() {
    local rc=$?
    if [[ ${KAFKA_STARTED_BY_US:-0} == 1 ]]; then
        "$KAFKA_SH" down >&2 || true
        KAFKA_STARTED_BY_US=0
    fi
    return $rc
}

# kafka_topics ARGS...: TopicCommand against $KAFKA_BOOTSTRAP, e.g.
#   kafka_topics --create --topic outreach.events --partitions 6 --config cleanup.policy=compact
kafka_topics() {
    "$KAFKA_SH" topics --bootstrap-server "${KAFKA_BOOTSTRAP:?call kafka_ensure first}" "$@"
}

# kafka_groups ARGS...: ConsumerGroupCommand against $KAFKA_BOOTSTRAP, e.g.
#   kafka_groups --describe --group outreach-aggregator
kafka_groups() {
    "$KAFKA_SH" groups --bootstrap-server "${KAFKA_BOOTSTRAP:?call kafka_ensure first}" "$@"
}

# kafka_need: a broker for a single test script: $KAFKA_BOOTSTRAP as it is when set (run.sh
# checked it), else kafka_ensure. Set the exit trap that calls kafka_cleanup first (util.sh:
# UTIL_ON_EXIT=kafka_cleanup before util_init).
kafka_need() {
    [ -n "${KAFKA_BOOTSTRAP:-}" ] || kafka_ensure
}
