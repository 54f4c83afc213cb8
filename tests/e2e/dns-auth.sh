#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# End-to-end test of the authentication control (policy IV.B.3.c.iii) against a REAL DNS
# server: the whole test runs in a private network and mount namespace that it creates itself
# (unshare --net --mount), with only a loopback. In there: dnsmasq on 127.0.0.1:53 serving the
# SPF records and the DKIM keys of the test domains, a resolv.conf naming it bind-mounted over
# /etc/resolv.conf, the private Postfix of lib.sh, and the milter on the system resolver
# (dns_file empty, dns_timeout 2). The DKIM keys are made here (opendkim-genkey) and the
# messages signed here (dkimsign, python3-dkim); nothing is checked in.
#
# Scenarios (each checks the SMTP client's reply, the sink and the milter's decision line):
#   a. registered sender, valid signature, SPF pass: delivered with our Authentication-Results
#   b. an entry that requires DKIM: a valid signature is delivered, a broken one (body changed
#      after signing) is rejected with 550 5.7.20
#   c. DNS timeout (slow.test's server never answers): 451 4.4.3, within a bound
#   d. forged Authentication-Results claiming our authserv-id: gone; a foreign one stays
#   e. a cloud sender outside every registered network with a valid signature from a registered
#      signing domain: registered (delivered); with a broken signature: impersonation
#   g. simple/simple signature over "Subject:Newsletter" (no space after the colon), from the
#      entry that requires DKIM: dkim=pass, and the tag's edits read as always
#
# Needs root, unshare, dnsmasq (dnsmasq-base), opendkim-genkey (opendkim-tools), dkimsign
# (python3-dkim), Postfix and swaks; exit 77 (skipped, with the reason) without them.
# Run by "make check" (env: top_srcdir, top_builddir, ECOMM_MILTER).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

e2e_require_postfix
e2e_require_dns_tools
e2e_require_milter
# Runs this script again inside the namespace (and exits with its status); returns in there.
e2e_enter_private_netns "$here/$(basename "$0")" "$@"

DNS_TIMEOUT=2
# Upper bound for the whole SMTP session of the timeout scenario: the milter may wait out a few
# look-ups (SPF record, DKIM key) of DNS_TIMEOUT each; Postfix and swaks take well under 3 s.
TIMEOUT_BOUND_MS=$(((3 * DNS_TIMEOUT + 3) * 1000))

MC_IP=192.0.2.7          # marketing-cloud's network (192.0.2.0/25)
GIVING_IP=192.0.2.130    # giving's network (192.0.2.128/26), an entry that requires DKIM
SLOW_IP=192.0.2.200      # slow-platform's network (192.0.2.192/26), SPF required
CLOUD_IP=203.0.113.77    # in no registered network
CVENT_IP=198.51.100.20   # in cvent's network (lib.sh)

# Two entries of this test on top of lib.sh's marketing-cloud and cvent.
E2E_REGISTRY_EXTRA='# Added by tests/e2e/dns-auth.sh.
[giving]
unit = Advancement
networks = 192.0.2.128/26
domains = give.example.edu
category = transactional
authentication = dkim

[slow-platform]
unit = An events platform whose DNS does not answer
networks = 192.0.2.192/26
domains = slow.test
category = transactional
authentication = spf'

e2e_init dns-auth
e2e_setup_private_netns
KEYS=$E2E_DIR/keys

# ---------------------------------------------------------------------------------------------
# Keys, DNS, the stack

make_keys() {
    e2e_dkim_key "$KEYS" e.example.edu sel 1024
    # A 2048-bit key's record is longer than one 255-character TXT string.
    e2e_dkim_key "$KEYS" e.example.edu cloud 2048
    e2e_dkim_key "$KEYS" give.example.edu gift 1024
    # Never published: slow.test's DNS does not answer at all.
    e2e_dkim_key "$KEYS" slow.test slow 1024
}

# The DNS server: dnsmasq with the records of the test domains, from $E2E_DIR/dnsmasq.conf.
start_dns() {
    {
        echo "# DNS of tests/e2e/dns-auth.sh: names under example.edu and .test exist only as"
        echo "# listed here (NXDOMAIN otherwise); slow.test goes to 127.0.0.2, where nothing"
        echo "# listens, so it never gets an answer."
        echo "local=/example.edu/"
        echo "local=/test/"
        echo "server=/slow.test/127.0.0.2#53"
        e2e_dnsmasq_txt e.example.edu 'v=spf1 ip4:192.0.2.0/25 -all'
        e2e_dnsmasq_txt events.example.edu 'v=spf1 ip4:198.51.100.0/24 -all'
        # Site-verification tokens beside the SPF record, as big domains publish: about 2 KB of
        # TXT, more than a UDP answer carries (scenario f: the answer is fetched over TCP).
        for i in $(seq 1 20); do
            e2e_dnsmasq_txt events.example.edu "site-verification-$i=$(printf '%080d' "$i")"
        done
        e2e_dnsmasq_txt give.example.edu 'v=spf1 ip4:192.0.2.128/26 -all'
        e2e_dnsmasq_txt outside.test 'v=spf1 -all'
        e2e_dnsmasq_txt sel._domainkey.e.example.edu "$(e2e_dkim_record "$KEYS" sel)"
        e2e_dnsmasq_txt cloud._domainkey.e.example.edu "$(e2e_dkim_record "$KEYS" cloud)"
        e2e_dnsmasq_txt gift._domainkey.give.example.edu "$(e2e_dkim_record "$KEYS" gift)"
    } >"$E2E_DIR/dnsmasq.conf"
    e2e_start_dnsmasq "$E2E_DIR/dnsmasq.conf"
}

# The DNS server itself, before the milter relies on it (a failure here is the harness's).
check_dns() {
    e2e_say "# DNS server on 127.0.0.1:53 in the private namespace"
    local out=$E2E_DIR/dns-check.txt record
    e2e_dns_query e.example.edu TXT >"$out" 2>&1
    assert_matches "$out" '^28 v=spf1 ip4:192\.0\.2\.0/25 -all$' "dns: SPF record of e.example.edu served (one string)"
    e2e_dns_query nothing.example.edu TXT >"$out" 2>&1
    assert_contains "$out" "NXDOMAIN 0" "dns: an unlisted name is NXDOMAIN"
    record=$(e2e_dkim_record "$KEYS" cloud)
    e2e_dns_query cloud._domainkey.e.example.edu TXT >"$out" 2>&1
    if [ "$(sed -n '2s/^[0-9,]* //p' "$out")" = "$record" ]; then
        e2e_pass "dns: the 2048-bit key record comes back whole (${#record} characters)"
    else
        e2e_fail "dns: the 2048-bit key record comes back whole"
        printf '    published: %s\n' "$record"
        e2e_show "$out"
    fi
    if awk 'NR == 2 { n = split($1, len, ","); ok = n > 1; for (i = 1; i <= n; i++) if (len[i] > 255) ok = 0 }
            END { exit !ok }' "$out"; then
        e2e_pass "dns: ... in several strings of at most 255 characters ($(awk 'NR == 2 { print $1 }' "$out"))"
    else
        e2e_fail "dns: the 2048-bit key record is several strings of at most 255 characters"
        e2e_show "$out"
    fi
    e2e_dns_query probe.slow.test TXT 1 >"$out" 2>&1
    assert_contains "$out" "timeout" "dns: slow.test gets no answer (1 s)"
    assert_contains /etc/resolv.conf "nameserver 127.0.0.1" "dns: /etc/resolv.conf here names 127.0.0.1"
}

# check_signature FILE ok|bad WHAT: an independent verifier (dkimverify, over the same DNS)
# agrees that FILE's signature is good or bad, so that a milter verdict is not a harness bug.
check_signature() {
    local file=$1 want=$2 what=$3 out=$1.verify got
    if dkimverify <"$file" >"$out" 2>&1; then got=ok; else got=bad; fi
    if [ "$got" = "$want" ]; then
        e2e_pass "$what: dkimverify says the signature is $want"
    else
        e2e_fail "$what: dkimverify says the signature is $want (it says $got)"
        e2e_show "$out"
    fi
}

# signed_message ID HEADER_FROM SUBJECT DOMAIN SELECTOR [EXTRA-HEADER...]: writes the message
# $E2E_DIR/msg/ID.eml signed by d=DOMAIN s=SELECTOR and sets MSG to it.
signed_message() {
    local id=$1 from=$2 subject=$3 domain=$4 selector=$5
    shift 5
    mkdir -p "$E2E_DIR/msg"
    e2e_write_message "$E2E_DIR/msg/$id.unsigned" "$id" "$from" "$subject" "$@"
    MSG=$E2E_DIR/msg/$id.eml
    e2e_dkim_sign "$E2E_DIR/msg/$id.unsigned" "$MSG" "$domain" "$selector" "$KEYS/$selector.private"
}

# tamper IN OUT: OUT is IN with its body changed after signing (the body hash no longer matches).
tamper() {
    sed 's/End-to-end test message/End-to-end test message, changed in transit/' "$1" >"$2"
    cmp -s "$1" "$2" && e2e_die "tamper: the body of $1 did not change"
}

# ---------------------------------------------------------------------------------------------
# Scenarios

# a. A registered sender from its network, signed by its own domain, SPF pass.
scenario_signed_registered() {
    e2e_say "# a. registered sender, valid DKIM signature, SPF pass"
    local mark
    mark=$(e2e_log_mark)
    signed_message a-signed news@e.example.edu "Campus news" e.example.edu sel \
        "List-Unsubscribe: <mailto:unsubscribe-mc7f3a@e.example.edu>"
    check_signature "$MSG" ok a
    e2e_send_file a-signed "$MC_IP" bounce-mc7f3a-1@e.example.edu "$MSG"
    if e2e_expect_delivered a-signed a; then
        assert_authentication_results "$E2E_COPY" \
            '^mx\.e2e\.test; spf=pass smtp\.mailfrom=bounce-mc7f3a-1@e\.example\.edu; dkim=pass header\.d=e\.example\.edu header\.s=sel( |;|$)' a
        assert_matches "$E2E_COPY" '^DKIM-Signature: .*d=e\.example\.edu' "a: the DKIM-Signature is delivered unchanged"
        assert_no_header "$E2E_COPY" X-Ecomm-External "a: not tagged (exempt entry)"
    fi
    e2e_wait_log "$mark" 'action=accept rule=- class=registered sender=marketing-cloud .*from=<bounce-mc7f3a-1@e\.example\.edu>' \
        "a: decision: action=accept class=registered sender=marketing-cloud"
}

# b. An entry that requires DKIM: its valid signature passes; one broken after signing is
#    rejected (SPF passes, but that is not what the entry requires).
scenario_dkim_required() {
    e2e_say "# b. entry requiring DKIM: valid signature, then a forged one"
    local mark
    mark=$(e2e_log_mark)
    signed_message b-valid news@give.example.edu "Give today" give.example.edu gift
    check_signature "$MSG" ok b1
    e2e_send_file b-valid "$GIVING_IP" news@give.example.edu "$MSG"
    if e2e_expect_delivered b-valid "b1 (valid signature)"; then
        assert_authentication_results "$E2E_COPY" \
            '^mx\.e2e\.test; spf=pass smtp\.mailfrom=news@give\.example\.edu; dkim=pass header\.d=give\.example\.edu header\.s=gift( |;|$)' b1
    fi
    # giving is not exempt from the external tag: accepted and tagged.
    e2e_wait_log "$mark" 'action=tag rule=external-tag class=registered sender=giving .*from=<news@give\.example\.edu>' \
        "b1: decision: action=tag (only the external tag) class=registered sender=giving"

    mark=$(e2e_log_mark)
    signed_message b-forged news@give.example.edu "Give today" give.example.edu gift
    tamper "$MSG" "$MSG.tampered"
    check_signature "$MSG.tampered" bad b2
    e2e_send_file b-forged "$GIVING_IP" news@give.example.edu "$MSG.tampered"
    e2e_expect_refused b-forged "550 5.7.20" "IV.B.3.c.iii" "b2 (body changed after signing)"
    e2e_wait_log "$mark" 'action=reject rule=authentication class=registered sender=giving .*from=<news@give\.example\.edu> .*dkim=fail' \
        "b2: decision: action=reject rule=authentication sender=giving, dkim=fail"
}

# c. The MAIL FROM domain's DNS never answers: the SPF check (and the DKIM key look-up) time out
#    after dns_timeout; the entry requires SPF, so the message is deferred, in bounded time.
scenario_dns_timeout() {
    e2e_say "# c. DNS timeout"
    local mark
    mark=$(e2e_log_mark)
    signed_message c-timeout news@slow.test "Conference schedule" slow.test slow
    e2e_send_file c-timeout "$SLOW_IP" bounce-42@slow.test "$MSG"
    e2e_expect_refused c-timeout "451 4.4.3" "IV.B.3.c.iii" "c"
    if [ "$E2E_SEND_MS" -lt "$TIMEOUT_BOUND_MS" ]; then
        e2e_pass "c: the SMTP session took ${E2E_SEND_MS} ms (bound ${TIMEOUT_BOUND_MS} ms, dns_timeout ${DNS_TIMEOUT} s)"
    else
        e2e_fail "c: the SMTP session took ${E2E_SEND_MS} ms (bound ${TIMEOUT_BOUND_MS} ms, dns_timeout ${DNS_TIMEOUT} s)"
    fi
    e2e_wait_log "$mark" 'action=tempfail rule=authentication[^ ]* class=registered sender=slow-platform .*from=<bounce-42@slow\.test> .*spf=temperror' \
        "c: decision: action=tempfail (authentication) sender=slow-platform, spf=temperror"
    assert_contains "$E2E_DNSMASQ_LOG" "forwarded slow.test to 127.0.0.2" \
        "c: the milter's SPF query reached the DNS server (forwarded, never answered)"
}

# d. Authentication-Results headers arriving with the message that claim our authserv-id (at
#    the top, in upper case in the middle, after a comment at the bottom) are removed; one from
#    another host stays; ours is the only one under our id, on top.
scenario_forged_authentication_results() {
    e2e_say "# d. forged Authentication-Results"
    local mark msg=$E2E_DIR/msg/d-forged-ar.eml
    mark=$(e2e_log_mark)
    mkdir -p "$E2E_DIR/msg"
    e2e_write_message "$msg.body" d-forged-ar news@e.example.edu "Campus news" \
        "Authentication-Results: other.example.net; spf=fail smtp.mailfrom=bounce-mc7f3a-4@e.example.edu" \
        "Authentication-Results: MX.E2E.TEST; dkim=pass header.d=forged.example" \
        "Authentication-Results: (relayed) mx.e2e.test; spf=pass smtp.mailfrom=x@forged.example"
    {
        printf 'Authentication-Results: %s;\r\n\tspf=pass smtp.mailfrom=forged@forged.example;\r\n\tdkim=pass header.d=forged.example\r\n' \
            "$E2E_AUTHSERV_ID"
        cat "$msg.body"
    } >"$msg"
    e2e_send_file d-forged-ar "$MC_IP" bounce-mc7f3a-4@e.example.edu "$msg"
    if e2e_expect_delivered d-forged-ar d; then
        assert_authentication_results "$E2E_COPY" \
            '^mx\.e2e\.test; spf=pass smtp\.mailfrom=bounce-mc7f3a-4@e\.example\.edu; dkim=none$' d
        assert_not_contains "$E2E_COPY" "forged.example" "d: no forged Authentication-Results is left"
        if [ "$(e2e_headers "$E2E_COPY" Authentication-Results | grep -c '^other\.example\.net; ')" -eq 1 ]; then
            e2e_pass "d: the Authentication-Results of other.example.net is kept"
        else
            e2e_fail "d: the Authentication-Results of other.example.net is kept"
            e2e_show "$E2E_COPY" 30
        fi
        if [ "$(e2e_headers "$E2E_COPY" Authentication-Results | wc -l)" -eq 2 ]; then
            e2e_pass "d: two Authentication-Results in all (ours and other.example.net's)"
        else
            e2e_fail "d: two Authentication-Results in all (ours and other.example.net's)"
            e2e_headers "$E2E_COPY" Authentication-Results | sed 's/^/    | /'
        fi
        assert_header "$E2E_COPY" Subject "Campus news" "d: the other headers are intact (Subject)"
    fi
    e2e_wait_log "$mark" 'action=accept rule=- class=registered sender=marketing-cloud .*from=<bounce-mc7f3a-4@e\.example\.edu>' \
        "d: decision: action=accept class=registered sender=marketing-cloud"
}

# e. A cloud platform outside marketing-cloud's networks, signing for its domain with a
#    2048-bit key: registered by the signature (SPF fails there, but DKIM is enough for
#    spf-or-dkim). The same message broken after signing is impersonation.
scenario_cloud_sender() {
    e2e_say "# e. cloud sender registered by its DKIM signature"
    local mark
    mark=$(e2e_log_mark)
    signed_message e-cloud news@e.example.edu "Campus news from the cloud" e.example.edu cloud \
        "List-Unsubscribe: <mailto:unsubscribe-mc7f3a@e.example.edu>"
    check_signature "$MSG" ok e1
    e2e_send_file e-cloud "$CLOUD_IP" bounce-mc7f3a-77@e.example.edu "$MSG"
    if e2e_expect_delivered e-cloud "e1 (valid signature)"; then
        assert_authentication_results "$E2E_COPY" \
            '^mx\.e2e\.test; spf=fail smtp\.mailfrom=bounce-mc7f3a-77@e\.example\.edu; dkim=pass header\.d=e\.example\.edu header\.s=cloud( |;|$)' e1
        assert_no_header "$E2E_COPY" X-Ecomm-External "e1: not tagged (marketing-cloud is exempt)"
    fi
    e2e_wait_log "$mark" 'action=accept rule=- class=registered sender=marketing-cloud .*client=[^ ]*\[203\.0\.113\.77\] from=<bounce-mc7f3a-77@e\.example\.edu>' \
        "e1: decision: action=accept class=registered sender=marketing-cloud client 203.0.113.77"

    mark=$(e2e_log_mark)
    signed_message e-cloud-forged news@e.example.edu "Campus news from the cloud" e.example.edu cloud
    tamper "$MSG" "$MSG.tampered"
    check_signature "$MSG.tampered" bad e2
    e2e_send_file e-cloud-forged "$CLOUD_IP" bounce-mc7f3a-78@e.example.edu "$MSG.tampered"
    e2e_expect_rejected e-cloud-forged "IV.B.3.c.i;" "e2 (broken signature: impersonation)"
    e2e_wait_log "$mark" 'action=reject rule=registration class=impersonation .*from=<bounce-mc7f3a-78@e\.example\.edu>' \
        "e2: decision: action=reject rule=registration class=impersonation"
}

# f. A domain whose TXT records do not fit in a UDP answer (truncated: TC set): the resolver
#    asks again over TCP, and SPF finds the record among them.
scenario_large_txt_answer() {
    e2e_say "# f. SPF record among 2 KB of TXT records (a truncated UDP answer, then TCP)"
    local mark
    mark=$(e2e_log_mark)
    e2e_send f-large-txt "$CVENT_IP" cv91-7@events.example.edu news@events.example.edu "Conference programme"
    if e2e_expect_delivered f-large-txt f; then
        assert_authentication_results "$E2E_COPY" \
            '^mx\.e2e\.test; spf=pass smtp\.mailfrom=cv91-7@events\.example\.edu; dkim=none$' f
    fi
    e2e_wait_log "$mark" 'action=[a-z]+ .*class=registered sender=cvent .*from=<cv91-7@events\.example\.edu>' \
        "f: decision: class=registered sender=cvent"
}

# g. c=simple/simple hashes each signed field as written: "Subject:Newsletter" with no space
#    after the colon must reach the verifier that way (the milter asks the MTA for header values
#    as written, SMFIP_HDR_LEADSPC). The entry requires DKIM, so a failure would be a 550. The
#    external tag's edits must still be delivered with one space after the colon.
scenario_simple_canonicalization() {
    e2e_say "# g. simple/simple signature over Subject:Newsletter (no space after the colon)"
    local mark
    mark=$(e2e_log_mark)
    mkdir -p "$E2E_DIR/msg"
    e2e_write_message "$E2E_DIR/msg/g-simple.spaced" g-simple news@give.example.edu Newsletter
    sed 's/^Subject: /Subject:/' "$E2E_DIR/msg/g-simple.spaced" >"$E2E_DIR/msg/g-simple.unsigned"
    grep -q '^Subject:Newsletter' "$E2E_DIR/msg/g-simple.unsigned" || e2e_die "g: no Subject:Newsletter line"
    MSG=$E2E_DIR/msg/g-simple.eml
    if ! dkimsign --hcanon simple --bcanon simple gift give.example.edu "$KEYS/gift.private" \
        <"$E2E_DIR/msg/g-simple.unsigned" >"$MSG" 2>"$MSG.err" || [ ! -s "$MSG" ]; then
        e2e_show "$MSG.err"
        e2e_die "dkimsign (simple/simple) failed"
    fi
    assert_matches "$MSG" '^DKIM-Signature: .*c=simple/simple' "g: signed with c=simple/simple"
    check_signature "$MSG" ok g
    e2e_send_file g-simple "$GIVING_IP" news@give.example.edu "$MSG"
    if e2e_expect_delivered g-simple g; then
        assert_authentication_results "$E2E_COPY" \
            '^mx\.e2e\.test; spf=pass smtp\.mailfrom=news@give\.example\.edu; dkim=pass header\.d=give\.example\.edu header\.s=gift( |;|$)' g
        assert_matches "$E2E_COPY" '^Subject: \[EXTERNAL\] Newsletter[[:cntrl:]]?$' \
            "g: delivered as \"Subject: [EXTERNAL] Newsletter\" (one space after the colon)"
        assert_matches "$E2E_COPY" '^X-Ecomm-External: yes[[:cntrl:]]?$' "g: delivered as \"X-Ecomm-External: yes\""
        assert_matches "$E2E_COPY" '^Authentication-Results: mx\.e2e\.test;' "g: one space after Authentication-Results:"
    fi
    e2e_wait_log "$mark" 'action=tag rule=external-tag class=registered sender=giving .*from=<news@give\.example\.edu>' \
        "g: decision: action=tag (only the external tag) class=registered sender=giving"
}

# ---------------------------------------------------------------------------------------------

make_keys
start_dns
check_dns
e2e_start_stack unix dns=system "dns_timeout=$DNS_TIMEOUT"
scenario_signed_registered
scenario_dkim_required
scenario_dns_timeout
scenario_forged_authentication_results
scenario_cloud_sender
scenario_large_txt_answer
scenario_simple_canonicalization
e2e_stop_postfix
assert_true "the milter stops cleanly on SIGTERM" e2e_stop_milter
e2e_summary
