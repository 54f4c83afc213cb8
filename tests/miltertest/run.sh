#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The milter protocol test: starts ecomm-milter on a unix socket in a temp dir with the e2e test
# config (tests/e2e/lib.sh), then lets miltertest(8) play the MTA with protocol.lua.
# Run by "make check" (env: top_srcdir, top_builddir, ECOMM_MILTER); exit 77 = skipped.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../e2e/lib.sh"

export PATH="$PATH:/usr/sbin:/sbin"
command -v miltertest >/dev/null 2>&1 || e2e_skip "miltertest is not installed (Debian package miltertest)"
e2e_require_milter
e2e_init miltertest

socket="unix:$E2E_DIR/milter/milter.sock"
e2e_write_milter_config "socket=$socket"
e2e_start_milter "$socket"

# The exact reply -t gives for transaction 1 of protocol.lua: the milter must send the same one
# (both run the same pipeline). Needs python3 to read the JSON; without it the text is unchecked.
expected_reply() {
    local msg=$E2E_DIR/impersonation.eml
    printf 'From: Dean <dean@example.edu>\r\nTo: student@example.edu\r\nSubject: Urgent payroll\r\n\r\nPlease update your details.\r\n' >"$msg"
    timeout "$E2E_TIMEOUT" "$ECOMM_MILTER" -c "$E2E_MILTER_CONF" -t "$msg" --client-ip 203.0.113.9 \
        --helo mx.outside.test --from dean@example.edu --rcpt student@example.edu \
        >"$E2E_DIR/t-mode.json" 2>"$E2E_DIR/t-mode.err" || return 1
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["reply"]; print(r) if r else sys.exit(1)' \
        "$E2E_DIR/t-mode.json"
}

reply=
if command -v python3 >/dev/null 2>&1; then
    if reply=$(expected_reply) && [ -n "$reply" ]; then
        e2e_pass "-t gives a reply for the impersonation: $reply"
    else
        reply=
        e2e_fail "-t gives a reply for the impersonation"
        e2e_show "$E2E_DIR/t-mode.json"
        e2e_show "$E2E_DIR/t-mode.err"
    fi
else
    e2e_note "python3 missing: the reply text is not compared"
fi

out=$E2E_DIR/miltertest.out
timeout $((E2E_TIMEOUT * 2)) miltertest -s "$here/protocol.lua" -D "socket=$socket" \
    -D "reject_reply=$reply" >"$out" 2>&1
rc=$?
sed 's/^/    /' "$out"
if [ "$rc" -eq 0 ] && grep -q 'miltertest checks passed' "$out"; then
    e2e_pass "miltertest protocol.lua"
else
    e2e_fail "miltertest protocol.lua (exit status $rc)"
    e2e_show "$E2E_MILTER_LOG"
fi

assert_true "the milter stops cleanly on SIGTERM" e2e_stop_milter
e2e_summary
