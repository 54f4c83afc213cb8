#!/bin/sh
# Builds the DKIM verifier fuzzer (dkim_verifier_fuzzer.cpp) and runs it for a bounded time over
# the seed corpus; see fuzz-lib.sh for the exit codes and the environment.
. "$(dirname "$0")/fuzz-lib.sh"
run_fuzzer dkim_verifier_fuzzer "$here/dkim-verifier-seeds" "$here/dkim_verifier_fuzzer.cpp" \
    "$top"/src/auth/dkim*.cpp "$top/src/auth/dns_txt_reply.cpp" "$top/src/auth/rsa_verifier.cpp" \
    "$top/src/auth/crlf_text.cpp" "$top/src/mail/address.cpp" "$top/src/util/vector_path.cpp" \
    $(pkg-config --cflags --libs opendkim) -lcrypto
