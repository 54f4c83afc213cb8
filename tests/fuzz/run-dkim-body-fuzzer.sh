#!/bin/sh
# Builds the DKIM body fuzzer (dkim_body_fuzzer.cpp) and runs it for a bounded time over the
# seed corpus; see fuzz-lib.sh for the exit codes and the environment.
. "$(dirname "$0")/fuzz-lib.sh"
run_fuzzer dkim_body_fuzzer "$here/dkim-body-seeds" "$here/dkim_body_fuzzer.cpp" \
    "$top/src/auth/dkim_body_hash.cpp" "$top/src/auth/dkim_key.cpp" "$top/src/auth/rsa_verifier.cpp" \
    "$top/src/auth/crlf_text.cpp" "$top/src/util/vector_path.cpp" -lcrypto
