#!/usr/bin/env bash
# A real Apache Kafka (KRaft mode, no ZooKeeper, no Docker) for development and tests,
# run from Maven Central jars (see pom.xml next to this script). Usage: kafka.sh --help
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
POM="$SCRIPT_DIR/pom.xml"
STATE=${OUTREACH_STATE:-$REPO/.state}
KDIR="$STATE/kafka"
# KAFKA_VERSION: another Kafka release than pom.xml's (its own jar folder), e.g. 3.9.1 for
# SCRAM with librdkafka < 2.6.1 (see docs/operations.md, "Kafka over SASL_SSL").
KAFKA_VERSION=${KAFKA_VERSION:-}
[[ -z $KAFKA_VERSION || $KAFKA_VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "kafka: error: bad KAFKA_VERSION" >&2; exit 1; }
LIBS="$KDIR/libs${KAFKA_VERSION:+-$KAFKA_VERSION}"
CLUSTER_ENV="$KDIR/cluster.env"
TLS_DIR="$KDIR/tls"
SSL_CLIENT_AUTH=${KAFKA_SSL_CLIENT_AUTH:-none}
SPORT=""
HOST=127.0.0.1
WAIT_SECS=${KAFKA_WAIT_SECS:-90}
STOP_GRACE_SECS=${KAFKA_STOP_GRACE_SECS:-20}
KAFKA_HEAP=${KAFKA_HEAP:--Xms128m -Xmx512m}
# C1 only: a node is ready in about half the time on 2 cores (JIT threads compete with 3 JVMs);
# set KAFKA_JVM_OPTS="-XX:+UseG1GC -XX:MaxGCPauseMillis=20" for full C2 speed in benchmarks.
KAFKA_JVM_OPTS=${KAFKA_JVM_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:TieredStopAtLevel=1}
TOOL_JVM_OPTS=${KAFKA_TOOL_JVM_OPTS:--Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}

say() { printf 'kafka: %s\n' "$*" >&2; }
die() { printf 'kafka: error: %s\n' "$*" >&2; exit 1; }

usage() {
    cat <<'EOF'
kafka.sh - a local Apache Kafka (KRaft, combined broker+controller nodes) for dev and tests

Usage: deploy/kafka/kafka.sh COMMAND [ARGS]

  fetch                      copy the Kafka jars from Maven Central into $OUTREACH_STATE/kafka/libs
                             (skipped when already cached for the current pom.xml)
  up [--brokers N] [--port P] [--controller-port C] [--sasl-ssl DIR [--sasl-ssl-port S]]
                             start N nodes (1 or 3; default 1) on 127.0.0.1:P.. (P default
                             $KAFKA_PORT or 9092; node K listens on P+K-1, its controller on C+K-1,
                             C default P+1000), wait until metadata shows N brokers, print the
                             bootstrap string on stdout. Exits 0 at once if a broker already
                             answers on 127.0.0.1:P (starting any stopped node of our own cluster).
                             --sasl-ssl DIR (or $KAFKA_SASL_SSL_DIR) adds a SASL_SSL listener with
                             SCRAM-SHA-512 on 127.0.0.1:S+K-1 (S default P+2000) beside the
                             PLAINTEXT one (kept for admin and inter-broker traffic). DIR holds PEM
                             files ca.crt, broker.crt, broker.key (unencrypted; SAN 127.0.0.1)
                             and scram-users, one NAME:PASSWORD per line (both [A-Za-z0-9._-]),
                             whose SCRAM-SHA-512 credentials are written at storage format time.
                             The PKCS12 keystore and truststore are built from them (openssl,
                             keytool) under $OUTREACH_STATE/kafka/tls. $KAFKA_SSL_CLIENT_AUTH:
                             none (default), requested or required (client certificates signed
                             by ca.crt).
  down [--keep] [--kill]     stop our nodes (SIGTERM, then SIGKILL after 20 s; --kill: SIGKILL at
                             once); wipe their data unless --keep (libs are always kept)
  status                     which nodes run, whether metadata answers (exit 0 only if all is up)
  stop-node K [--graceful]   kill -9 node K (SIGTERM with --graceful)
  start-node K               start node K again on its existing data; wait until it is back
  restart-node K [--graceful]  stop-node K, then start-node K
  bootstrap [--sasl-ssl]     print the bootstrap string of our cluster (of its SASL_SSL listener)
  topics ARGS...             org.apache.kafka.tools.TopicCommand (adds --bootstrap-server)
  groups ARGS...             org.apache.kafka.tools.consumer.group.ConsumerGroupCommand (ditto)
  tool CLASS ARGS...         run any Java main class on the Kafka classpath, e.g.
                             tool org.apache.kafka.tools.ProducerPerformance --help
  logs K [LINES]             tail node K's server.log
  --help                     this text

Environment: OUTREACH_STATE (default <repo>/.state), KAFKA_PORT (9092), KAFKA_HEAP
("-Xms128m -Xmx512m" per node), KAFKA_WAIT_SECS (90), KAFKA_STOP_GRACE_SECS (20),
KAFKA_SASL_SSL_DIR, KAFKA_SSL_CLIENT_AUTH (see up). A second cluster beside the one on 9092:
OUTREACH_STATE=/tmp/other KAFKA_PORT=19592 kafka.sh up (its own data, ports and lock).
Data and logs: $OUTREACH_STATE/kafka/nodeK/{server.properties,data/,server.log,stdout.log,pid}.
EOF
}

# ---------------------------------------------------------------------------- fetch
pom_sum() {   # the stamp of pom.xml's own version stays the plain file hash
    if [[ -z $KAFKA_VERSION ]]; then sha256sum "$POM"; else { cat "$POM"; echo "$KAFKA_VERSION"; } | sha256sum; fi | cut -d' ' -f1
}

cmd_fetch() {
    local sum stamp="$LIBS/.stamp"
    sum=$(pom_sum)
    if [[ -f $stamp && $(cat "$stamp") == "$sum" ]] && compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null; then
        say "jars already cached in $LIBS ($(find -L "$LIBS" -name '*.jar' | wc -l) jars, pom sha256 ${sum:0:12})"
        return 0
    fi
    command -v mvn >/dev/null || die "mvn not found (deploy/deps.sh installs maven)"
    command -v java >/dev/null || die "java not found (deploy/deps.sh installs a JRE)"
    say "fetching Kafka jars from Maven Central into $LIBS (pom sha256 ${sum:0:12}) ..."
    local t0=$SECONDS tmp="$KDIR/libs.tmp.$$"
    mkdir -p "$KDIR"
    rm -rf "$tmp"
    if ! mvn -B -q -Dstyle.color=never -f "$POM" ${KAFKA_VERSION:+"-Dkafka.version=$KAFKA_VERSION"} \
            dependency:copy-dependencies -DincludeScope=runtime \
            -DoutputDirectory="$tmp" >"$KDIR/fetch.log" 2>&1; then
        sed 's/\x1b\[[0-9;]*m//g' "$KDIR/fetch.log" >&2
        rm -rf "$tmp"
        die "mvn dependency:copy-dependencies failed (log: $KDIR/fetch.log)"
    fi
    printf '%s\n' "$sum" >"$tmp/.stamp"
    rm -rf "$LIBS"
    mv "$tmp" "$LIBS"
    say "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars ($(du -sh "$LIBS" | cut -f1)) in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------------------- helpers
node_dir() { echo "$KDIR/node$1"; }

load_cluster() {   # sets N PORT CPORT CLUSTER_ID SPORT; returns 1 when there is no cluster of ours
    [[ -f $CLUSTER_ENV ]] || return 1
    # shellcheck disable=SC1090
    source "$CLUSTER_ENV"
    N=$KAFKA_NODES PORT=$KAFKA_BASE_PORT CPORT=$KAFKA_CONTROLLER_BASE_PORT CLUSTER_ID=$KAFKA_CLUSTER_ID
    SPORT=${KAFKA_SASL_SSL_BASE_PORT:-}   # empty: no SASL_SSL listener
    # Our nodes run on the jars they were formatted with, whatever KAFKA_VERSION says now.
    KAFKA_VERSION=${KAFKA_CLUSTER_VERSION:-}
    LIBS="$KDIR/libs${KAFKA_VERSION:+-$KAFKA_VERSION}"
}

bootstrap_of() {   # N PORT
    local k out=""
    for ((k = 1; k <= $1; k++)); do out+="${out:+,}$HOST:$(($2 + k - 1))"; done
    echo "$out"
}

node_pid() {   # prints the pid of node K if it runs (and really is that node), else returns 1
    local k=$1 pidf pid cmdline
    pidf="$(node_dir "$k")/pid"
    [[ -f $pidf ]] || return 1
    pid=$(cat "$pidf" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmdline == *kafka.Kafka*"$(node_dir "$k")/server.properties"* ]] || return 1
    echo "$pid"
}

alive() {   # pid exists and is not a zombie (a zombie's cmdline is empty; /proc sizes read 0)
    local c
    kill -0 "$1" 2>/dev/null || return 1
    c=$(tr -d '\0' <"/proc/$1/cmdline" 2>/dev/null) || return 1
    [[ -n $c ]]
}

port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# brokers_seen BOOTSTRAP: prints "COUNT FROM_ID" from a metadata request, returns 1 if no answer
brokers_seen() {
    local out count from
    out=$(timeout 10 kcat -L -b "$1" -m 4 2>/dev/null) || return 1
    count=$(sed -n 's/^ *\([0-9][0-9]*\) brokers:.*/\1/p' <<<"$out" | head -1)
    from=$(sed -n 's/.*(from broker \([0-9-]*\):.*/\1/p' <<<"$out" | head -1)
    [[ -n $count ]] || return 1
    echo "$count ${from:-?}"
}

tail_logs() {
    local k d
    for k in "$@"; do
        d=$(node_dir "$k")
        for f in "$d/server.log" "$d/stdout.log"; do
            [[ -s $f ]] || continue
            echo "----- node $k: tail $f" >&2
            tail -n 30 "$f" >&2
        done
    done
}

write_log4j() {
    cat >"$KDIR/log4j2.properties" <<'EOF'
# Generated by deploy/kafka/kafka.sh. ${sys:kafka.logs.dir} is the node folder.
status = warn
name = outreach-kafka
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
EOF
    cat >"$KDIR/log4j2-tools.properties" <<'EOF'
# Generated by deploy/kafka/kafka.sh: command-line tools log warnings to stderr.
status = warn
name = outreach-kafka-tools
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
}

write_props() {   # K N PORT CPORT [SPORT]: SPORT adds the SASL_SSL listener (tls_prepare first)
    local k=$1 n=$2 port=$3 cport=$4 sport=${5:-} d voters="" j rf isr
    local listeners advertised protomap="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    d=$(node_dir "$k")
    for ((j = 1; j <= n; j++)); do voters+="${voters:+,}$j@$HOST:$((cport + j - 1))"; done
    rf=$((n < 3 ? n : 3))
    isr=$((rf > 1 ? 2 : 1))
    listeners="PLAINTEXT://$HOST:$((port + k - 1)),CONTROLLER://$HOST:$((cport + k - 1))"
    advertised="PLAINTEXT://$HOST:$((port + k - 1))"
    if [[ -n $sport ]]; then
        listeners+=",SASL_SSL://$HOST:$((sport + k - 1))"
        advertised+=",SASL_SSL://$HOST:$((sport + k - 1))"
        protomap+=",SASL_SSL:SASL_SSL"
    fi
    mkdir -p "$d/data"
    cat >"$d/server.properties" <<EOF
# Generated by deploy/kafka/kafka.sh for node $k of $n. Regenerated by 'up' after 'down'.
process.roles=broker,controller
node.id=$k
controller.quorum.voters=$voters
listeners=$listeners
advertised.listeners=$advertised
listener.security.protocol.map=$protomap
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$d/data

# Topics: created explicitly by the project, never by a typo.
auto.create.topics.enable=false
num.partitions=6
default.replication.factor=$rf
min.insync.replicas=$isr
delete.topic.enable=true

# Internal topics sized for a $n-node test cluster (transactions work on one node).
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0

# A 2-core box running up to three nodes plus the tests.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=33554432
log.retention.hours=168
log.segment.bytes=134217728
EOF
    [[ -n $sport ]] || return 0
    local pw
    pw=$(cat "$TLS_DIR/store.pass")
    cat >>"$d/server.properties" <<EOF

# SASL_SSL for clients: TLS with the PKCS12 stores built by 'up --sasl-ssl', SCRAM-SHA-512
# users from its scram-users (added at format time). Inter-broker traffic stays PLAINTEXT.
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$TLS_DIR/broker.p12
ssl.keystore.password=$pw
ssl.key.password=$pw
ssl.truststore.type=PKCS12
ssl.truststore.location=$TLS_DIR/truststore.p12
ssl.truststore.password=$pw
ssl.client.auth=$SSL_CLIENT_AUTH
EOF
    chmod 600 "$d/server.properties"
}

# tls_prepare DIR: checks DIR (see usage), builds $TLS_DIR/{broker.p12,truststore.p12,store.pass}
# and $TLS_DIR/scram-args (one --add-scram argument per line for the storage format).
tls_prepare() {
    local dir=$1 f name pw line n=0
    for f in ca.crt broker.crt broker.key scram-users; do
        [[ -r $dir/$f ]] || die "--sasl-ssl $dir: missing $f (see --help)"
    done
    command -v openssl >/dev/null || die "openssl not found (deploy/deps.sh installs it)"
    command -v keytool >/dev/null || die "keytool not found (it comes with the JDK; deploy/deps.sh)"
    rm -rf "$TLS_DIR"
    mkdir -p "$TLS_DIR"
    chmod 700 "$TLS_DIR"
    head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$TLS_DIR/store.pass"
    pw=$(cat "$TLS_DIR/store.pass")
    openssl pkcs12 -export -name broker -in "$dir/broker.crt" -inkey "$dir/broker.key" \
        -certfile "$dir/ca.crt" -passout "pass:$pw" -out "$TLS_DIR/broker.p12" \
        >"$TLS_DIR/openssl.log" 2>&1 ||
        { cat "$TLS_DIR/openssl.log" >&2; die "openssl pkcs12 -export failed for $dir/broker.{crt,key}"; }
    keytool -importcert -noprompt -alias outreach-ca -file "$dir/ca.crt" -storetype PKCS12 \
        -keystore "$TLS_DIR/truststore.p12" -storepass "$pw" >"$TLS_DIR/keytool.log" 2>&1 ||
        { cat "$TLS_DIR/keytool.log" >&2; die "keytool -importcert failed for $dir/ca.crt"; }
    : >"$TLS_DIR/scram-args"
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line%$'\r'}
        [[ -z $line || $line == \#* ]] && continue
        name=${line%%:*} f=${line#*:}
        [[ $line == *:* && $name =~ ^[A-Za-z0-9._-]+$ && $f =~ ^[A-Za-z0-9._-]+$ ]] ||
            die "$dir/scram-users: expected NAME:PASSWORD of [A-Za-z0-9._-] (the line is not shown)"
        printf 'SCRAM-SHA-512=[name=%s,password=%s]\n' "$name" "$f" >>"$TLS_DIR/scram-args"
        n=$((n + 1))
    done <"$dir/scram-users"
    ((n > 0)) || die "$dir/scram-users: no user"
    chmod 600 "$TLS_DIR"/*
    say "SASL_SSL: keystore and truststore in $TLS_DIR, $n SCRAM-SHA-512 user(s)"
}

start_node() {   # K (server.properties and formatted data must exist)
    local k=$1 d pid
    d=$(node_dir "$k")
    if pid=$(node_pid "$k"); then
        say "node $k already running (pid $pid)"
        return 0
    fi
    [[ -f $d/data/meta.properties ]] || die "node $k has no formatted data in $d/data"
    rm -f "$d/pid"
    # The pid file is written by the process that then execs java (setsid: own session, so a
    # test's Ctrl-C or process-group kill does not take the broker down with it).
    # shellcheck disable=SC2086,SC2016
    KAFKA_PIDFILE="$d/pid" setsid nohup bash -c 'echo $$ >"$KAFKA_PIDFILE"; exec "$@"' kafka-node \
        java $KAFKA_HEAP $KAFKA_JVM_OPTS -XX:+ExitOnOutOfMemoryError \
        -Djava.awt.headless=true -Dkafka.logs.dir="$d" \
        -Dlog4j2.configurationFile="$KDIR/log4j2.properties" \
        -cp "$LIBS/*" kafka.Kafka "$d/server.properties" \
        >"$d/stdout.log" 2>&1 </dev/null 9>&- &
    local i
    for ((i = 0; i < 50; i++)); do [[ -s $d/pid ]] && break; sleep 0.1; done
    say "started node $k (pid $(cat "$d/pid" 2>/dev/null || echo '?'), $HOST:$((PORT + k - 1)), controller $HOST:$((CPORT + k - 1)), log $d/server.log)"
}

# wait_ready [K]: until metadata shows all N brokers (and, given K, node K answers itself).
wait_ready() {
    local k=${1:-} boot t0=$SECONDS seen count from j
    if [[ -n $k ]]; then boot="$HOST:$((PORT + k - 1))"; else boot=$(bootstrap_of "$N" "$PORT"); fi
    while :; do
        if seen=$(brokers_seen "$boot"); then
            read -r count from <<<"$seen"
            if [[ $count -ge $N && ( -z $k || $from == "$k" ) ]]; then
                say "cluster ready: $count broker(s) in metadata after $((SECONDS - t0)) s"
                return 0
            fi
        fi
        for ((j = 1; j <= N; j++)); do
            if [[ ( -z $k || $k == "$j" ) ]] && ! node_pid "$j" >/dev/null; then
                say "node $j exited while starting"
                tail_logs "$j"
                return 1
            fi
        done
        if ((SECONDS - t0 >= WAIT_SECS)); then
            say "timed out after $WAIT_SECS s waiting for ${N} broker(s) on $boot (last seen: ${seen:-no answer})"
            if [[ -n $k ]]; then tail_logs "$k"; else tail_logs $(seq 1 "$N"); fi
            return 1
        fi
        sleep 1
    done
}

stop_pids() {   # SIGNAL PID...: signal, then wait up to STOP_GRACE_SECS, then SIGKILL
    local sig=$1 pid t0=$SECONDS alive
    shift
    (($# > 0)) || return 0
    kill "-$sig" "$@" 2>/dev/null || true
    while :; do
        alive=()
        for pid in "$@"; do alive "$pid" && alive+=("$pid"); done
        ((${#alive[@]} == 0)) && return 0
        if ((SECONDS - t0 >= STOP_GRACE_SECS)); then
            say "still running after ${STOP_GRACE_SECS} s, SIGKILL: ${alive[*]}"
            kill -KILL "${alive[@]}" 2>/dev/null || true
            sleep 0.5
            return 0
        fi
        sleep 0.2
    done
}

stop_node() {   # K graceful(0/1)
    local k=$1 graceful=$2 pid
    if ! pid=$(node_pid "$k"); then
        say "node $k is not running"
        rm -f "$(node_dir "$k")/pid"
        return 0
    fi
    if ((graceful)); then
        say "stopping node $k (pid $pid, SIGTERM)"
        stop_pids TERM "$pid"
    else
        say "killing node $k (pid $pid, SIGKILL)"
        kill -KILL "$pid" 2>/dev/null || true
        local i
        for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.1; done
    fi
    rm -f "$(node_dir "$k")/pid"
}

new_cluster_id() {   # 16 random bytes, URL-safe base64 without padding (Kafka's Uuid format)
    head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

format_node() {   # K
    local k=$1 d scram=() a
    d=$(node_dir "$k")
    # SCRAM credentials go into the bootstrap metadata (KRaft has no ZooKeeper to hold them).
    if [[ -n ${SPORT:-} && -s $TLS_DIR/scram-args ]]; then
        while IFS= read -r a; do scram+=(--add-scram "$a"); done <"$TLS_DIR/scram-args"
    fi
    # shellcheck disable=SC2086
    java $TOOL_JVM_OPTS -Dlog4j2.configurationFile="$KDIR/log4j2-tools.properties" -cp "$LIBS/*" \
        kafka.tools.StorageTool format --config "$d/server.properties" --cluster-id="$CLUSTER_ID" \
        ${scram[@]+"${scram[@]}"} >"$d/format.log" 2>&1 || { cat "$d/format.log" >&2; return 1; }
}

# ---------------------------------------------------------------------------- commands
cmd_up() {
    local n=1 port=${KAFKA_PORT:-9092} cport="" k seen pids d
    local sdir=${KAFKA_SASL_SSL_DIR:-} sport=""
    while (($#)); do
        case $1 in
            --sasl-ssl) sdir=${2:?--sasl-ssl needs a directory}; shift 2 ;;
            --sasl-ssl=*) sdir=${1#*=}; shift ;;
            --sasl-ssl-port) sport=${2:?--sasl-ssl-port needs a number}; shift 2 ;;
            --sasl-ssl-port=*) sport=${1#*=}; shift ;;
            --brokers) n=${2:?--brokers needs a number}; shift 2 ;;
            --brokers=*) n=${1#*=}; shift ;;
            --port) port=${2:?--port needs a number}; shift 2 ;;
            --port=*) port=${1#*=}; shift ;;
            --controller-port) cport=${2:?}; shift 2 ;;
            --controller-port=*) cport=${1#*=}; shift ;;
            *) die "up: unknown argument '$1' (see --help)" ;;
        esac
    done
    [[ $n =~ ^[1-9]$ ]] || die "up: --brokers must be 1..9 (1 or 3 are the tested sizes)"
    [[ $port =~ ^[0-9]+$ ]] || die "up: bad --port '$port'"
    cport=${cport:-$((port + 1000))}
    if [[ -n $sdir ]]; then
        [[ -d $sdir ]] || die "up: --sasl-ssl $sdir is not a directory"
        sdir=$(cd "$sdir" && pwd)
        sport=${sport:-$((port + 2000))}
        [[ $sport =~ ^[0-9]+$ ]] || die "up: bad --sasl-ssl-port '$sport'"
        case $SSL_CLIENT_AUTH in
            none | requested | required) ;;
            *) die "KAFKA_SSL_CLIENT_AUTH must be none, requested or required" ;;
        esac
    else
        [[ -z $sport ]] || die "up: --sasl-ssl-port without --sasl-ssl"
    fi
    command -v kcat >/dev/null || die "kcat not found (deploy/deps.sh installs it)"

    if load_cluster; then
        # A cluster of ours exists (running, partly stopped, or kept by 'down --keep').
        if [[ $N != "$n" || $PORT != "$port" || $SPORT != "$sport" ]]; then
            die "our cluster in $KDIR has $N node(s) on port $PORT${SPORT:+ (SASL_SSL $SPORT)} (running or kept); asked for $n on port $port${sport:+ (SASL_SSL $sport)}: run '$0 down' first"
        else
            pids=()
            for ((k = 1; k <= N; k++)); do node_pid "$k" >/dev/null || pids+=("$k"); done
            if ((${#pids[@]} == 0)); then
                say "our $N-node cluster is already running"
            else
                cmd_fetch
                write_log4j
                say "starting stopped node(s) of our cluster on existing data: ${pids[*]}"
                for k in "${pids[@]}"; do start_node "$k"; done
                for k in "${pids[@]}"; do wait_ready "$k" || exit 1; done
            fi
            wait_ready || exit 1
            bootstrap_of "$N" "$PORT" | tee "$KDIR/bootstrap"
            return 0
        fi
    fi

    if port_busy "$port" && seen=$(brokers_seen "$HOST:$port"); then
        [[ -z $sdir ]] || die "a Kafka broker not started by this script answers on $HOST:$port: cannot add a SASL_SSL listener to it (use another KAFKA_PORT and OUTREACH_STATE)"
        say "a Kafka broker already answers on $HOST:$port ($(cut -d' ' -f1 <<<"$seen") broker(s)); not started by this script, leaving it alone"
        echo "$HOST:$port"
        return 0
    fi
    for d in "$KDIR"/node*/; do
        [[ -d $d ]] || continue
        k=${d%/}; k=${k##*/node}
        if [[ $k =~ ^[0-9]+$ ]] && node_pid "$k" >/dev/null; then
            die "node $k in $KDIR runs without a cluster.env: run '$0 down' first"
        fi
    done
    for ((k = 0; k < n; k++)); do
        port_busy $((port + k)) && die "port $((port + k)) is in use by something that does not answer Kafka metadata"
        port_busy $((cport + k)) && die "controller port $((cport + k)) is in use"
        if [[ -n $sport ]] && port_busy $((sport + k)); then die "SASL_SSL port $((sport + k)) is in use"; fi
    done

    local t0=$SECONDS
    cmd_fetch
    N=$n PORT=$port CPORT=$cport SPORT=$sport CLUSTER_ID=$(new_cluster_id)
    mkdir -p "$KDIR"
    write_log4j
    rm -rf "$KDIR"/node*/ "$TLS_DIR"
    [[ -z $sdir ]] || tls_prepare "$sdir"
    for ((k = 1; k <= N; k++)); do
        write_props "$k" "$N" "$PORT" "$CPORT" "$SPORT"
    done
    say "formatting storage for $N node(s), cluster id $CLUSTER_ID"
    pids=()
    for ((k = 1; k <= N; k++)); do format_node "$k" & pids+=($!); done
    for k in "${pids[@]}"; do wait "$k" || die "storage format failed"; done
    cat >"$CLUSTER_ENV" <<EOF
KAFKA_NODES=$N
KAFKA_BASE_PORT=$PORT
KAFKA_CONTROLLER_BASE_PORT=$CPORT
KAFKA_CLUSTER_ID=$CLUSTER_ID
KAFKA_SASL_SSL_BASE_PORT=$SPORT
KAFKA_CLUSTER_VERSION=$KAFKA_VERSION
EOF
    for ((k = 1; k <= N; k++)); do start_node "$k"; done
    wait_ready || die "cluster did not come up (logs under $KDIR/node*/; '$0 down' cleans up)"
    if ((N > 1)); then
        for ((k = 1; k <= N; k++)); do
            wait_ready "$k" >/dev/null 2>&1 || die "node $k does not answer (log: $(node_dir "$k")/server.log)"
        done
    fi
    if [[ -n $SPORT ]]; then
        for ((k = 1; k <= N; k++)); do
            port_busy $((SPORT + k - 1)) || die "node $k does not listen on SASL_SSL port $((SPORT + k - 1))"
        done
        bootstrap_of "$N" "$SPORT" >"$KDIR/bootstrap.sasl_ssl"
        say "SASL_SSL (SCRAM-SHA-512) bootstrap: $(cat "$KDIR/bootstrap.sasl_ssl")"
    fi
    say "up in $((SECONDS - t0)) s"
    bootstrap_of "$N" "$PORT" | tee "$KDIR/bootstrap"
}

cmd_down() {
    local keep=0 sig=TERM k pids=() pid
    while (($#)); do
        case $1 in
            --keep) keep=1; shift ;;
            --kill) sig=KILL; shift ;;
            *) die "down: unknown argument '$1'" ;;
        esac
    done
    local nodes=()
    for d in "$KDIR"/node*/; do
        [[ -d $d ]] || continue
        k=${d%/}; k=${k##*/node}
        [[ $k =~ ^[0-9]+$ ]] && nodes+=("$k")
    done
    for k in "${nodes[@]}"; do
        if pid=$(node_pid "$k"); then pids+=("$pid"); fi
    done
    if ((${#pids[@]})); then
        say "stopping ${#pids[@]} node(s) (SIG$sig, pids ${pids[*]})"
        local t0=$SECONDS
        stop_pids "$sig" "${pids[@]}"
        say "stopped in $((SECONDS - t0)) s"
    else
        say "no node of ours is running"
    fi
    for k in "${nodes[@]}"; do rm -f "$(node_dir "$k")/pid"; done
    if ((keep)); then
        say "kept data in $KDIR/node*/ ('up' with the same size and port restarts on it)"
    else
        for k in "${nodes[@]}"; do rm -rf "$(node_dir "$k")"; done
        rm -f "$CLUSTER_ENV" "$KDIR/bootstrap" "$KDIR/bootstrap.sasl_ssl"
        rm -rf "$TLS_DIR"
        ((${#nodes[@]})) && say "wiped node data in $KDIR"
    fi
    return 0
}

cmd_status() {
    local k pid seen rc=0
    if ! load_cluster; then
        say "no cluster of ours in $KDIR"
        if seen=$(brokers_seen "$HOST:${KAFKA_PORT:-9092}"); then
            say "but a broker answers on $HOST:${KAFKA_PORT:-9092} ($(cut -d' ' -f1 <<<"$seen") broker(s))"
        fi
        return 3
    fi
    echo "cluster $CLUSTER_ID: $N node(s), data in $KDIR"
    for ((k = 1; k <= N; k++)); do
        if pid=$(node_pid "$k"); then
            echo "  node $k: running, pid $pid, $HOST:$((PORT + k - 1)) (controller $HOST:$((CPORT + k - 1)))"
        else
            echo "  node $k: stopped ($HOST:$((PORT + k - 1)))"
            rc=1
        fi
    done
    if seen=$(brokers_seen "$(bootstrap_of "$N" "$PORT")"); then
        echo "  metadata: answers, $(cut -d' ' -f1 <<<"$seen") broker(s) alive"
        [[ $(cut -d' ' -f1 <<<"$seen") -ge $N ]] || rc=1
    else
        echo "  metadata: no answer"
        rc=1
    fi
    echo "  bootstrap: $(bootstrap_of "$N" "$PORT")"
    [[ -z $SPORT ]] || echo "  SASL_SSL bootstrap: $(bootstrap_of "$N" "$SPORT")"
    return $rc
}

node_arg() {   # validates K against our cluster
    load_cluster || die "no cluster of ours in $KDIR (run '$0 up' first)"
    if ! [[ ${1:-} =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > N)); then die "node number must be 1..$N"; fi
}

cmd_stop_node() {
    local k=${1:-} graceful=0
    shift || true
    [[ ${1:-} == --graceful ]] && graceful=1
    node_arg "$k"
    stop_node "$k" "$graceful"
}

cmd_start_node() {
    local k=${1:-}
    node_arg "$k"
    cmd_fetch
    write_log4j
    start_node "$k"
    wait_ready "$k" || die "node $k did not come back"
}

cmd_restart_node() {
    local k=${1:-} graceful=0 t0=$SECONDS
    shift || true
    [[ ${1:-} == --graceful ]] && graceful=1
    node_arg "$k"
    stop_node "$k" "$graceful"
    start_node "$k"
    wait_ready "$k" || die "node $k did not come back"
    say "node $k restarted in $((SECONDS - t0)) s"
}

default_bootstrap() {
    if load_cluster; then bootstrap_of "$N" "$PORT"; else echo "$HOST:${KAFKA_PORT:-9092}"; fi
}

cmd_bootstrap() {
    case ${1:-} in
        "") default_bootstrap ;;
        --sasl-ssl)
            load_cluster || die "no cluster of ours in $KDIR"
            [[ -n $SPORT ]] || die "our cluster has no SASL_SSL listener ('up --sasl-ssl DIR')"
            bootstrap_of "$N" "$SPORT" ;;
        *) die "bootstrap: unknown argument '$1'" ;;
    esac
}

run_tool() {   # CLASS ARGS...
    local cls=$1
    shift
    compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null || cmd_fetch
    [[ -f $KDIR/log4j2-tools.properties ]] || write_log4j
    # shellcheck disable=SC2086
    exec java $TOOL_JVM_OPTS -Dlog4j2.configurationFile="$KDIR/log4j2-tools.properties" \
        -cp "$LIBS/*" "$cls" "$@"
}

with_bootstrap() {   # CLASS ARGS...: add --bootstrap-server unless given
    local cls=$1 a
    shift
    for a in "$@"; do
        [[ $a == --bootstrap-server || $a == --bootstrap-server=* ]] && run_tool "$cls" "$@"
    done
    run_tool "$cls" --bootstrap-server "${KAFKA_BOOTSTRAP:-$(default_bootstrap)}" "$@"
}

lock() {   # serialize commands that start, stop or fetch (e.g. tests calling 'up' at once)
    mkdir -p "$KDIR"
    exec 9>"$KDIR/.lock"
    flock -w 300 9 || die "another kafka.sh holds $KDIR/.lock for 300 s"
}

main() {
    local cmd=${1:-}
    shift || true
    case $cmd in
        fetch | up | down | stop-node | start-node | restart-node) lock ;;
    esac
    case $cmd in
        fetch) cmd_fetch ;;
        up) cmd_up "$@" ;;
        down) cmd_down "$@" ;;
        status) cmd_status ;;
        stop-node) cmd_stop_node "$@" ;;
        start-node) cmd_start_node "$@" ;;
        restart-node) cmd_restart_node "$@" ;;
        bootstrap) cmd_bootstrap "$@" ;;
        topics) with_bootstrap org.apache.kafka.tools.TopicCommand "$@" ;;
        groups) with_bootstrap org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@" ;;
        tool) (($#)) || die "tool: give a Java class name"; run_tool "$@" ;;
        logs)
            node_arg "${1:-}"
            tail -n "${2:-50}" "$(node_dir "$1")/server.log" ;;
        -h | --help | help) usage ;;
        "") usage >&2; exit 2 ;;
        *) die "unknown command '$cmd' (see --help)" ;;
    esac
}

main "$@"
