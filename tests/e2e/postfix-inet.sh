#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# End-to-end test: a private Postfix on loopback with ecomm-milter attached over
# an inet socket on 127.0.0.1 (a free port).
# Run by "make check" (env: top_srcdir, top_builddir, ECOMM_MILTER); exit 77 = skipped.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/scenarios.sh"
# With the default no_reply = always the stages after connect go without replies over TCP too,
# but for DATA (postfix-unix.sh tests the path where every stage replies, no_reply = never).
unset E2E_NO_REPLY
e2e_run_scenarios inet
