# shellcheck shell=bash
# The compile commands of the benchmarks' C tools, sourced by bench-lib.sh (protocol and memory
# benchmarks) and e2e-bench.sh, so that a tool's flags and libraries are written once.  Each
# takes the output path, leaves the compiler's messages on stderr and returns its status.

bench_tools_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# compile_null_milter OUT: the do-nothing milter (libmilter; libcrypto for its -s digest).
compile_null_milter() {
    # shellcheck disable=SC2046  # pkg-config's output is several words
    gcc -O2 -Wall -Wextra -o "$1" "$bench_tools_dir/null_milter.c" \
        $(pkg-config --cflags --libs milter libcrypto) -lpthread
}

# compile_log_sink OUT: the /dev/log reader of the benchmark namespace.
compile_log_sink() {
    gcc -O2 -Wall -Wextra -o "$1" "$bench_tools_dir/log_sink.c"
}
