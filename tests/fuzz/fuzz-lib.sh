# Shared by the fuzz runners (sourced): builds a libFuzzer target with clang (ASan, UBSan) and
# runs it for a bounded time over its seed corpus.
#
# run_fuzzer NAME SEEDS SOURCE... [LIBRARY...]: exit 0 when nothing was found; 1 on a crash,
# leak, sanitizer report or timeout (the reproducer is left in $FUZZ_WORK); 77 when clang++ or
# the libFuzzer runtime is missing (Debian: clang and libclang-rt-14-dev), so the test is skipped.
#
# Environment: FUZZ_SECONDS (default 60), FUZZ_WORK (default a temporary directory),
# top_srcdir (default: two levels above the runner). Sets here (the runner's folder) and top.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=${top_srcdir:-$(cd "$here/../.." && pwd)}

run_fuzzer() {
    name=$1 seeds=$2
    shift 2
    seconds=${FUZZ_SECONDS:-60}
    CLANGXX=${CLANGXX:-clang++}

    command -v "$CLANGXX" >/dev/null 2>&1 || { echo "SKIP: $CLANGXX not found"; exit 77; }
    work=${FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/$name-XXXXXX")}
    mkdir -p "$work/corpus"

    probe="$work/probe.cpp"
    printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
        'extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }' >"$probe"
    if ! "$CLANGXX" -fsanitize=fuzzer "$probe" -o "$work/probe" >/dev/null 2>&1; then
        echo "SKIP: $CLANGXX cannot link -fsanitize=fuzzer (install libclang-rt-14-dev)"
        exit 77
    fi

    # Each source to an object, as many at once as there are processors; libraries (-l, -L) go
    # to the link, the other arguments (-I and the like) to every compile.
    echo "building $name in $work"
    flags="-std=c++20 -g -O1 -fno-omit-frame-pointer -fsanitize=undefined,address -fno-sanitize-recover=undefined"
    rm -rf "$work/obj" && mkdir -p "$work/obj" || exit 1
    : >"$work/sources"
    others='' libraries=''
    for arg in "$@"; do
        case $arg in
        *.cpp) printf '%s\n' "$arg" >>"$work/sources" ;;
        -l* | -L* | -Wl,*) libraries="$libraries $arg" ;;
        *) others="$others $arg" ;;
        esac
    done
    export CLANGXX flags others top work
    # shellcheck disable=SC2016
    xargs -d '\n' -P "$(nproc 2>/dev/null || echo 1)" -I{} sh -c \
        'object="$work/obj/$(printf "%s" "${1#"$top"/}" | tr / _).o"
         exec $CLANGXX $flags -fsanitize=fuzzer-no-link -I"$top/src" -I"$top/tests/unit" $others -c "$1" -o "$object"' \
        sh {} <"$work/sources" || exit 1
    # shellcheck disable=SC2086
    "$CLANGXX" $flags -fsanitize=fuzzer "$work"/obj/*.o $libraries -o "$work/$name" || exit 1

    echo "running for ${seconds}s"
    cd "$work" || exit 1
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        "./$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -max_len=65536 \
        -print_final_stats=1 corpus "$seeds" >"$work/fuzz.log" 2>&1
    status=$?
    tail -n 25 "$work/fuzz.log"
    if [ $status -ne 0 ]; then
        echo "FAIL: $name exited $status; log and reproducer in $work"
        exit 1
    fi
    [ -n "${FUZZ_WORK:-}" ] || rm -rf "$work"
    echo "PASS: no finding in ${seconds}s"
}
