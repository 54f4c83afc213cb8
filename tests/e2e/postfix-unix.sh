#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# End-to-end test: a private Postfix on loopback with ecomm-milter attached over
# a unix socket under the work dir (mode 0666, so Postfix's smtpd can write to it).
# Run by "make check" (env: top_srcdir, top_builddir, ECOMM_MILTER); exit 77 = skipped.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/scenarios.sh"
# The other tests use the default no_reply = always (the MTA sends the stages after connect
# without waiting); this one makes every stage reply (no_reply = never), so that path is
# tested with Postfix too.
export E2E_NO_REPLY=never
e2e_run_scenarios unix
