#!/bin/bash
# The monitoring test: feeds contrib/mtail/ecomm-milter.mtail the syslog lines the milter really
# wrote (tests/contrib/sample-maillog.txt) through Debian's mtail and checks every metric against
# counts made here, independently, with awk over the same file; then a few hard-coded values, and
# a handful of hand-made hostile lines (quoted field text that looks like fields, a line cut short
# by the syslog daemon, other programs' lines) that must not fool the program.
# Run by "make check" (env: top_srcdir); exit 77 = skipped (mtail is not installed).
set -u

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
progs=$srcdir/contrib/mtail
sample=$srcdir/tests/contrib/sample-maillog.txt

if ! command -v mtail >/dev/null 2>&1; then
    echo "SKIP: mtail is not installed (Debian package mtail)"
    exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ecomm-mtail.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); printf 'ok %d - %s\n' "$((passed + failed))" "$*"; }
fail() { failed=$((failed + 1)); printf 'not ok %d - %s\n' "$((passed + failed))" "$*"; }
show() { sed 's/^/    | /' "$1" | head -n "${2:-30}"; }

# mtail logs to files in /tmp unless told otherwise; --port 0: never clash with a running mtail.
mtail_opts=(--logtostderr --address 127.0.0.1 --port 0 --progs "$progs")

# run_mtail LOG OUT: one pass over LOG; OUT gets the metrics (Prometheus text, no prog label).
run_mtail() {
    timeout 120 mtail "${mtail_opts[@]}" --one_shot --one_shot_format=prometheus \
        --emit_prog_label=false --logs "$1" >"$2" 2>"$2.err"
}

# metric OUT NAME: the sorted series of one metric, e.g. 'name{a="x",b="y"} 3' or 'name 3'.
metric() { grep -E "^$2(\{| )" "$1" | LC_ALL=C sort; }

# value OUT SERIES: the value of one series, given as it is printed before the value.
value() { awk -v s="$2" 'index($0, s " ") == 1 { print $NF }' "$1"; }

check_value() {
    local out=$1 series=$2 want=$3 got
    got=$(value "$out" "$series")
    if [ "$got" = "$want" ]; then
        pass "$series = $want"
    else
        fail "$series = $want (got '${got:-absent}')"
    fi
}

check_absent() {
    local out=$1 name=$2
    if metric "$out" "$name" | grep -q .; then
        fail "no $name series"
        metric "$out" "$name" | sed 's/^/    | /'
    else
        pass "no $name series"
    fi
}

# 1. The program compiles.
if timeout 60 mtail "${mtail_opts[@]}" --compile_only >"$work/compile.out" 2>&1; then
    pass "mtail --compile_only accepts contrib/mtail/ecomm-milter.mtail"
else
    fail "mtail --compile_only accepts contrib/mtail/ecomm-milter.mtail"
    show "$work/compile.out"
fi

# 2. One pass over the real lines, without errors.
out=$work/sample.prom
if run_mtail "$sample" "$out" && grep -q '^ecomm_milter_' "$out"; then
    pass "mtail --one_shot reads the sample log"
else
    fail "mtail --one_shot reads the sample log"
    show "$out.err"
fi
# glog error lines start with E and the date; the VM reports runtime errors there.
if grep -qE '^E[0-9]{4} ' "$out.err"; then
    fail "mtail reports no errors"
    grep -E '^E[0-9]{4} ' "$out.err" | show /dev/stdin
else
    pass "mtail reports no errors"
fi

# 3. Every metric as counted independently (awk on the raw lines, labels in Prometheus order).
awk '
    # The milter lines: RFC 3339 or traditional stamp, host, "ecomm-milter[PID]: " (no {n}:
    # mawk, Debian'"'"'s default awk, lacks it).
    !match($0, /^([0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[^ ]+|[A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]+) [^ ]+ ecomm-milter\[[0-9]+\]: /) { next }
    { msg = substr($0, RLENGTH + 1) }
    function field(name,    re) {   # a bare field value of msg, e.g. field("sender")
        re = " " name "=[^ ]+"
        if (!match(" " msg, re)) return ""
        return substr(" " msg, RSTART + length(name) + 2, RLENGTH - length(name) - 2)
    }
    msg ~ /^[0-9A-Za-z]+: action=/ {
        a = field("action"); r = field("rule"); c = field("class"); s = field("sender")
        n["ecomm_milter_decisions_total{action=\"" a "\",class=\"" c "\",rule=\"" r "\",sender=\"" s "\"}"]++
        n["ecomm_milter_decision_recipients_total{action=\"" a "\",sender=\"" s "\"}"] += field("rcpts")
        if (field("would") != "")
            n["ecomm_milter_would_total{rule=\"" r "\",sender=\"" s "\",would=\"" field("would") "\"}"]++
        if (match(msg, / throttled=[0-9]+ms$/)) {
            n["ecomm_milter_throttled_total{sender=\"" s "\"}"]++
            n["ecomm_milter_throttled_milliseconds_total{sender=\"" s "\"}"] += substr(msg, RSTART + 11, RLENGTH - 13)
        }
        if (match(msg, / expired=[^ ]+( throttled=[0-9]+ms)?$/)) {
            split(substr(msg, RSTART + 9), e, " ")
            n["ecomm_milter_expired_registrations_total{sender=\"" e[1] "\"}"]++
        }
        if (index(msg, " warning=\"registered sender "))
            n["ecomm_milter_expiry_warnings_total{sender=\"" s "\"}"]++
    }
    msg ~ /^[0-9A-Za-z]+: warning=bulk-hours / {
        n["ecomm_milter_bulk_crossings_total{sender=\"" field("sender") "\"}"]++
    }
    msg ~ /^internal error in [a-z_]+: / {
        split(msg, w, /[ :]/)
        n["ecomm_milter_internal_errors_total{callback=\"" w[4] "\"}"]++
    }
    msg ~ /^counters: redis .* unreachable \(/ { n["ecomm_milter_counter_outages_total"]++ }
    msg ~ /^counters: redis .* is back after [0-9]+ ms / { n["ecomm_milter_counter_recoveries_total"]++ }
    msg ~ /^ecomm-milter [^ ]+ starting: / {
        n["ecomm_milter_starts_total"]++
        gen = field("generation"); match(msg, /\([0-9]+ entries\)/); entries = substr(msg, RSTART + 1, RLENGTH - 10)
    }
    msg == "ecomm-milter stopping" { n["ecomm_milter_stops_total"]++ }
    # A start failure: the line startup_failure() or main() logs as the daemon gives up.
    msg ~ /^not starting: / || msg ~ /^[^ ]+:[0-9]+: unknown (user|group) "/ ||
    msg ~ /^[^ ]+:[0-9]+: the (pid file.s folder|socket directory) .* does not exist$/ ||
    msg ~ /^the socket directory .* does not exist$/ || msg ~ /^another process is listening on / ||
    msg ~ /^cannot listen on / || msg == "ecomm-milter stopping after a libmilter failure" {
        n["ecomm_milter_start_failures_total"]++
    }
    msg ~ /^counter table / || msg ~ /^could not release a rate reservation: / {
        kind = ""
        if (msg ~ /: renamed aside to [^ ]+ and rebuilt empty$/) kind = "renamed_aside"
        else if (msg ~ /: another process rebuilt it so; used as it is$/) kind = "resized_by_other"
        else if (msg ~ /" failed its check and was cleared$/) kind = "entry_cleared"
        else if (msg ~ /: a process died holding the counter table lock; /) kind = "lock_holder_died"
        else if (msg ~ /: [0-9]+ damaged slots cleared$/) kind = "damaged_slots"
        else if (msg ~ /^counter table [^ ]+ is full: evicted "/) kind = "eviction"
        else if (msg ~ /^could not release/) kind = "release_failed"
        if (kind != "") n["ecomm_milter_counter_table_problems_total{kind=\"" kind "\"}"]++
    }
    msg ~ /^reloaded configuration generation / {
        n["ecomm_milter_reloads_total"]++
        split(msg, w, " "); gen = w[4]; entries = substr(w[5], 2)
    }
    msg ~ /^reload failed[ ,]/ { n["ecomm_milter_reload_failures_total"]++ }
    END {
        for (k in n) print k, n[k]
        print "ecomm_milter_config_generation", gen
        print "ecomm_milter_registry_entries", entries
    }
' "$sample" | LC_ALL=C sort >"$work/expected.prom"

for name in ecomm_milter_decisions_total ecomm_milter_decision_recipients_total \
    ecomm_milter_would_total ecomm_milter_throttled_total ecomm_milter_throttled_milliseconds_total \
    ecomm_milter_bulk_crossings_total ecomm_milter_expired_registrations_total \
    ecomm_milter_expiry_warnings_total ecomm_milter_internal_errors_total \
    ecomm_milter_counter_outages_total ecomm_milter_counter_recoveries_total \
    ecomm_milter_counter_table_problems_total ecomm_milter_starts_total \
    ecomm_milter_stops_total ecomm_milter_start_failures_total ecomm_milter_reloads_total \
    ecomm_milter_reload_failures_total ecomm_milter_config_generation ecomm_milter_registry_entries; do
    metric "$work/expected.prom" "$name" >"$work/want"
    metric "$out" "$name" >"$work/got"
    series=$(wc -l <"$work/want")
    if diff -u "$work/want" "$work/got" >"$work/diff" && [ "$series" -gt 0 ]; then
        pass "$name: $series series, as counted in the sample"
    else
        fail "$name: $series series, as counted in the sample"
        show "$work/diff"
    fi
done

# 4. Known values of the sample, checked by hand against the log.
total=$(awk '/^ecomm_milter_decisions_total\{/ { t += $NF } END { print t + 0 }' "$out")
lines=$(grep -cE 'ecomm-milter\[[0-9]+\]: [0-9A-F]+: action=' "$sample")
if [ "$total" -eq "$lines" ] && [ "$total" -eq 40 ]; then
    pass "40 decisions in all, one per decision line"
else
    fail "40 decisions in all, one per decision line (mtail $total, grep $lines)"
fi
check_value "$out" 'ecomm_milter_decisions_total{action="tempfail",class="registered",rule="rate",sender="rate-test"}' 3
check_value "$out" 'ecomm_milter_decisions_total{action="reject",class="impersonation",rule="registration",sender="-"}' 5
check_value "$out" 'ecomm_milter_decisions_total{action="quarantine",class="registered",rule="attachments",sender="newsletter"}' 1
check_value "$out" 'ecomm_milter_decision_recipients_total{action="tempfail",sender="bulk-test"}' 61
check_value "$out" 'ecomm_milter_would_total{rule="registration",sender="-",would="reject"}' 4
check_value "$out" 'ecomm_milter_throttled_milliseconds_total{sender="throttle-test"}' 3783
check_value "$out" 'ecomm_milter_bulk_crossings_total{sender="bulk-test"}' 2
check_value "$out" 'ecomm_milter_expired_registrations_total{sender="old-vendor"}' 1
check_value "$out" 'ecomm_milter_expiry_warnings_total{sender="expiring"}' 1
check_value "$out" 'ecomm_milter_internal_errors_total{callback="envfrom"}' 1
check_value "$out" 'ecomm_milter_reloads_total' 5
check_value "$out" 'ecomm_milter_reload_failures_total' 1
check_value "$out" 'ecomm_milter_starts_total' 5
check_value "$out" 'ecomm_milter_counter_outages_total' 3
check_value "$out" 'ecomm_milter_counter_recoveries_total' 3
# Every way the daemon failed to start in the sample, and the libmilter failure at stop.
check_value "$out" 'ecomm_milter_start_failures_total' 7
check_value "$out" 'ecomm_milter_counter_table_problems_total{kind="renamed_aside"}' 2
for kind in resized_by_other entry_cleared lock_holder_died damaged_slots eviction release_failed; do
    check_value "$out" "ecomm_milter_counter_table_problems_total{kind=\"$kind\"}" 1
done

# 5. Hand-made hostile lines: a from= and a file name that contain field-like text, an IPv6
# client, a space-padded day, a line cut off mid-detail, other programs' lines, and the copy of
# a line that journald forwards from the milter's stderr under systemd (not counted twice).
hostile=$work/hostile.log
cat >"$hostile" <<'EOF'
Nov  9 08:00:01 mx1 ecomm-milter[77]: 3F2A1AB0001: action=reject rule=attachments class=registered sender=newsletter client=mail.example.net[2001:db8::25] from="<\"x rcpts=99 also=y detail=z expired=victim\"@news.example.edu>" rcpts=2 detail="part 2 application/pdf \"a throttled=99ms\" (disp)"
Nov  9 08:00:02 mx1 ecomm-milter[77]: 3F2A1AB0002: action=tempfail rule=rate class=registered sender=newsletter client=mail.example.net[192.0.2.1] from=<nl42-1@news.example.edu> rcpts=1 detail="30 in the last minute, limi
Nov  9 08:00:03 mx1 opendkim[12]: 3F2A1AB0003: action=reject rule=registration class=external sender=x client=a[192.0.2.9] from=<a@b> rcpts=1 detail="x"
Nov  9 08:00:03 mx1 ecomm-milter[77]: ecomm-milter[77]: 3F2A1AB0002: action=tempfail rule=rate class=registered sender=newsletter client=mail.example.net[192.0.2.1] from=<nl42-1@news.example.edu> rcpts=1 detail="30 in the last minute, limit 30 (sender:newsletter), retry in 49 s"
Nov  9 08:00:04 mx1 postfix/cleanup[5]: 3F2A1AB0001: milter-reject: END-OF-MESSAGE from mail.example.net[2001:db8::25]: internal error in eom: x; ecomm-milter stopping
2026-11-09T08:00:05Z mx1 ecomm-milter[77]: ecomm-milter stopping
Nov  9 08:00:06 mx1 ecomm-milter[77]: 3F2A1AB0004: action=reject rule=registration class=impersonation sender=- client=a[192.0.2.9] from="<\"not starting: x\"@b.example>" rcpts=1 detail="counter table /x is full: evicted \"y\""
Nov  9 08:00:07 mx1 postfix/smtpd[5]: warning: cannot listen on inet:8891; counter table /x: 2 damaged slots cleared
EOF
hout=$work/hostile.prom
run_mtail "$hostile" "$hout" || { fail "mtail --one_shot reads the hostile lines"; show "$hout.err"; }
check_value "$hout" 'ecomm_milter_decisions_total{action="reject",class="registered",rule="attachments",sender="newsletter"}' 1
check_value "$hout" 'ecomm_milter_decision_recipients_total{action="reject",sender="newsletter"}' 2
check_value "$hout" 'ecomm_milter_decisions_total{action="tempfail",class="registered",rule="rate",sender="newsletter"}' 1
check_value "$hout" 'ecomm_milter_stops_total' 1
check_absent "$hout" ecomm_milter_expired_registrations_total
check_absent "$hout" ecomm_milter_throttled_total
check_absent "$hout" ecomm_milter_internal_errors_total
check_value "$hout" 'ecomm_milter_start_failures_total' 0
check_absent "$hout" ecomm_milter_counter_table_problems_total
if [ "$(metric "$hout" ecomm_milter_decisions_total | wc -l)" -eq 3 ]; then
    pass "other programs' lines are not counted"
else
    fail "other programs' lines are not counted"
    metric "$hout" ecomm_milter_decisions_total | sed 's/^/    | /'
fi

printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
