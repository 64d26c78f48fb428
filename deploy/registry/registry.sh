#!/usr/bin/env bash
# A real schema registry for development and tests: Apicurio Registry (in-memory storage, its
# Confluent-compatible API at /apis/ccompat/v7) from Maven Central, no Docker. Usage: --help
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
STATE=${OUTREACH_STATE:-$REPO/.state}
RDIR="$STATE/registry"
VERSION=${APICURIO_VERSION:-3.0.9}
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+(\.Final)?$ ]] || { echo "registry: error: bad APICURIO_VERSION" >&2; exit 1; }
APP="$RDIR/app-$VERSION"
HOST=127.0.0.1
PORT=${REGISTRY_PORT:-8081}
COMPAT=${REGISTRY_COMPATIBILITY:-BACKWARD}
WAIT_SECS=${REGISTRY_WAIT_SECS:-90}
# C1 only and a small heap: ready in seconds on 2 shared cores; it holds a few schemas.
JVM_OPTS=${REGISTRY_JVM_OPTS:--Xms64m -Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}

say() { printf 'registry: %s\n' "$*" >&2; }
die() { printf 'registry: error: %s\n' "$*" >&2; exit 1; }

usage() {
    cat <<'EOF'
registry.sh - a local Apicurio Registry (in-memory) with the Confluent Schema Registry API

Usage: deploy/registry/registry.sh COMMAND [--port P]

  fetch      copy io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all (default
             3.0.9, Java 17+) from Maven Central (mvn dependency:copy) and unpack it under
             $OUTREACH_STATE/registry (skipped when already there)
  up         start it on 127.0.0.1:P (P: --port, else $REGISTRY_PORT, else 8081), wait until
             the API answers, set the global compatibility level ($REGISTRY_COMPATIBILITY,
             default BACKWARD: set explicitly, as defaults differ between versions), print the
             Confluent-compatible base URL on stdout. Exits 0 at once when a registry already
             answers there. Storage is in memory: a restart forgets every schema.
  down       stop the registry of that port that we started (SIGTERM, SIGKILL after 20 s)
  status     exit 0 only if our registry on that port runs and answers
  url        print the base URL for that port
  java       print the Java 17+ that `up` would use; exit 1 if there is none

Java: $JAVA, else `java` on PATH, else the newest /usr/lib/jvm/*/bin/java, if 17 or newer.
Logs: $OUTREACH_STATE/registry/registry-P.log.
EOF
}

java_major() { "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }

# Prints a java of version 17 or newer, or returns 1.
find_java() {
    local c v
    for c in ${JAVA:-} "$(command -v java 2>/dev/null || true)" /usr/lib/jvm/*/bin/java; do
        [[ -n $c && -x $c ]] || continue
        v=$(java_major "$c")
        [[ -n $v && $v -ge 17 ]] && { echo "$c"; return 0; }
    done
    return 1
}

url() { echo "http://$HOST:$PORT/apis/ccompat/v7"; }
answers() { curl -sf -m 2 -o /dev/null "$(url)/config"; }
pidfile() { echo "$RDIR/registry-$PORT.pid"; }
runner() { compgen -G "$APP/*-runner.jar" | head -1; }

our_pid() {   # prints the pid of our registry on PORT if it runs, else returns 1
    local f pid
    f=$(pidfile)
    [[ -f $f ]] || return 1
    pid=$(cat "$f")
    [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "apicurio-registry" || return 1
    echo "$pid"
}

cmd_fetch() {
    if [[ -n $(runner) ]]; then
        say "Apicurio Registry $VERSION already in $APP"
        return 0
    fi
    command -v mvn >/dev/null || die "mvn not found (deploy/deps.sh installs maven)"
    local t0=$SECONDS tmp="$RDIR/fetch.$$"
    mkdir -p "$RDIR"
    rm -rf "$tmp"
    say "fetching io.apicurio:apicurio-registry-app:$VERSION:tar.gz:all from Maven Central ..."
    if ! mvn -B -q -Dstyle.color=never dependency:copy \
            -Dartifact="io.apicurio:apicurio-registry-app:$VERSION:tar.gz:all" \
            -DoutputDirectory="$tmp/dl" >"$RDIR/fetch.log" 2>&1; then
        sed 's/\x1b\[[0-9;]*m//g' "$RDIR/fetch.log" >&2
        rm -rf "$tmp"
        die "mvn dependency:copy failed (log: $RDIR/fetch.log)"
    fi
    mkdir -p "$tmp/app"
    tar xzf "$tmp"/dl/*.tar.gz -C "$tmp/app" || { rm -rf "$tmp"; die "cannot unpack the tarball"; }
    compgen -G "$tmp/app/*-runner.jar" >/dev/null || { rm -rf "$tmp"; die "no -runner.jar in the tarball (Apicurio >= 3.1 ships quarkus-run.jar: not supported here)"; }
    rm -rf "$APP"
    mv "$tmp/app" "$APP"
    rm -rf "$tmp"
    say "fetched Apicurio Registry $VERSION ($(du -sh "$APP" | cut -f1)) in $((SECONDS - t0)) s"
}

cmd_up() {
    if answers; then
        say "a registry already answers on $HOST:$PORT"
        url
        return 0
    fi
    local java
    java=$(find_java) || die "no Java 17 or newer found (set JAVA=/path/to/java)"
    cmd_fetch
    local log="$RDIR/registry-$PORT.log" jar
    jar=$(runner)
    say "starting Apicurio Registry $VERSION on $HOST:$PORT ($java, log: $log)"
    # shellcheck disable=SC2086 # JVM_OPTS is a list of options
    (cd "$APP" && exec nohup "$java" $JVM_OPTS -Dquarkus.http.host=$HOST \
        -Dquarkus.http.port="$PORT" -jar "$jar" >"$log" 2>&1 </dev/null 9>&-) &
    echo $! >"$(pidfile)"
    local i pid=$!
    for ((i = 0; i < WAIT_SECS * 4; i++)); do
        answers && break
        kill -0 "$pid" 2>/dev/null || { tail -20 "$log" >&2; die "the registry exited during start-up"; }
        sleep 0.25
    done
    answers || { tail -20 "$log" >&2; die "no answer from $(url) after $WAIT_SECS s"; }
    curl -sf -m 5 -X PUT -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
        -d "{\"compatibility\":\"$COMPAT\"}" "$(url)/config" >/dev/null ||
        die "cannot set the compatibility level $COMPAT"
    say "ready in $((i / 4)) s; global compatibility $COMPAT"
    url
}

cmd_down() {
    local pid i
    if ! pid=$(our_pid); then
        say "no registry of ours on port $PORT"
        rm -f "$(pidfile)"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 80; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    rm -f "$(pidfile)"
    say "stopped the registry on port $PORT (pid $pid)"
}

cmd_status() {
    local pid
    if pid=$(our_pid) && answers; then
        say "running on $HOST:$PORT (pid $pid): $(curl -s -m 2 "$(url)/config")"
        return 0
    fi
    say "not running on $HOST:$PORT"
    return 1
}

main() {
    local cmd=${1:-}
    [[ -n $cmd ]] || { usage >&2; exit 2; }
    shift
    while (($#)); do
        case $1 in
        --port) PORT=${2:?--port needs a value}; shift 2 ;;
        *) die "unknown argument $1 (see --help)" ;;
        esac
    done
    [[ $PORT =~ ^[0-9]+$ ]] || die "bad port $PORT"
    mkdir -p "$RDIR"
    case $cmd in
    -h | --help | help) usage ;;
    fetch) cmd_fetch ;;
    up) exec 9>"$RDIR/.lock"; flock 9; cmd_up ;;
    down) exec 9>"$RDIR/.lock"; flock 9; cmd_down ;;
    status) cmd_status ;;
    url) url ;;
    java) find_java ;;
    *) usage >&2; exit 2 ;;
    esac
}

main "$@"
