#!/bin/sh
# Builds the whole-message fuzzer (session_fuzzer.cpp) with every source of the milter but the
# libmilter glue and the programs' main(), and runs it for a bounded time over the seed corpus;
# see fuzz-lib.sh for the exit codes and the environment.
. "$(dirname "$0")/fuzz-lib.sh"
# shellcheck disable=SC2046
run_fuzzer session_fuzzer "$here/session-seeds" "$here/session_fuzzer.cpp" \
    $(find "$top/src" -name '*.cpp' ! -path '*/milter/*' ! -name main.cpp ! -name stats_main.cpp \
        ! -name test_mode.cpp | sort) \
    $(pkg-config --cflags --libs opendkim inih libpcre2-8 hiredis) \
    -lspf2 -lcctz -lcrypto -lresolv -lpthread
