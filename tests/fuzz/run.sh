#!/usr/bin/env bash
# Fuzzes with libFuzzer, ASan and UBSan for SECONDS in all (default 60), split among the targets:
# the codec's hostile-input path (fuzz_decode.c), the CSV reader (fuzz_csv.c), record conversion
# from JSON Lines and CSV (fuzz_record.c) and the .xlsx reader (fuzz_xlsx.c).
# Usage: tests/fuzz/run.sh [SECONDS]. Exits non-zero on any finding.
set -euo pipefail

SECS=${1:-60}
case $SECS in '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
STATE=${OUTREACH_STATE:-$ROOT/.state}
OUT=build/fuzz
CORPUS=${FUZZ_CORPUS:-$STATE/fuzz-corpus}
SEEDS=$OUT/seeds
ARTIFACTS=$STATE/fuzz-artifacts
CLANG=${CLANG:-clang}

# ---- build -----------------------------------------------------------------------------------
# Flags and packages come from the Makefile itself so the fuzz build cannot drift from it.
make_var() {
    make -s --no-print-directory -f Makefile -f - fuzz-print-var VAR="$1" <<'EOF'
fuzz-print-var: ; @echo $($(VAR))
EOF
}
CSTD=$(make_var CSTD)
WARN=$(make_var WARN)
PKGS=$(make_var PKGS)
PKG_CFLAGS=$(pkg-config --cflags $PKGS 2>/dev/null || true)
PKG_LIBS=$(pkg-config --libs $PKGS 2>/dev/null || true)
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1)

# The schemas and region table, compiled in exactly as for the daemons; the seeds need the tool.
make -s build/default/embedded_data.c bin/outreach-codec bin/outreach-gen
mkdir -p "$OUT/common" "$SEEDS" "$CORPUS" "$ARTIFACTS"
cp build/default/embedded_data.c "$OUT/embedded_data.c"

echo "fuzz: building $OUT/fuzz_decode with $CLANG"
objs=()
for src in common/*.c; do
    obj=$OUT/common/$(basename "${src%.c}").o
    # shellcheck disable=SC2086 # word splitting of the flag lists is intended
    $CLANG $CSTD $WARN "${SAN[@]}" -fsanitize=fuzzer-no-link -Icommon -I"$OUT" $PKG_CFLAGS \
        -c -o "$obj" "$src"
    objs+=("$obj")
done
# shellcheck disable=SC2086
$CLANG $CSTD "${SAN[@]}" -fsanitize=fuzzer-no-link -Icommon -c -o "$OUT/embedded_data.o" \
    "$OUT/embedded_data.c"
objs+=("$OUT/embedded_data.o")
rm -f "$OUT/libop.a"
ar rcs "$OUT/libop.a" "${objs[@]}"
# shellcheck disable=SC2086
$CLANG $CSTD $WARN "${SAN[@]}" -fsanitize=fuzzer -Icommon -I"$OUT" $PKG_CFLAGS \
    -o "$OUT/fuzz_decode" tests/fuzz/fuzz_decode.c "$OUT/libop.a" $PKG_LIBS -lm -lpthread

# The producer's readers and record conversion (not its Kafka loop, spool or main).
mkdir -p "$OUT/producers"
pobjs=()
for src in producers/input.c producers/record.c producers/record_id.c producers/record_csv.c \
    producers/jsonscan.c producers/jsonscan_scan.c producers/jsonscan_write.c \
    producers/encoding.c producers/xlsx.c producers/xlsx_parts.c producers/xlsx_sheet.c \
    producers/aliases.c; do
    obj=$OUT/producers/$(basename "${src%.c}").o
    # shellcheck disable=SC2086
    $CLANG $CSTD $WARN "${SAN[@]}" -fsanitize=fuzzer-no-link -Icommon -I"$OUT" $PKG_CFLAGS \
        -c -o "$obj" "$src"
    pobjs+=("$obj")
done
for t in fuzz_csv fuzz_record fuzz_xlsx; do
    echo "fuzz: building $OUT/$t with $CLANG"
    # shellcheck disable=SC2086
    $CLANG $CSTD $WARN "${SAN[@]}" -fsanitize=fuzzer -Icommon -I"$OUT" $PKG_CFLAGS \
        -o "$OUT/$t" "tests/fuzz/$t.c" "${pobjs[@]}" "$OUT/libop.a" $PKG_LIBS -lm -lpthread
done

# ---- seeds -----------------------------------------------------------------------------------
# Valid messages of every schema (made by our encoder), the same bodies behind a mode byte for
# op_codec_check_body, and a few hostile ones. Regenerated each run; the corpus dir keeps what
# libFuzzer found interesting across runs.
rm -f "$SEEDS"/*

hex_to_file() { # HEX FILE
    local hex=$1 esc=
    esc=$(sed 's/../\\x&/g' <<<"$hex")
    printf '%b' "$esc" >"$2"
}

# Records for each kind; the v1 lines also encode as v2 (the new fields take their defaults).
records() { # SCHEMA-NAME
    case $1 in
    visit.*)
        cat <<'EOF'
{"event_id":"V-1","occurred_at":1734652800000,"reported_at":1734739200000,"agency_id":"650102-ZGH","region":"650102","campaign":null,"activity":"HOME_VISIT","target_groups":["HARDSHIP_WORKERS"],"workers_reached":1,"households":1,"staff":2}
{"event_id":"乌鲁木齐-送温暖-0002","occurred_at":-1,"reported_at":9223372036854775807,"agency_id":"","region":"650000","campaign":"2025 两节送温暖 🧧","activity":"OTHER","target_groups":[],"workers_reached":2147483647,"households":0,"staff":-2147483648}
{"event_id":"V-3","occurred_at":0,"reported_at":-9223372036854775808,"agency_id":"a","region":"530000","campaign":"x","activity":"MEALS","target_groups":["SANITATION","CONSTRUCTION","NEW_EMPLOYMENT_FORMS","OTHER"],"workers_reached":64,"households":-65,"staff":8192}
EOF
        if [ "$1" != visit.v1 ]; then
            cat <<'EOF'
{"event_id":"V-4","occurred_at":1,"reported_at":2,"agency_id":"b","region":"650102","activity":"FORUM","target_groups":["MIGRANT_WORKERS"],"workers_reached":20,"households":0,"staff":3,"duration_minutes":90,"venue":"UNION_STATION","note":"备注：座谈会"}
EOF
        fi
        if [ "$1" = visit.v3 ]; then
            cat <<'EOF'
{"event_id":"V-4","occurred_at":1,"reported_at":3,"agency_id":"b","region":"650102","activity":"FORUM","target_groups":["MIGRANT_WORKERS"],"workers_reached":2,"households":0,"staff":3,"duration_minutes":90,"venue":"UNION_STATION","note":null,"correction":1,"retracted":true,"correction_reason":"重复上报"}
EOF
        fi
        ;;
    funding.*)
        cat <<'EOF'
{"event_id":"F-1","occurred_at":1734652800000,"reported_at":1734739200000,"agency_id":"650102-ZGH","region":"650102","campaign":null,"amount_fen":10000000,"source":"UNION_FUNDS","purpose":"CASH_GRANT","recipients":100,"target_group":"HARDSHIP_WORKERS"}
{"event_id":"资金-2","occurred_at":-9223372036854775808,"reported_at":9223372036854775807,"agency_id":"","region":"650000","campaign":"送温暖","amount_fen":9223372036854775807,"source":"OTHER","purpose":"OTHER","recipients":-2147483648,"target_group":"OTHER"}
EOF
        if [ "$1" != funding.v1 ]; then
            cat <<'EOF'
{"event_id":"F-3","occurred_at":1,"reported_at":2,"agency_id":"c","region":"650102","amount_fen":0,"source":"GOVERNMENT","purpose":"GOODS","recipients":0,"target_group":"SANITATION","disbursement":"VOUCHER","note":"消费券"}
EOF
        fi
        if [ "$1" = funding.v3 ]; then
            cat <<'EOF'
{"event_id":"F-3","occurred_at":1,"reported_at":2,"agency_id":"c","region":"650102","amount_fen":4000000000,"source":"GOVERNMENT","purpose":"GOODS","recipients":0,"target_group":"SANITATION","disbursement":"VOUCHER","note":"消费券","correction":2147483647,"retracted":false,"correction_reason":"金额录入错误"}
EOF
        fi
        ;;
    survey.*)
        cat <<'EOF'
{"event_id":"S-1","occurred_at":1734652800000,"reported_at":1734739200000,"agency_id":"650102-ZGH","region":"650102","campaign":null,"method":"QUESTIONNAIRE","enterprises":3,"respondents":120,"topic":"SATISFACTION","satisfaction":{"s1":1,"s2":2,"s3":10,"s4":50,"s5":57},"needs":[{"need":"WAGES_ARREARS","count":5},{"need":"HOUSING","count":1},{"need":"OTHER","count":2147483647}]}
{"event_id":"调研-2","occurred_at":0,"reported_at":-1,"agency_id":"","region":"650000","campaign":"春风行动","method":"OTHER","enterprises":0,"respondents":0,"topic":"OTHER","satisfaction":{"s1":0,"s2":0,"s3":0,"s4":0,"s5":0},"needs":[]}
EOF
        ;;
    rollup.*)
        cat <<'EOF'
{"window_kind":"DAY","window":"2025-01-15","region":"650102","level":"COUNTY","revision":1,"event_count":3,"first_event_at":1734652800000,"last_event_at":1734739200000,"visits":2,"visits_by_activity":{"HOME_VISIT":1,"FORUM":1},"workers_reached":21,"workers_by_group":{"HARDSHIP_WORKERS":1,"MIGRANT_WORKERS":20},"households":1,"staff":5,"funding_fen":10000000,"funding_by_source_fen":{"UNION_FUNDS":10000000},"funding_by_purpose_fen":{"CASH_GRANT":10000000},"recipients":100,"surveys":1,"enterprises":3,"respondents":120,"satisfaction":{"s1":1,"s2":2,"s3":10,"s4":50,"s5":57},"needs":{"WAGES_ARREARS":5}}
{"window_kind":"ALL","window":"","region":"650000","level":"PROVINCE","revision":9223372036854775807,"event_count":0,"first_event_at":-9223372036854775808,"last_event_at":0,"visits":0,"visits_by_activity":{},"workers_reached":0,"workers_by_group":{},"households":0,"staff":0,"funding_fen":0,"funding_by_source_fen":{},"funding_by_purpose_fen":{},"recipients":0,"surveys":0,"enterprises":0,"respondents":0,"satisfaction":{"s1":0,"s2":0,"s3":0,"s4":0,"s5":0},"needs":{}}
EOF
        ;;
    audit.*)
        cat <<'EOF'
{"event_id":"yn-2025lj-f-007","event_type":"FUNDING","agency_id":"530000-ZGH","correction_from":0,"correction_to":1,"retracted":false,"reason":"金额录入错误","reported_at":1736470800000,"applied_at":1736471000000,"source_partition":2,"source_offset":41,"changes":[{"window_kind":"DAY","window":"2025-01-06","region":"530100","level":"PREFECTURE","deltas":{"funding_fen":-36000000000}},{"window_kind":"ALL","window":"all","region":"530000","level":"PROVINCE","deltas":{}}]}
{"event_id":"","event_type":"VISIT","agency_id":"","correction_from":null,"correction_to":2147483647,"retracted":true,"reason":null,"reported_at":-9223372036854775808,"applied_at":9223372036854775807,"source_partition":-1,"source_offset":-1,"changes":[]}
EOF
        ;;
    *) return 1 ;;
    esac
}

nseeds=0
index=0
dict=$OUT/fuzz_decode.dict
printf '# Magic and the fingerprint of every schema, little-endian as in the header.\n' >"$dict"
printf 'magic="\\xC3\\x01"\n' >>"$dict"
while IFS=$'\t' read -r name hexfp _ _; do
    le=$(sed 's/../&\n/g' <<<"$hexfp" | tac | tr -d '\n')
    printf 'fp_%s="%s"\n' "${name//./_}" "$(sed 's/../\\x&/g' <<<"$le")" >>"$dict"
    mode=$(printf '%02x' "$index")
    if ! lines=$(records "$name"); then
        echo "fuzz: no seed records for $name: add some to $0" >&2
        exit 1
    fi
    hexes=$(bin/outreach-codec encode "$name" <<<"$lines")
    k=0
    while read -r hex; do
        hex_to_file "$hex" "$SEEDS/$name-$k.msg"
        hex_to_file "$mode${hex:20}" "$SEEDS/$name-$k.body"
        k=$((k + 1))
        nseeds=$((nseeds + 2))
    done <<<"$hexes"
    # Hostile: truncated body, trailing byte, unknown fingerprint, bad magic, header only.
    first=$(head -n1 <<<"$hexes")
    hex_to_file "${first:0:${#first}-6}" "$SEEDS/$name-truncated.msg"
    hex_to_file "${first}00" "$SEEDS/$name-trailing.msg"
    hex_to_file "c301${le:0:14}$(printf '%02x' $((0x${le:14:2} ^ 1)))${first:20}" \
        "$SEEDS/$name-unknown-fp.msg"
    hex_to_file "c302${first:4}" "$SEEDS/$name-bad-magic.msg"
    hex_to_file "${first:0:20}" "$SEEDS/$name-header-only.msg"
    # A body claiming a huge string length and a huge array count.
    hex_to_file "${mode}ffffffffffffffff7f" "$SEEDS/$name-huge-length.body"
    nseeds=$((nseeds + 6))
    index=$((index + 1))
done < <(bin/outreach-codec list)
hex_to_file "c301" "$SEEDS/short.msg"
nseeds=$((nseeds + 1))
echo "fuzz: $nseeds seeds for $index schemas in $SEEDS, corpus $CORPUS"

# Seeds of the producer's targets: generated files of every type, the hand-written hostile CSV
# and JSON cases of tests/fuzz/seeds/, and workbooks written by real spreadsheet libraries.
for t in csv record xlsx; do
    rm -rf "${SEEDS:?}-$t"
    mkdir -p "$SEEDS-$t" "$CORPUS-$t"
done
bin/outreach-gen --seed 3 --events 12 --format csv >"$SEEDS-csv/gen.csv"
bin/outreach-gen --seed 3 --events 12 --format csv >"$SEEDS-record/gen.csv"
bin/outreach-gen --seed 3 --events 12 >"$SEEDS-record/gen.jsonl"
bin/outreach-gen --seed 3 --events 40 --correct-rate 0.3 --retract-rate 0.1 >"$SEEDS-record/gen-fix.jsonl"
bin/outreach-gen --seed 3 --events 40 --correct-rate 0.3 --retract-rate 0.1 --format csv \
    >"$SEEDS-record/gen-fix.csv"
cp tests/fuzz/seeds/*.csv "$SEEDS-csv/"
cp tests/fuzz/seeds/*.csv tests/fuzz/seeds/*.jsonl "$SEEDS-record/"
if /usr/bin/python3 tests/unit/xlsx_fixtures.py "$SEEDS-xlsx" >/dev/null &&
    /usr/bin/python3 tests/integration/xlsx_twin.py --repo "$ROOT" --out "$SEEDS-xlsx" \
        --events 6 >/dev/null; then
    rm -f "$SEEDS-xlsx"/*.jsonl "$SEEDS-xlsx"/*.json
else
    echo "fuzz: no .xlsx seeds (python3-openpyxl, python3-xlsxwriter missing?)" >&2
fi

# ---- run -------------------------------------------------------------------------------------
# use_unaligned: avro-c places every generic value 4 bytes past its malloc'd block (a refcount
# comes first), so the pointers inside a live value are misaligned and LeakSanitizer, which
# scans aligned words only, would call everything under the codec's reusable values leaked.
TARGETS=(fuzz_decode fuzz_csv fuzz_record fuzz_xlsx)
EACH=$((SECS / ${#TARGETS[@]}))
[ "$EACH" -ge 1 ] || EACH=1
failed=0
for t in "${TARGETS[@]}"; do
    case $t in
    fuzz_decode) corpus=$CORPUS seeds=$SEEDS dictarg=(-dict="$dict") ;;
    *) corpus=$CORPUS-${t#fuzz_} seeds=$SEEDS-${t#fuzz_} dictarg=() ;;
    esac
    log=$OUT/$t.log
    echo "fuzz: running $OUT/$t for ${EACH}s (log $log)"
    set +e
    ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1 \
        LSAN_OPTIONS=use_unaligned=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$OUT/$t" -max_total_time="$EACH" -timeout=5 -rss_limit_mb=1024 \
        -print_final_stats=1 "${dictarg[@]}" -artifact_prefix="$ARTIFACTS/$t-" \
        "$corpus" "$seeds" >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    [ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n1)
    corpus_files=$(find "$corpus" -type f | wc -l)
    if [ "$rc" -ne 0 ]; then
        grep -E "ERROR|SUMMARY|$t:|Test unit written|runtime error" "$log" |
            head -n 20 >&2 || true
        echo "fuzz: $t FAILED (exit $rc) after ${execs:-?} executions;" \
            "reproducer in $ARTIFACTS, log $log" >&2
        failed=1
        continue
    fi
    echo "fuzz: $t: ${execs:-?} executions in ${EACH}s, corpus $corpus_files files," \
        "no crash, leak or timeout"
done
exit $failed
