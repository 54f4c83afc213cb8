#!/bin/sh
# Builds the MIME scanner fuzzer (mime_fuzzer.cpp) and runs it for a bounded time over the seed
# corpus; see fuzz-lib.sh for the exit codes and the environment.
. "$(dirname "$0")/fuzz-lib.sh"
run_fuzzer mime_fuzzer "$here/mime-seeds" "$here/mime_fuzzer.cpp" "$top"/src/mime/*.cpp "$top/src/util/vector_path.cpp"
