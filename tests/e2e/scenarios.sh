# shellcheck shell=bash
# The end-to-end scenarios, run over one milter socket type by postfix-unix.sh and
# postfix-inet.sh. Each scenario sends mail through the private Postfix (lib.sh) and checks what
# the SMTP client saw, what reached the sink and what the milter logged.
#
# Sender classes in the test config (lib.sh, e2e_write_milter_config):
#   internal      10.99.0.0/16 only (loopback is NOT internal here)
#   registered    marketing-cloud 192.0.2.0/25 (identifier mc7f3a, exempt from the tag),
#                 cvent 198.51.100.0/24 (identifier cv91)
#   impersonation anyone else using example.edu in MAIL FROM or From:
#   external      everyone else
# DNS is the static test zone (lib.sh, e2e_write_dns_zone): SPF allows each entry's networks,
# outside.test publishes "v=spf1 -all". Every non-internal message gets an
# Authentication-Results header under mx.e2e.test.

OUTSIDE_IP=203.0.113.9
MC_IP=192.0.2.7
INTERNAL_IP=10.99.1.2

# a. A registered sender with its identifier in the return path: delivered, not tagged (the
#    entry is exempt from the external tag); SPF passes, which its entry's default requirement
#    (spf-or-dkim) needs now that authentication rejects.
scenario_registered() {
    e2e_say "# a. registered sender, correct return path"
    local mark
    mark=$(e2e_log_mark)
    e2e_send a-registered "$MC_IP" bounce-mc7f3a-42@e.example.edu news@e.example.edu \
        "Campus news" "List-Unsubscribe: <mailto:unsubscribe-mc7f3a@e.example.edu>"
    assert_not_contains "$E2E_TX" "550 5.7.1" "a: not rejected"
    if e2e_expect_delivered a-registered "a"; then
        assert_no_header "$E2E_COPY" X-Ecomm-External "a: no X-Ecomm-External (exempt entry)"
        assert_header "$E2E_COPY" Subject "Campus news" "a: subject unchanged"
        assert_authentication_results "$E2E_COPY" \
            '^mx\.e2e\.test; spf=pass smtp\.mailfrom=bounce-mc7f3a-42@e\.example\.edu; dkim=none$' "a"
    fi
    e2e_wait_log "$mark" 'class=registered.*from=<bounce-mc7f3a-42@e\.example\.edu>' \
        "a: decision logged as class=registered"
    e2e_wait_log "$mark" 'sender=marketing-cloud .*from=<bounce-mc7f3a-42@e\.example\.edu>' \
        "a: decision names the registry entry marketing-cloud"
}

# b. Impersonation through the envelope sender: rejected under IV.B.3.c.i.
scenario_impersonation_envelope() {
    e2e_say "# b. impersonation by MAIL FROM"
    local mark
    mark=$(e2e_log_mark)
    e2e_send b-impersonation "$OUTSIDE_IP" dean@example.edu dean@example.edu "Urgent: payroll"
    e2e_expect_rejected b-impersonation "IV.B.3.c.i;" "b"
    assert_contains "$E2E_TX" "https://www.example.edu/policies/ecommunications" \
        "b: the reply cites the policy URL"
    e2e_wait_log "$mark" 'action=reject rule=registration .*from=<dean@example\.edu>' \
        "b: milter logged action=reject rule=registration"
    e2e_wait_log "$mark" 'class=impersonation .*client=[^ ]*\[203\.0\.113\.9\]' \
        "b: the log shows class=impersonation and the XCLIENT address"
}

# c. Impersonation through the header From: only.
scenario_impersonation_header() {
    e2e_say "# c. impersonation by header From: only"
    local mark
    mark=$(e2e_log_mark)
    e2e_send c-header-from "$OUTSIDE_IP" someone@outside.test president@example.edu "Message from the president"
    e2e_expect_rejected c-header-from "IV.B.3.c.i;" "c"
    e2e_wait_log "$mark" 'action=reject rule=registration .*from=<someone@outside\.test>' \
        "c: milter logged action=reject rule=registration"
}

# d. A registered network with a wrong return path: no identifier, or another entry's.
scenario_return_path() {
    e2e_say "# d. registered network, wrong return path"
    local mark
    mark=$(e2e_log_mark)
    e2e_send d-no-identifier "$MC_IP" noreply@e.example.edu news@e.example.edu "Campus news"
    e2e_expect_rejected d-no-identifier "IV.B.3.c.ii" "d1 (no identifier)"
    e2e_wait_log "$mark" 'action=reject rule=return-path .*from=<noreply@e\.example\.edu>' \
        "d1: milter logged action=reject rule=return-path"

    mark=$(e2e_log_mark)
    e2e_send d-other-identifier "$MC_IP" cv91-5@events.example.edu news@e.example.edu "Campus news"
    e2e_expect_rejected d-other-identifier "IV.B.3.c.ii" "d2 (cvent's identifier from marketing-cloud's network)"
    e2e_wait_log "$mark" 'action=reject rule=return-path .*from=<cv91-5@events\.example\.edu>' \
        "d2: milter logged action=reject rule=return-path"
}

# e. External mail: tagged with the header and the subject prefix, never twice; a tag header of
#    the sender's with another value is replaced.
scenario_external() {
    e2e_say "# e. external sender"
    local mark
    mark=$(e2e_log_mark)
    e2e_send e-external "$OUTSIDE_IP" a@outside.test a@outside.test "Hello"
    if e2e_expect_delivered e-external "e1"; then
        assert_header "$E2E_COPY" X-Ecomm-External yes "e1: X-Ecomm-External: yes"
        assert_header "$E2E_COPY" Subject "[EXTERNAL] Hello" "e1: Subject: [EXTERNAL] Hello"
        # assert_header skips the blanks after the colon: the edits' lines as delivered, exactly.
        assert_matches "$E2E_COPY" '^Subject: \[EXTERNAL\] Hello[[:cntrl:]]?$' "e1: delivered as \"Subject: [EXTERNAL] Hello\""
        assert_matches "$E2E_COPY" '^X-Ecomm-External: yes[[:cntrl:]]?$' "e1: delivered as \"X-Ecomm-External: yes\""
        assert_matches "$E2E_COPY" '^Authentication-Results: mx\.e2e\.test;' "e1: delivered as \"Authentication-Results: mx.e2e.test;\" (one space)"
        assert_authentication_results "$E2E_COPY" '^mx\.e2e\.test; spf=fail smtp\.mailfrom=a@outside\.test; dkim=none$' "e1"
    fi
    e2e_wait_log "$mark" 'class=external .*from=<a@outside\.test>' "e1: decision logged as class=external"

    e2e_send e-prefixed "$OUTSIDE_IP" a@outside.test a@outside.test "[EXTERNAL] Hello again"
    if e2e_expect_delivered e-prefixed "e2"; then
        assert_header "$E2E_COPY" Subject "[EXTERNAL] Hello again" "e2: the prefix is not added twice"
        assert_header "$E2E_COPY" X-Ecomm-External yes "e2: X-Ecomm-External: yes"
    fi

    # The sender's own "X-Ecomm-External: no" must not cancel the tag: ours replaces it.
    e2e_send e-own-tag "$OUTSIDE_IP" a@outside.test a@outside.test "Not external" "X-Ecomm-External: no"
    if e2e_expect_delivered e-own-tag "e4"; then
        local values
        values=$(e2e_headers "$E2E_COPY" X-Ecomm-External | paste -sd, -)
        if [ "$values" = yes ]; then
            e2e_pass "e4: the sender's X-Ecomm-External: no replaced by ours"
        else
            e2e_fail "e4: the sender's X-Ecomm-External: no replaced by ours (found: $values)"
        fi
    fi

    # Without XCLIENT the client is 127.0.0.1, which the test config does not call internal.
    e2e_send e-loopback "" b@outside.test b@outside.test "Loopback"
    if e2e_expect_delivered e-loopback "e3 (loopback client, not internal here)"; then
        assert_header "$E2E_COPY" X-Ecomm-External yes "e3: X-Ecomm-External: yes"
        assert_header "$E2E_COPY" Subject "[EXTERNAL] Loopback" "e3: Subject: [EXTERNAL] Loopback"
    fi
}

# f. Internal client, and an authenticated one (XCLIENT LOGIN stands in for SMTP AUTH, so no
#    SASL setup is needed): delivered untouched, but for an Authentication-Results that claims
#    our authserv-id (forged: removed from internal mail too).
scenario_internal() {
    e2e_say "# f. internal client"
    local mark
    mark=$(e2e_log_mark)
    e2e_send f-internal "$INTERNAL_IP" a@example.edu a@example.edu "Staff meeting" \
        "Authentication-Results: $E2E_AUTHSERV_ID; dkim=pass header.d=bank.example"
    if e2e_expect_delivered f-internal "f"; then
        assert_no_header "$E2E_COPY" X-Ecomm-External "f: not tagged"
        assert_header "$E2E_COPY" Subject "Staff meeting" "f: subject unchanged"
        assert_no_header "$E2E_COPY" Authentication-Results \
            "f: no Authentication-Results (internal: none added, the forged one removed)"
    fi
    e2e_wait_log "$mark" 'class=internal .*from=<a@example\.edu>' "f: decision logged as class=internal"

    mark=$(e2e_log_mark)
    E2E_LOGIN=alice e2e_send f-authenticated "$OUTSIDE_IP" b@example.edu b@example.edu "Travel plans"
    if e2e_expect_delivered f-authenticated "f2 (SMTP AUTH from an outside address)"; then
        assert_no_header "$E2E_COPY" X-Ecomm-External "f2: not tagged"
        assert_header "$E2E_COPY" Subject "Travel plans" "f2: subject unchanged"
    fi
    e2e_wait_log "$mark" 'class=internal .*from=<b@example\.edu>' "f2: decision logged as class=internal"
}

# g. Monitor mode (switched on by a reload): the impersonation of (b) is delivered and the log
#    says what would have happened.
scenario_monitor() {
    e2e_say "# g. monitor mode"
    local mark
    e2e_write_milter_config mode=monitor
    if e2e_reload_milter; then e2e_pass "g: reload to monitor mode logged"; else e2e_fail "g: reload to monitor mode logged"; fi
    mark=$(e2e_log_mark)
    e2e_send g-monitor "$OUTSIDE_IP" dean@example.edu dean@example.edu "Urgent: payroll"
    assert_not_contains "$E2E_TX" "550 5.7.1" "g: not rejected in monitor mode"
    e2e_expect_delivered g-monitor "g"
    e2e_wait_log "$mark" 'action=accept would=reject rule=registration .*from=<dean@example\.edu>' \
        "g: log says action=accept would=reject rule=registration"
}

# An SMTP client that stops at a given point until told to go on (for the reload test).
write_slow_client() {
    cat >"$E2E_DIR/slow_client.py" <<'EOF'
"""SMTP client that pauses until a file appears.

usage: slow_client.py PORT CLIENT_IP MAIL_FROM RCPT MESSAGE PAUSE READY_FILE GO_FILE TIMEOUT
PAUSE is "mail" (connected, before MAIL FROM) or "data" (in DATA, after the header).
Creates READY_FILE when paused; prints the final reply as "CODE TEXT" on stdout.
"""
import os
import smtplib
import sys
import time

port, ip, mail_from, rcpt, message, pause, ready, go, timeout = sys.argv[1:10]
timeout = float(timeout)
data = open(message, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
head, _, body = data.partition(b"\r\n\r\n")


def wait_for_go():
    open(ready, "w").close()
    deadline = time.monotonic() + timeout
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            sys.exit("timed out waiting for " + go)
        time.sleep(0.05)


s = smtplib.SMTP("127.0.0.1", int(port), timeout=timeout)
s.ehlo("client.e2e.test")
code, msg = s.docmd("XCLIENT", "ADDR=%s NAME=slow-client.e2e.test" % ip)
if code != 220:
    sys.exit("XCLIENT refused: %d %s" % (code, msg.decode()))
s.ehlo("client.e2e.test")
if pause == "mail":
    wait_for_go()
s.mail(mail_from)
s.rcpt(rcpt)
code, msg = s.docmd("DATA")
if code != 354:
    sys.exit("DATA refused: %d %s" % (code, msg.decode()))
s.send(head + b"\r\n\r\n")
if pause == "data":
    wait_for_go()
if not body.endswith(b"\r\n"):
    body += b"\r\n"
s.send(body + b".\r\n")
code, msg = s.getreply()
print(code, msg.decode())
try:
    s.quit()
except smtplib.SMTPException:
    pass
EOF
}

# start_slow_client NAME PAUSE: an impersonation message from $OUTSIDE_IP that pauses at PAUSE
# (mail or data); sets SLOW_PID and waits until it is paused.
start_slow_client() {
    local name=$1 pause=$2
    local ready=$E2E_DIR/$name.ready out=$E2E_DIR/tx/$name.txt
    mkdir -p "$E2E_DIR/tx" "$E2E_DIR/msg"
    rm -f "$ready"
    e2e_write_message "$E2E_DIR/msg/$name.eml" "$name" dean@example.edu "In flight ($pause)"
    timeout "$((E2E_TIMEOUT + 10))" python3 "$E2E_DIR/slow_client.py" "$E2E_SMTP_PORT" "$OUTSIDE_IP" \
        dean@example.edu "$E2E_RCPT" "$E2E_DIR/msg/$name.eml" "$pause" "$ready" "$E2E_DIR/h.go" \
        "$E2E_TIMEOUT" >"$out" 2>&1 &
    SLOW_PID=$!
    E2E_PIDS_TO_STOP+=("$SLOW_PID")
    if ! e2e_wait_for "the slow client $name to pause" test -e "$ready"; then
        e2e_fail "h: slow client $name paused before $pause"
        e2e_show "$out"
    fi
}

# finish_slow_client NAME PID WHAT: the paused client finished with a 250 (old config: monitor).
finish_slow_client() {
    local name=$1 pid=$2 what=$3 out=$E2E_DIR/tx/$1.txt rc
    wait "$pid"
    rc=$?
    if [ "$rc" -eq 0 ] && grep -q '^250 ' "$out"; then
        e2e_pass "h: $what kept its connection's config (monitor: $(head -n 1 "$out"))"
    else
        e2e_fail "h: $what kept its connection's config (monitor: accepted)"
        e2e_show "$out"
    fi
}

# h. SIGUSR1 with two connections open under monitor mode: one paused before MAIL FROM, one in
#    the middle of DATA. Both messages keep the config their connection started with (monitor:
#    delivered, logged would=reject); a new connection gets the new one (enforce: rejected).
#    Expects monitor mode on entry (scenario g).
scenario_reload_in_flight() {
    e2e_say "# h. reload with connections in flight"
    write_slow_client
    rm -f "$E2E_DIR/h.go"
    local mark before_mail in_data
    mark=$(e2e_log_mark)
    start_slow_client h-before-mail mail
    before_mail=$SLOW_PID
    start_slow_client h-in-data data
    in_data=$SLOW_PID

    e2e_write_milter_config mode=enforce
    if e2e_reload_milter; then e2e_pass "h: reload to enforce mode logged"; else e2e_fail "h: reload to enforce mode logged"; fi
    touch "$E2E_DIR/h.go"
    finish_slow_client h-before-mail "$before_mail" "a connection opened before the reload, MAIL FROM after it,"
    finish_slow_client h-in-data "$in_data" "a message in the middle of DATA during the reload"
    local n
    n=$(e2e_log_since "$mark" | grep -cE 'action=accept would=reject rule=registration .*client=slow-client')
    if [ "$n" -eq 2 ]; then
        e2e_pass "h: both in-flight messages were logged with would=reject"
    else
        e2e_fail "h: both in-flight messages were logged with would=reject (found $n)"
        e2e_show "$E2E_MILTER_LOG"
    fi

    e2e_send h-after "$OUTSIDE_IP" dean@example.edu dean@example.edu "After reload"
    e2e_expect_rejected h-after "IV.B.3.c.i;" "h: a new connection gets the new config (enforce)"
}

# h2. A broken config on reload: the milter keeps the old one and logs the error.
scenario_bad_reload() {
    e2e_say "# h2. reload with a broken config"
    local good=$E2E_DIR/milter/good.conf mark
    cp "$E2E_MILTER_CONF" "$good"
    mark=$(e2e_log_mark)
    e2e_write_broken_milter_config
    e2e_reload_milter >/dev/null
    e2e_wait_log "$mark" "ecomm-milter\\.conf:[0-9]+" "h2: the config error is logged with FILE:LINE"
    assert_true "h2: the milter is still running" kill -0 "$E2E_MILTER_PID"
    e2e_send h2-after-bad "$OUTSIDE_IP" dean@example.edu dean@example.edu "After bad reload"
    e2e_expect_rejected h2-after-bad "IV.B.3.c.i;" "h2: the old config (enforce) still applies"
    e2e_send h2-external "$OUTSIDE_IP" a@outside.test a@outside.test "Still tagged"
    if e2e_expect_delivered h2-external "h2: external mail still flows"; then
        assert_header "$E2E_COPY" Subject "[EXTERNAL] Still tagged" "h2: old subject prefix still applies"
    fi
    mv "$good" "$E2E_MILTER_CONF"
}

# exits_non_zero OUT WHAT COMMAND...: COMMAND exits non-zero (and not by the timeout), its output
# in OUT.
exits_non_zero() {
    local out=$1 what=$2 rc
    shift 2
    timeout "$E2E_TIMEOUT" "$@" >"$out" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; then
        e2e_pass "i: $what exits non-zero ($rc)"
    else
        e2e_fail "i: $what exits non-zero (got $rc)"
    fi
}

# i. -n on a broken config: non-zero exit and a FILE:LINE message; on a good one: 0.
scenario_check_config() {
    e2e_say "# i. ecomm-milter -n"
    local broken=$E2E_DIR/milter/broken.conf out=$E2E_DIR/check.txt rc
    e2e_write_broken_milter_config "$broken"
    exits_non_zero "$out" "-n on a broken config" "$ECOMM_MILTER" -n -c "$broken"
    assert_matches "$out" "broken\\.conf:[0-9]+" "i: -n names FILE:LINE"
    timeout "$E2E_TIMEOUT" "$ECOMM_MILTER" -n -c "$E2E_MILTER_CONF" >"$out" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then
        e2e_pass "i: -n on the test config exits 0"
    else
        e2e_fail "i: -n on the test config exits 0 (got $rc)"
        e2e_show "$out"
    fi
    # What the daemon looks up only as it starts is checked too, with the line that set it.
    local typo=$E2E_DIR/milter/typo.conf
    sed -e 's/^user =$/user = no-such-user-e2e/' -e 's|^pid_file =$|pid_file = no-such-folder/m.pid|' \
        "$E2E_MILTER_CONF" >"$typo"
    exits_non_zero "$out" "-n on an unknown user" "$ECOMM_MILTER" -n -c "$typo"
    assert_matches "$out" 'typo\.conf:[0-9]+: unknown user "no-such-user-e2e"' "i: -n names the user's FILE:LINE"
    assert_matches "$out" "typo\\.conf:[0-9]+: the pid file's folder .*/no-such-folder does not exist" \
        "i: -n names the pid file folder's FILE:LINE"
    # The daemon itself refuses to start on it, with the same FILE:LINE, before touching anything.
    exits_non_zero "$out" "the daemon on an unknown user" "$ECOMM_MILTER" -f -c "$typo"
    assert_matches "$out" 'typo\.conf:[0-9]+: unknown user "no-such-user-e2e"' "i: the daemon names the user's FILE:LINE"
    # A unix socket in a folder that does not exist: the same, where libmilter would have failed
    # only after the counter table was opened, without FILE:LINE. With -p, -p's socket counts.
    local nosock=$E2E_DIR/milter/nosock.conf missing=$E2E_DIR/no-such-socket-folder
    sed -e "s|^socket = .*|socket = unix:$missing/m.sock|" "$E2E_MILTER_CONF" >"$nosock"
    # -n only warns: run by hand while the service is stopped, systemd has not made it yet.
    if timeout "$E2E_TIMEOUT" "$ECOMM_MILTER" -n -c "$nosock" >"$out" 2>&1; then
        e2e_pass "i: -n on a missing socket folder exits 0 (a warning)"
    else
        e2e_fail "i: -n on a missing socket folder exits 0 (a warning)"
    fi
    assert_matches "$out" "nosock\\.conf:[0-9]+: warning: the socket directory .*/no-such-socket-folder does not exist" \
        "i: -n warns of the socket folder with its FILE:LINE"
    exits_non_zero "$out" "the daemon on a missing socket folder" "$ECOMM_MILTER" -f -c "$nosock"
    assert_matches "$out" "nosock\\.conf:[0-9]+: the socket directory .*/no-such-socket-folder does not exist" \
        "i: the daemon names the socket folder's FILE:LINE"
    timeout "$E2E_TIMEOUT" "$ECOMM_MILTER" -n -c "$E2E_MILTER_CONF" -p "unix:$missing/m.sock" >"$out" 2>&1
    assert_matches "$out" "the socket directory .*/no-such-socket-folder does not exist" "i: -n checks -p's socket folder"
}

# The milter must stop cleanly on SIGTERM (and, in the sanitizer build, without reports).
scenario_clean_stop() {
    e2e_stop_postfix
    assert_true "the milter stops cleanly on SIGTERM" e2e_stop_milter
}

# The body rules (IV.B.3.c.v, IV.C.1.a) need messages with a MIME body: written here.
NEWS_IP=192.0.2.200

# e2e_write_body_message FILE ID SUBJECT BODY-KIND [EXTRA-HEADER-LINE...]
# BODY-KIND: pdf (a multipart/mixed with a base64 PDF part), link (HTML linking to the PDF).
e2e_write_body_message() {
    local file=$1 id=$2 subject=$3 kind=$4
    shift 4
    {
        printf 'From: news@news.example.edu\r\nTo: %s\r\nSubject: %s\r\n' "$E2E_RCPT" "$subject"
        printf 'Date: %s\r\nMessage-ID: <%s.%s@e2e.test>\r\nX-E2E-Id: %s\r\nMIME-Version: 1.0\r\n' \
            "$(LC_ALL=C date -R)" "$id" "$$" "$id"
        local h
        for h in "$@"; do printf '%s\r\n' "$h"; done
        if [ "$kind" = pdf ]; then
            printf 'Content-Type: multipart/mixed; boundary="=_b1"\r\n\r\n'
            printf -- '--=_b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe annual report is attached.\r\n'
            printf -- '--=_b1\r\nContent-Type: application/pdf\r\n'
            printf 'Content-Disposition: attachment; filename="annual-report.pdf"\r\n'
            printf 'Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoK\r\n--=_b1--\r\n'
        else
            printf 'Content-Type: text/html; charset=utf-8\r\n\r\n'
            printf '<p>The <a href="https://www.example.edu/annual-report.pdf">annual report</a> is online.</p>\r\n'
        fi
    } >"$file"
}

e2e_send_body() {
    local id=$1 kind=$2 subject=$3
    shift 3
    mkdir -p "$E2E_DIR/msg"
    e2e_write_body_message "$E2E_DIR/msg/$id.eml" "$id" "$subject" "$kind" "$@"
    e2e_send_file "$id" "$NEWS_IP" "nl42-7@news.example.edu" "$E2E_DIR/msg/$id.eml"
}

# j. A registered sender's message with a PDF attachment is rejected, and the reply names the
#    part; the same content as a link is delivered.
scenario_attachment() {
    e2e_say "# j. attachments (IV.B.3.c.v)"
    local mark
    mark=$(e2e_log_mark)
    e2e_send_body j-pdf pdf "Annual report" "List-Unsubscribe: <https://news.example.edu/u/nl42>"
    e2e_expect_rejected j-pdf 'part 2 application/pdf "annual-report.pdf" is an attachment' "j: PDF"
    assert_contains "$E2E_TX" "IV.B.3.c.v;" "j: the reply cites IV.B.3.c.v"
    e2e_wait_log "$mark" 'action=reject rule=attachments .*sender=newsletter' \
        "j: milter logged action=reject rule=attachments"
    e2e_send_body j-link link "Annual report" "List-Unsubscribe: <https://news.example.edu/u/nl42>"
    e2e_expect_delivered j-link "j: the same report as a link"
}

# k. Promotional mail without an unsubscribe mechanism is rejected; with List-Unsubscribe it is
#    delivered; a transactional sender's mail without one is delivered.
scenario_unsubscribe() {
    e2e_say "# k. unsubscribe (IV.C.1.a)"
    local mark
    mark=$(e2e_log_mark)
    e2e_send_body k-none link "Alumni weekend"
    e2e_expect_rejected k-none "List-Unsubscribe" "k: promotional without List-Unsubscribe"
    assert_contains "$E2E_TX" "IV.C.1.a;" "k: the reply cites IV.C.1.a"
    e2e_wait_log "$mark" 'action=reject rule=unsubscribe .*sender=newsletter' \
        "k: milter logged action=reject rule=unsubscribe"
    e2e_send_body k-header link "Alumni weekend" "List-Unsubscribe: <https://news.example.edu/u/nl42>" \
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click"
    e2e_expect_delivered k-header "k: promotional with one-click List-Unsubscribe"
    e2e_send k-transactional "$MC_IP" bounce-mc7f3a-43@e.example.edu news@e.example.edu "Your registration"
    e2e_expect_delivered k-transactional "k: transactional without List-Unsubscribe"
}

# e2e_run_scenarios unix|inet
e2e_run_scenarios() {
    local kind=$1
    e2e_require_postfix
    e2e_require_milter
    e2e_init "e2e-$kind"
    e2e_start_stack "$kind"
    scenario_registered
    scenario_impersonation_envelope
    scenario_impersonation_header
    scenario_return_path
    scenario_external
    scenario_internal
    scenario_attachment
    scenario_unsubscribe
    scenario_monitor
    scenario_reload_in_flight
    scenario_bad_reload
    scenario_check_config
    scenario_clean_stop
    e2e_summary
}
