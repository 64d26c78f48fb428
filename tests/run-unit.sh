#!/usr/bin/env bash
# Runs every cmocka unit-test binary (test_*) in a build directory, optionally under valgrind.
# Usage: bash tests/run-unit.sh [--valgrind] DIR   (exit status non-zero if any binary failed)
set -u

usage() {
    echo "usage: $0 [--valgrind] DIR" >&2
    exit 2
}

valgrind=0
dir=
while [ $# -gt 0 ]; do
    case "$1" in
    --valgrind) valgrind=1 ;;
    -h | --help) usage ;;
    -*) usage ;;
    *)
        [ -z "$dir" ] || usage
        dir=$1
        ;;
    esac
    shift
done
[ -n "$dir" ] || usage
[ -d "$dir" ] || { echo "$0: $dir: not a directory" >&2; exit 2; }

# ASan builds: hostile-input tests ask for huge allocations and expect NULL, not an abort.
# The caller's own options come last so they win.
export ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

runner=()
if [ "$valgrind" = 1 ]; then
    command -v valgrind >/dev/null || { echo "$0: valgrind not found" >&2; exit 2; }
    # Children forked by a test (e.g. to see a programming error abort) are not reported.
    runner=(valgrind --error-exitcode=99 --leak-check=full --child-silent-after-fork=yes
        --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect -q)
fi

# A hung test must not hang CI: each binary gets this long (seconds).
timeout_s=${UNIT_TEST_TIMEOUT:-600}
passed=0
failed=0
failed_names=()
found=0
for bin in "$dir"/test_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    case "$bin" in *.d | *.o) continue ;; esac
    found=1
    name=$(basename "$bin")
    echo "=== $name${runner:+ (valgrind)}"
    if timeout "$timeout_s" "${runner[@]}" "$bin"; then
        passed=$((passed + 1))
    else
        rc=$?
        [ "$rc" = 124 ] && echo "$name: timed out after ${timeout_s}s" >&2
        echo "=== $name FAILED (exit $rc)" >&2
        failed=$((failed + 1))
        failed_names+=("$name")
    fi
done

if [ "$found" = 0 ]; then
    echo "$0: no test_* binaries in $dir" >&2
    exit 2
fi
[ "$failed" = 0 ] || echo "failed: ${failed_names[*]}" >&2
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
