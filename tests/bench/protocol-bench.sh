#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The milter-protocol benchmark of issue 7 ("milter protocol alone"): milter_load plays the MTA
# (protocol version 6, as Postfix does) against ecomm-milter, a do-nothing milter (null-milter:
# the protocol's own cost) and OpenDKIM in verify mode, each over a unix and an inet socket, and
# null-body-unix and null-body-inet, the do-nothing milter that takes the body and negotiates no
# reply for the stages before end of message, as ecomm-milter does (null-milter -b -r: the floor
# of any milter that must read the body, as a DKIM verifier does, over each socket), and
# null-hash-unix and null-hash-inet, the same taking the SHA-256 of the body (null-milter -b -r -s:
# the least any DKIM verifier pays, the protocol plus the body's digest), on the same messages:
# 5 KB signed from a registered sender, a 60 KB HTML newsletter with List-Unsubscribe (signed),
# 1 MB signed, 5 KB unsigned from outside, and the 5 KB signed one to 50 recipients.
# It prints Markdown tables of messages/s, p50/p99 latency and milter CPU per message (medians
# over rounds), the ratios the issue's targets name, and whether they are met (for 2x OpenDKIM
# with the lowest and highest ratio of a single round, to show the noise), each floor as a
# multiple of OpenDKIM unix (is 2x OpenDKIM reachable at all by a milter that reads the body?)
# and ecomm-milter as a share of the floor over the same socket.
#
# Everything runs in a private network and mount namespace (tests/e2e/lib.sh): a dnsmasq on
# 127.0.0.1:53 serves the SPF records and DKIM keys of the test domains, and every milter uses
# it (ecomm-milter with dns_file empty, OpenDKIM with Nameservers 127.0.0.1).  The DKIM keys are
# made and the messages signed here.  All the milters are started once and stay up; the rounds
# alternate the order in which they are loaded.  Before the rounds, one message of each type
# goes to each setup with --verbose, and the run stops when a setup is not really in the path
# (ecomm-milter and OpenDKIM must insert an Authentication-Results header with dkim=pass for a
# signed message; every final reply must be accept; null-body-unix must be sent the body and
# negotiate no reply for helo ... body, as must null-hash-*, and the other do-nothing setups must
# not be sent it).
# Each measured cell is checked the same way by its counts (errors, refusals, header
# insertions); a bad cell is marked "!".
# The tools, keys, DNS server, messages, milter start and probe are in tests/bench/bench-lib.sh
# (shared with memory-bench.sh).
# Milter CPU per message: utime+stime of the milter's process (/proc/PID/stat) around the cell,
# divided by the messages it completed; the DNS server's CPU is shown apart.
#
# Run (as root, from the source tree or a build dir):
#   tests/bench/protocol-bench.sh
#   ECOMM_MILTER=/tmp/b/ecomm-milter BENCH_SECONDS=2 BENCH_ROUNDS=1 tests/bench/protocol-bench.sh
# Environment (defaults in brackets):
#   ECOMM_MILTER          the ecomm-milter binary [$top_builddir/ecomm-milter]
#   MILTER_LOAD, NULL_MILTER, LOG_SINK   prebuilt tools [built here from tests/bench/*.c*]
#   BENCH_SECONDS [5]  per cell;  BENCH_ROUNDS [3];  BENCH_CONNECTIONS [10]
#   BENCH_PER_CONNECTION [1]   messages per milter connection (Postfix: one per SMTP session)
#   BENCH_SETUPS  [ecomm-unix ecomm-inet ecomm-inet-rp null-unix null-inet null-body-unix
#                 null-body-inet null-hash-unix null-hash-inet opendkim-unix opendkim-inet]
#                 ecomm-inet-rp is ecomm-milter over TCP with no_reply = unix
#                 (every stage replies; the default no_reply = always negotiates no replies,
#                 but for DATA over TCP)
#                 ecomm-unix-b and ecomm-inet-b (not in the default) run ECOMM_MILTER_B with
#                 the same configuration, alternating with ecomm-unix and ecomm-inet in every
#                 round: an A/B comparison of two builds (see "A/B" in the report)
#   ECOMM_MILTER_B        the second build for the -b setups
#   BENCH_TYPES   [5k-signed 60k-html 1m-signed 5k-unsigned 50-rcpt]
#   BENCH_LOAD_ARGS  more milter_load options for every cell, e.g. "--nagle --sendmail" to
#                 play Sendmail's writes with Nagle on (its default build; see milter_load.cpp)
#   BENCH_DEV_LOG [1]  give the namespace a /dev/log read by tests/bench/log_sink.c, as a
#                 production host has a syslog daemon, and let OpenDKIM log as Debian ships it
#                 (Syslog and SyslogSuccess yes), as ecomm-milter logs with its defaults.
#                 0: no /dev/log and OpenDKIM with Syslog no (the runs before 2026-12-06
#                 14:40 UTC); glibc's syslog(3) then tries to connect for every line
#   BENCH_REPORT  also write the Markdown report to this file
#   E2E_KEEP=1    keep the work dir (logs, messages, raw results)
# Needs root, unshare, dnsmasq, opendkim-genkey (opendkim-tools), dkimsign (python3-dkim),
# opendkim, gcc, g++, pkg-config, libmilter-dev and libssl-dev; exit 77 (skipped) without them.
# The whole run takes about ROUNDS x SETUPS x TYPES x (SECONDS + 1) seconds plus a minute
# (about 15 minutes with the defaults: 22:04-22:19 UTC on 2026-12-06).

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench-lib.sh
. "$here/bench-lib.sh"

BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-10}
BENCH_PER_CONNECTION=${BENCH_PER_CONNECTION:-1}
BENCH_SETUPS=${BENCH_SETUPS:-"ecomm-unix ecomm-inet ecomm-inet-rp null-unix null-inet null-body-unix null-body-inet null-hash-unix null-hash-inet opendkim-unix opendkim-inet"}
BENCH_TYPES=${BENCH_TYPES:-"5k-signed 60k-html 1m-signed 5k-unsigned 50-rcpt"}
BENCH_REPORT=${BENCH_REPORT:-}
BENCH_DEV_LOG=${BENCH_DEV_LOG:-1}
read -r -a TYPES <<<"$BENCH_TYPES"
read -r -a LOAD_ARGS <<<"${BENCH_LOAD_ARGS:-}"

# ---------------------------------------------------------------------------------------------
# Prerequisites (outside and inside the namespace)

# The tool that serves /dev/log, when there is to be one.
dev_log_tool() { [ "$BENCH_DEV_LOG" = 0 ] || echo log-sink; }

require_tools() {
    bench_require_tools milter_load null-milter "$(dev_log_tool)"
    case " $BENCH_SETUPS " in
        *" opendkim-"*) command -v opendkim >/dev/null 2>&1 || e2e_skip "opendkim is not installed (Debian package opendkim)" ;;
    esac
}

require_tools
e2e_require_dns_tools
case " $BENCH_SETUPS " in
    *" ecomm-"*) e2e_require_milter ;;
esac
case " $BENCH_SETUPS " in
    *" ecomm-unix-b "* | *" ecomm-inet-b "*)
        [ -x "${ECOMM_MILTER_B:-}" ] || e2e_die "the -b setups need ECOMM_MILTER_B, a second ecomm-milter binary" ;;
esac
# Runs this script again inside the namespace (and exits with its status); returns in there.
e2e_enter_private_netns "$here/$(basename "$0")" "$@"

bench_init protocol-bench
RESULTS=$E2E_DIR/results.txt
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------------------------------------
# The milters

# OpenDKIM logs as Debian ships it (a line a signed message) when there is a /dev/log, as
# ecomm-milter logs a line a message by default; not at all without one.
opendkim_syslog() {
    if [ "$BENCH_DEV_LOG" = 0 ]; then echo "Syslog no"; else printf 'Syslog yes\nSyslogSuccess yes\n'; fi
}

opendkim_config() {
    local socket=$1 file=$2
    cat >"$file" <<EOF
# OpenDKIM in verify mode for tests/bench/protocol-bench.sh
Mode v
Socket $socket
$(opendkim_syslog)
SoftwareHeader no
AlwaysAddARHeader yes
AuthservID mx.bench.test
Nameservers 127.0.0.1
EOF
}

start_milters() {
    local setup socket port
    mkdir -p "$E2E_DIR/sock"
    chmod 0755 "$E2E_DIR/sock"
    if [[ " $BENCH_SETUPS " == *" ecomm-inet-rp "* ]]; then
        # shellcheck disable=SC2034  # read by lib.sh
        E2E_NO_REPLY=unix
        write_ecomm_config "unix:$E2E_DIR/sock/ecomm.sock"
        REPLIES_CONF=$(dirname "$E2E_MILTER_CONF")/ecomm-inet-rp.conf  # beside the registry it names
        cp "$E2E_MILTER_CONF" "$REPLIES_CONF"
        unset E2E_NO_REPLY
    fi
    if [[ " $BENCH_SETUPS " == *" ecomm-"* ]]; then
        write_ecomm_config "unix:$E2E_DIR/sock/ecomm.sock"
    fi
    for setup in $BENCH_SETUPS; do
        case $setup in
            *-unix | *-unix-*) socket="unix:$E2E_DIR/sock/$setup.sock" ;;
            *-inet | *-inet-*) port=$(e2e_free_port) || e2e_die "no free port"; socket="inet:$port@127.0.0.1" ;;
            *) e2e_die "unknown setup $setup (BENCH_SETUPS)" ;;
        esac
        case $setup in
            ecomm-inet-rp) start_milter "$setup" "$socket" "$ECOMM_MILTER" -f -c "$REPLIES_CONF" -p "$socket" ;;
            ecomm-*-b) start_milter "$setup" "$socket" "$ECOMM_MILTER_B" -f -c "$E2E_MILTER_CONF" -p "$socket" ;;
            ecomm-*) start_milter "$setup" "$socket" "$ECOMM_MILTER" -f -c "$E2E_MILTER_CONF" -p "$socket" ;;
            null-body-*) start_milter "$setup" "$socket" "$NULL_MILTER" -b -r "$socket" ;;
            null-hash-*) start_milter "$setup" "$socket" "$NULL_MILTER" -b -r -s "$socket" ;;
            null-*) start_milter "$setup" "$socket" "$NULL_MILTER" "$socket" ;;
            opendkim-*)
                opendkim_config "$socket" "$E2E_DIR/$setup.conf"
                start_milter "$setup" "$socket" opendkim -f -x "$E2E_DIR/$setup.conf" ;;
            *) e2e_die "unknown setup $setup (BENCH_SETUPS)" ;;
        esac
        e2e_note "$setup: pid ${PID[$setup]} on $socket"
    done
}

# ---------------------------------------------------------------------------------------------
# Running and checking

# SMFIP_NR_HELO | _MAIL | _RCPT | _DATA | _HDR | _EOH | _BODY (libmilter/mfdef.h): the stages
# ecomm-milter and null-milter -r negotiate without a reply; over TCP both keep DATA's reply
# (SMFIP_NR_DATA, src/milter/glue.h).
NO_REPLY_STAGES=$((0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x80 | 0x40000 | 0x80000))
NR_DATA=$((0x10000))

# check_quiet_stages SETUP TYPE PROTOCOL: dies unless PROTOCOL has the no-reply stages SETUP's
# socket calls for: all of them on a unix socket, all but DATA on an inet one.
check_quiet_stages() {
    local setup=$1 type=$2 protocol=$3 want=$NO_REPLY_STAGES
    [[ $setup == *-inet* ]] && want=$((NO_REPLY_STAGES & ~NR_DATA))
    (( (protocol & NO_REPLY_STAGES) == want )) ||
        e2e_die "$setup on $type: negotiated protocol $protocol, not the no-reply stages $(printf '0x%x' "$want")"
}

# negotiated_protocol SETUP TYPE: the protocol flags the milter negotiated in the probe, from
# milter_load's "negotiated: version V actions 0xA protocol 0xP" line; dies without one.
negotiated_protocol() {
    local err=$E2E_DIR/probe/$1.$2.err protocol
    protocol=$(sed -n 's/^  negotiated: .* protocol \(0x[0-9a-fA-F]*\)$/\1/p' "$err" | head -n 1)
    [ -n "$protocol" ] || e2e_die "$1 on $2: no negotiated protocol flags in $err"
    echo "$protocol"
}

# check_body_sent SETUP TYPE: after probe, dies unless the body crossed the socket exactly when
# the setup is null-body-* or null-hash-* (the "-b" the floor rows stand for), for the do-nothing
# setups, and unless those negotiated no reply for every stage before end of message (their
# "-r").
check_body_sent() {
    local setup=$1 type=$2 sent=no err=$E2E_DIR/probe/$1.$2.err protocol
    [[ $setup == null-* ]] || return 0
    grep -q '^  body: ' "$err" && sent=yes
    case $setup:$sent in
        null-body-*:no | null-hash-*:no)
            e2e_die "$setup on $type: the milter was not sent the body (was -b lost?)" ;;
        null-body-*:yes | null-hash-*:yes | *:no) ;;
        *:yes) e2e_die "$setup on $type: the milter was sent the body, but it should not ask for it" ;;
    esac
    [[ $setup == null-body-* || $setup == null-hash-* ]] || return 0
    protocol=$(negotiated_protocol "$setup" "$type") || exit 1
    check_quiet_stages "$setup" "$type" "$protocol"
}

# check_ecomm_replies SETUP TYPE: after probe, dies unless ecomm-milter negotiated no reply for
# the stages before end of message (ecomm-unix, ecomm-inet: the default no_reply = always; over
# TCP DATA replies), or none of them (ecomm-inet-rp: no_reply = unix over TCP).
check_ecomm_replies() {
    local setup=$1 type=$2 protocol
    [[ $setup == ecomm-* ]] || return 0
    protocol=$(negotiated_protocol "$setup" "$type") || exit 1
    if [ "$setup" = ecomm-inet-rp ]; then
        (( (protocol & NO_REPLY_STAGES) == 0 )) || e2e_die "$setup on $type: negotiated no-reply stages ($protocol)"
    else
        check_quiet_stages "$setup" "$type" "$protocol"
    fi
}

# cell SETUP TYPE ROUND: one measured run; appends a line to $RESULTS.
cell() {
    local setup=$1 type=$2 round=$3 pid=${PID[$1]} before after dns_before dns_after line ok=ok
    local out=$E2E_DIR/cells/$setup.$type.$round
    mkdir -p "$E2E_DIR/cells"
    kill -0 "$pid" 2>/dev/null || e2e_die "$setup (pid $pid) has died (see $E2E_DIR/$setup.log)"
    before=$(cpu_ticks "$pid")
    dns_before=$(cpu_ticks "$DNS_PID")
    timeout "$((${BENCH_SECONDS%.*} + 90))" "$MILTER_LOAD" --socket "${SOCKET[$setup]}" \
        --connections "$BENCH_CONNECTIONS" --seconds "$BENCH_SECONDS" \
        --messages-per-connection "$BENCH_PER_CONNECTION" "${LOAD_ARGS[@]}" --message "$MSG/$type.eml" \
        >"$out.out" 2>"$out.err"
    after=$(cpu_ticks "$pid")
    dns_after=$(cpu_ticks "$DNS_PID")
    line=$(cat "$out.out")
    [ -n "$line" ] || line="messages=0 errors=1 total_messages=0"
    parse "$line"
    if [ "${R[errors]}" != 0 ] || [ "${R[messages]}" = 0 ] ||
        [ $((R[accept] + R[continue])) != "${R[messages]}" ] || [ "${R[rcpt_rejected]}" != 0 ]; then
        ok=bad
    fi
    case $setup in
        ecomm-* | opendkim-*) [ $((R[insheader] + R[addheader])) -ge "${R[messages]}" ] || ok=bad ;;
    esac
    # CPU ms per message, in microseconds for integer arithmetic.
    local n=${R[total_messages]} cpu=0 dns_cpu=0
    if [ "$n" -gt 0 ]; then
        cpu=$(((after - before) * 1000000000 / CLK_TCK / n))
        dns_cpu=$(((dns_after - dns_before) * 1000000000 / CLK_TCK / n))
    fi
    cpu=$(printf '%d.%03d' $((cpu / 1000000)) $((cpu / 1000 % 1000)))
    dns_cpu=$(printf '%d.%03d' $((dns_cpu / 1000000)) $((dns_cpu / 1000 % 1000)))
    printf '%s %s %s %s %s %s %s %s %s\n' "$setup" "$type" "$round" "${R[msg_per_s]}" "${R[p50_ms]}" "${R[p99_ms]}" \
        "$cpu" "$dns_cpu" "$ok" >>"$RESULTS"
    printf '# round %s %-14s %-12s %s cpu_ms_per_msg=%s dns_cpu_ms_per_msg=%s %s\n' "$round" "$setup" "$type" \
        "$line" "$cpu" "$dns_cpu" "$ok"
    if [ "$ok" = bad ]; then sed 's/^/#   /' "$out.err" | head -n 5; fi
}

# compute_medians: MED["SETUP TYPE COLUMN"] is the median over the rounds of a column of
# $RESULTS (4 msg/s, 5 p50, 6 p99, 7 cpu, 8 dns cpu), "!" appended when a round was bad.
declare -A MED
compute_medians() {
    local setup type column value
    while read -r setup type column value; do
        MED["$setup $type $column"]=$value
    done < <(awk '
        { key = $1 " " $2; if (!(key in n)) order[++keys] = key
          n[key]++; if ($9 != "ok") bad[key] = "!"
          for (c = 4; c <= 8; c++) v[key, c, n[key]] = $c + 0 }
        END {
            for (k = 1; k <= keys; k++) {
                key = order[k]; m = n[key]
                for (c = 4; c <= 8; c++) {
                    for (i = 1; i <= m; i++) x[i] = v[key, c, i]
                    for (i = 2; i <= m; i++) {   # insertion sort: a handful of rounds
                        y = x[i]
                        for (j = i - 1; j > 0 && x[j] > y; j--) x[j + 1] = x[j]
                        x[j + 1] = y
                    }
                    print key, c, ((m % 2) ? x[(m + 1) / 2] : (x[m / 2] + x[m / 2 + 1]) / 2) bad[key]
                }
            }
        }' "$RESULTS")
}

median() { echo "${MED["$1 $2 $3"]:--}"; }

fmt_rate() { if [ "$1" = - ]; then echo -; else printf '%.0f%s\n' "${1%!}" "${1//[^!]/}"; fi; }
fmt_ms() { if [ "$1" = - ]; then echo -; else printf '%.2f%s\n' "${1%!}" "${1//[^!]/}"; fi; }

# ---------------------------------------------------------------------------------------------
# The report

report() {
    local setup type header sep row
    header="| $BENCH_CONNECTIONS connections |"
    sep="|---|"
    for type in $BENCH_TYPES; do header+=" $type |"; sep+="---|"; done
    echo
    echo "## Milter protocol alone: messages per second (median of $BENCH_ROUNDS rounds of ${BENCH_SECONDS}s)"
    echo
    echo "$header"; echo "$sep"
    for setup in $BENCH_SETUPS; do
        row="| $setup |"
        for type in $BENCH_TYPES; do row+=" $(fmt_rate "$(median "$setup" "$type" 4)") |"; done
        echo "$row"
    done
    echo
    echo "## Latency per message, p50 / p99 (ms, medians)"
    echo
    echo "$header"; echo "$sep"
    for setup in $BENCH_SETUPS; do
        row="| $setup |"
        for type in $BENCH_TYPES; do
            row+=" $(fmt_ms "$(median "$setup" "$type" 5)") / $(fmt_ms "$(median "$setup" "$type" 6)") |"
        done
        echo "$row"
    done
    echo
    echo "## Milter CPU per message (ms, utime+stime of its process; DNS server's in brackets)"
    echo
    echo "$header"; echo "$sep"
    for setup in $BENCH_SETUPS; do
        row="| $setup |"
        for type in $BENCH_TYPES; do
            row+=" $(fmt_ms "$(median "$setup" "$type" 7)") ($(fmt_ms "$(median "$setup" "$type" 8)")) |"
        done
        echo "$row"
    done
    echo
    targets
    echo
    floor
    a_b
    echo "\"!\": a round of that cell failed its check (errors, a refusal, a missing header): see the log above."
}

# ratio A B: A / B to two decimals, or "-".
ratio() { awk -v a="${1%!}" -v b="${2%!}" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }

# round_ratios A B TYPE: the lowest and highest of A's msg/s over B's in the same round
# ("1.48-2.17"; setups alternate within a round, so a round's pair ran minutes apart at most),
# or "-". Shows whether a verdict on the medians is within the machine's round-to-round noise.
round_ratios() {
    awk -v a="$1" -v b="$2" -v t="$3" '
        $2 == t && $1 == a { x[$3] = $4 }
        $2 == t && $1 == b { y[$3] = $4 }
        END {
            for (r in x) {
                if (!(r in y) || y[r] <= 0) continue
                q = x[r] / y[r]
                if (n++ == 0 || q < lo) lo = q
                if (n == 1 || q > hi) hi = q
            }
            if (n) printf "%.2f-%.2f\n", lo, hi; else print "-"
        }' "$RESULTS"
}

# verdict VALUE OP LIMIT: "yes" or "NO".
verdict() { awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { if (v == "-") { print "-"; exit }
    ok = (op == ">=") ? v >= l : v < l; print ok ? "yes" : "NO" }'; }

targets() {
    local kind type r p99 row
    echo "## Targets (issue 7, milter protocol)"
    echo
    echo "| target | setup |$(printf ' %s |' "${TYPES[@]}")"
    echo "|---|---|$(printf -- '---|%.0s' "${TYPES[@]}")"
    for kind in unix inet; do
        [[ " $BENCH_SETUPS " == *" ecomm-$kind "* && " $BENCH_SETUPS " == *" opendkim-unix "* ]] || continue
        row="| >= 2x OpenDKIM unix msg/s | ecomm-$kind |"
        for type in $BENCH_TYPES; do
            r=$(ratio "$(median "ecomm-$kind" "$type" 4)" "$(median opendkim-unix "$type" 4)")
            row+=" $r ($(verdict "$r" ">=" 2); rounds $(round_ratios "ecomm-$kind" opendkim-unix "$type")) |"
        done
        echo "$row"
    done
    for kind in unix inet; do
        [[ " $BENCH_SETUPS " == *" ecomm-$kind "* && " $BENCH_SETUPS " == *" null-$kind "* ]] || continue
        row="| >= 0.5x do-nothing msg/s (5 KB is the target) | ecomm-$kind |"
        for type in $BENCH_TYPES; do
            r=$(ratio "$(median "ecomm-$kind" "$type" 4)" "$(median "null-$kind" "$type" 4)")
            row+=" $r ($(verdict "$r" ">=" 0.5)) |"
        done
        echo "$row"
    done
    for kind in unix inet; do
        [[ " $BENCH_SETUPS " == *" ecomm-$kind "* ]] || continue
        row="| p99 < 10 ms at $BENCH_CONNECTIONS connections | ecomm-$kind |"
        for type in $BENCH_TYPES; do
            p99=$(median "ecomm-$kind" "$type" 6)
            row+=" $(fmt_ms "$p99") ms ($(verdict "${p99%!}" "<" 10)) |"
        done
        echo "$row"
    done
}

# ratio_row A B: "| A / B |" and the msg/s ratio of setups A and B for each type.
ratio_row() {
    local type row="| $1 / $2 |"
    for type in $BENCH_TYPES; do
        row+=" $(ratio "$(median "$1" "$type" 4)" "$(median "$2" "$type" 4)") |"
    done
    echo "$row"
}

# floor: for each floor setup run (null-body-KIND, then null-hash-KIND), its msg/s against
# opendkim-unix per type (what a milter that reads the body, and one that also hashes it, with no
# replies before end of message as ecomm-milter, reaches: is 2x OpenDKIM within reach of one that
# verifies DKIM?) and ecomm-KIND's share of it (how much of that floor ecomm-milter keeps).
floor() {
    local kind base rows=()
    for base in null-body null-hash; do
        for kind in unix inet; do
            [[ " $BENCH_SETUPS " == *" $base-$kind "* ]] || continue
            [[ " $BENCH_SETUPS " != *" opendkim-unix "* ]] || rows+=("$(ratio_row "$base-$kind" opendkim-unix)")
            [[ " $BENCH_SETUPS " != *" ecomm-$kind "* ]] || rows+=("$(ratio_row "ecomm-$kind" "$base-$kind")")
        done
    done
    [ "${#rows[@]}" -gt 0 ] || return 0
    echo "## Floors: do-nothing milter that takes the body (null-body; no replies before end of" \
        "message, as ecomm-milter) and one that also takes its SHA-256 (null-hash), as multiples" \
        "of OpenDKIM unix, and ecomm-milter as a share of each"
    echo
    echo "| msg/s ratio |$(printf ' %s |' "${TYPES[@]}")"
    echo "|---|$(printf -- '---|%.0s' "${TYPES[@]}")"
    printf '%s\n' "${rows[@]}"
    echo
}

# a_b: for each -b setup run, its msg/s and CPU a message against its A setup's, per type: the
# ratio of the medians and the lowest and highest ratio of a single round. Rates on a shared
# machine drift by a fifth within one run; a pair of one round ran seconds apart, so the round
# ratios are the comparison to trust.
a_b() {
    local kind type rows=() row
    for kind in unix inet; do
        [[ " $BENCH_SETUPS " == *" ecomm-$kind-b "* && " $BENCH_SETUPS " == *" ecomm-$kind "* ]] || continue
        row="| ecomm-$kind-b / ecomm-$kind, msg/s |"
        for type in $BENCH_TYPES; do
            row+=" $(ratio "$(median "ecomm-$kind-b" "$type" 4)" "$(median "ecomm-$kind" "$type" 4)") (rounds $(round_ratios "ecomm-$kind-b" "ecomm-$kind" "$type")) |"
        done
        rows+=("$row")
        row="| ecomm-$kind-b / ecomm-$kind, CPU a message |"
        for type in $BENCH_TYPES; do
            row+=" $(ratio "$(median "ecomm-$kind-b" "$type" 7)" "$(median "ecomm-$kind" "$type" 7)") |"
        done
        rows+=("$row")
    done
    [ "${#rows[@]}" -gt 0 ] || return 0
    echo "## A/B: ECOMM_MILTER_B ($ECOMM_MILTER_B) against ECOMM_MILTER ($ECOMM_MILTER)"
    echo
    echo "| ratio |$(printf ' %s |' "${TYPES[@]}")"
    echo "|---|$(printf -- '---|%.0s' "${TYPES[@]}")"
    printf '%s\n' "${rows[@]}"
    echo
}

# ---------------------------------------------------------------------------------------------
# Main

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
e2e_note "protocol benchmark: setups [$BENCH_SETUPS], types [$BENCH_TYPES], $BENCH_ROUNDS rounds of ${BENCH_SECONDS}s cells, $BENCH_CONNECTIONS connections, $BENCH_PER_CONNECTION message(s) per connection"
e2e_note "machine: $(nproc) cores, $(uname -sr), load average $LOAD_START; work dir $E2E_DIR"
build_tools milter_load null-milter "$(dev_log_tool)"
if [ "$BENCH_DEV_LOG" = 0 ]; then
    DEV_LOG_NOTE="no /dev/log (BENCH_DEV_LOG=0)"
else
    e2e_private_dev_log "$LOG_SINK"
fi
make_keys
start_dns
make_messages "${TYPES[@]}"
start_milters

e2e_note "probes: one message per setup and type (the header each setup added):"
for setup in $BENCH_SETUPS; do
    for type in $BENCH_TYPES; do
        probe "$setup" "$type"
        check_body_sent "$setup" "$type"
        check_ecomm_replies "$setup" "$type"
    done
done

: >"$RESULTS"
read -r -a setups <<<"$BENCH_SETUPS"
for ((round = 1; round <= BENCH_ROUNDS; round++)); do
    for type in $BENCH_TYPES; do
        # Each round starts the rotation of setups one further, so that no setup always runs
        # first (or right after the same neighbour).
        for ((i = 0; i < ${#setups[@]}; i++)); do
            cell "${setups[$(((i + round - 1) % ${#setups[@]}))]}" "$type" "$round"
        done
    done
done

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "$BENCH_DEV_LOG" != 0 ]; then
    e2e_stop_log_sink
    DEV_LOG_NOTE="/dev/log read by tests/bench/log_sink.c, $E2E_LOG_LINES lines received"
fi
compute_medians
{
    echo
    echo "# Milter protocol benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "Machine: $(nproc) cores, $(uname -sr); load average $LOAD_START at the start, $LOAD_END at the end."
    echo "Command: BENCH_SECONDS=$BENCH_SECONDS BENCH_ROUNDS=$BENCH_ROUNDS BENCH_CONNECTIONS=$BENCH_CONNECTIONS" \
        "BENCH_PER_CONNECTION=$BENCH_PER_CONNECTION BENCH_DEV_LOG=$BENCH_DEV_LOG tests/bench/protocol-bench.sh"
    echo "Messages (bytes): $(message_sizes "${TYPES[@]}")"
    echo "Syslog: $DEV_LOG_NOTE."
    report
} | tee "$E2E_DIR/report.md"
[ -z "$BENCH_REPORT" ] || cp "$E2E_DIR/report.md" "$BENCH_REPORT"
if grep -q ' bad$' "$RESULTS"; then
    e2e_note "some cells failed their checks (marked !); work dir kept"
    E2E_FAILED=1
    exit 1
fi
exit 0
