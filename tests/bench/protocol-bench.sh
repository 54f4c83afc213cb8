#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The milter-protocol benchmark of issue 7 ("milter protocol alone"): milter_load plays the MTA
# (protocol version 6, as Postfix does) against ecomm-milter, a do-nothing milter (null-milter:
# the protocol's own cost) and OpenDKIM in verify mode, each over a unix and an inet socket, on
# the same messages: 5 KB signed from a registered sender, a 60 KB HTML newsletter with
# List-Unsubscribe (signed), 1 MB signed, 5 KB unsigned from outside, and the 5 KB signed one to
# 50 recipients.  It prints Markdown tables of messages/s, p50/p99 latency and milter CPU per
# message (medians over rounds), the ratios the issue's targets name, and whether they are met.
#
# Everything runs in a private network and mount namespace (tests/e2e/lib.sh): a dnsmasq on
# 127.0.0.1:53 serves the SPF records and DKIM keys of the test domains, and every milter uses
# it (ecomm-milter with dns_file empty, OpenDKIM with Nameservers 127.0.0.1).  The DKIM keys are
# made and the messages signed here.  All six milters are started once and stay up; the rounds
# alternate the order in which they are loaded.  Before the rounds, one message of each type
# goes to each setup with --verbose, and the run stops when a setup is not really in the path
# (ecomm-milter and OpenDKIM must insert an Authentication-Results header with dkim=pass for a
# signed message; every final reply must be accept).  Each measured cell is checked the same
# way by its counts (errors, refusals, header insertions); a bad cell is marked "!".
# Milter CPU per message: utime+stime of the milter's process (/proc/PID/stat) around the cell,
# divided by the messages it completed; the DNS server's CPU is shown apart.
#
# Run (as root, from the source tree or a build dir):
#   tests/bench/protocol-bench.sh
#   ECOMM_MILTER=/tmp/b/ecomm-milter BENCH_SECONDS=2 BENCH_ROUNDS=1 tests/bench/protocol-bench.sh
# Environment (defaults in brackets):
#   ECOMM_MILTER          the ecomm-milter binary [$top_builddir/ecomm-milter]
#   MILTER_LOAD, NULL_MILTER   prebuilt tools [built here from tests/bench/*.c*]
#   BENCH_SECONDS [5]  per cell;  BENCH_ROUNDS [3];  BENCH_CONNECTIONS [10]
#   BENCH_PER_CONNECTION [1]   messages per milter connection (Postfix: one per SMTP session)
#   BENCH_SETUPS  [ecomm-unix ecomm-inet null-unix null-inet opendkim-unix opendkim-inet]
#   BENCH_TYPES   [5k-signed 60k-html 1m-signed 5k-unsigned 50-rcpt]
#   BENCH_REPORT  also write the Markdown report to this file
#   E2E_KEEP=1    keep the work dir (logs, messages, raw results)
# Needs root, unshare, dnsmasq, opendkim-genkey (opendkim-tools), dkimsign (python3-dkim),
# opendkim, gcc, g++, pkg-config and libmilter-dev; exit 77 (skipped) without them.
# The whole run takes about ROUNDS x SETUPS x TYPES x (SECONDS + 1) seconds plus a minute
# (about 10 minutes with the defaults).

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
. "$top_srcdir/tests/e2e/lib.sh"

export LC_ALL=C   # decimal points in printf and awk
BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-10}
BENCH_PER_CONNECTION=${BENCH_PER_CONNECTION:-1}
BENCH_SETUPS=${BENCH_SETUPS:-"ecomm-unix ecomm-inet null-unix null-inet opendkim-unix opendkim-inet"}
BENCH_TYPES=${BENCH_TYPES:-"5k-signed 60k-html 1m-signed 5k-unsigned 50-rcpt"}
BENCH_REPORT=${BENCH_REPORT:-}
read -r -a TYPES <<<"$BENCH_TYPES"

# ---------------------------------------------------------------------------------------------
# Prerequisites (outside and inside the namespace)

require_tools() {
    [ "$(id -u)" -eq 0 ] || e2e_skip "needs root (a private network namespace, dnsmasq on port 53)"
    export PATH="$PATH:/usr/sbin:/sbin"
    local tool
    for tool in python3 awk getconf; do
        command -v "$tool" >/dev/null 2>&1 || e2e_skip "$tool is not installed"
    done
    case " $BENCH_SETUPS " in
        *" opendkim-"*) command -v opendkim >/dev/null 2>&1 || e2e_skip "opendkim is not installed (Debian package opendkim)" ;;
    esac
    if [ -z "${MILTER_LOAD:-}" ] || [ -z "${NULL_MILTER:-}" ]; then
        for tool in gcc g++ pkg-config; do
            command -v "$tool" >/dev/null 2>&1 || e2e_skip "$tool is not installed (to build the benchmark tools)"
        done
        pkg-config --exists milter || e2e_skip "libmilter is not installed (Debian package libmilter-dev)"
    fi
}

require_tools
e2e_require_dns_tools
case " $BENCH_SETUPS " in
    *" ecomm-"*) e2e_require_milter ;;
esac
# Runs this script again inside the namespace (and exits with its status); returns in there.
e2e_enter_private_netns "$here/$(basename "$0")" "$@"

e2e_init protocol-bench
e2e_setup_private_netns
cd "$E2E_DIR" || e2e_die "cannot enter $E2E_DIR"
trap bench_cleanup EXIT

BIN=$E2E_DIR/bin
KEYS=$E2E_DIR/keys
MSG=$E2E_DIR/msg
RESULTS=$E2E_DIR/results.txt
CLK_TCK=$(getconf CLK_TCK)
declare -A SOCKET PID   # per setup: the socket in libmilter's spelling, the milter's pid
DNS_PID=

# Stops the milters in parallel (libmilter takes up to ~5 s to notice SIGTERM), then lets
# lib.sh's cleanup do the rest (dnsmasq, the work dir).
# shellcheck disable=SC2317  # run by the EXIT trap
bench_cleanup() {
    local status=$? setup pid i
    for setup in "${!PID[@]}"; do kill -TERM "${PID[$setup]}" 2>/dev/null; done
    for ((i = 0; i < 150; i++)); do
        local alive=0
        for pid in "${PID[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${PID[@]}"; do kill -KILL "$pid" 2>/dev/null; done
    (exit "$status")
    e2e_cleanup
}

# ---------------------------------------------------------------------------------------------
# Tools, keys, DNS, messages

build_tools() {
    mkdir -p "$BIN"
    if [ -z "${MILTER_LOAD:-}" ]; then
        MILTER_LOAD=$BIN/milter_load
        g++ -std=c++20 -O2 -Wall -Wextra -o "$MILTER_LOAD" "$here/milter_load.cpp" -lpthread ||
            e2e_die "cannot build milter_load"
    fi
    if [ -z "${NULL_MILTER:-}" ]; then
        NULL_MILTER=$BIN/null-milter
        # shellcheck disable=SC2046  # pkg-config's output is several words
        gcc -O2 -Wall -Wextra -o "$NULL_MILTER" "$here/null_milter.c" $(pkg-config --cflags --libs milter) -lpthread ||
            e2e_die "cannot build null-milter"
    fi
}

make_keys() {
    e2e_dkim_key "$KEYS/e" e.example.edu bench 2048
    e2e_dkim_key "$KEYS/news" news.example.edu bench 2048
}

# dnsmasq as in lib.sh's e2e_start_dnsmasq, but without --log-queries: at thousands of queries a
# second the log would cost the DNS server (and so the machine) more than the answers.
start_dns() {
    local conf=$E2E_DIR/dnsmasq.conf
    {
        echo "# DNS of tests/bench/protocol-bench.sh: only the names listed here exist."
        echo "local=/example.edu/"
        echo "local=/test/"
        echo "local=/in-addr.arpa/"
        e2e_dnsmasq_txt e.example.edu 'v=spf1 ip4:192.0.2.0/25 -all'
        e2e_dnsmasq_txt news.example.edu 'v=spf1 ip4:192.0.2.128/25 -all'
        e2e_dnsmasq_txt outside.test 'v=spf1 ip4:203.0.113.0/24 -all'
        e2e_dnsmasq_txt bench._domainkey.e.example.edu "$(e2e_dkim_record "$KEYS/e" bench)"
        e2e_dnsmasq_txt bench._domainkey.news.example.edu "$(e2e_dkim_record "$KEYS/news" bench)"
    } >"$conf"
    dnsmasq --keep-in-foreground --conf-file="$conf" --no-resolv --no-hosts \
        --listen-address=127.0.0.1 --port=53 --bind-interfaces --user=root --pid-file= \
        --log-facility="$E2E_DIR/dnsmasq.log" >"$E2E_DIR/dnsmasq.out" 2>&1 &
    DNS_PID=$!
    E2E_PIDS_TO_STOP+=("$DNS_PID")
    e2e_wait_for "dnsmasq on 127.0.0.1:53" e2e_dns_answers || {
        e2e_show "$E2E_DIR/dnsmasq.out"
        e2e_die "dnsmasq did not answer"
    }
    e2e_dns_query bench._domainkey.e.example.edu TXT | grep -q 'v=DKIM1' ||
        e2e_die "dnsmasq does not serve the DKIM key of e.example.edu"
}

# The five message types in $MSG: TYPE.eml (signed where the type says so) and TYPE.eml.env.
make_messages() {
    mkdir -p "$MSG"
    python3 - "$MSG" <<'EOF' || e2e_die "cannot write the messages"
import sys

out = sys.argv[1]
words = ("the office of strategic relations and communications invites every student to the "
         "spring orientation programme where the schedule for registration advising housing "
         "and dining is explained in detail by staff from each unit on campus").split()


def lines(n_bytes, width=72, seed=0):
    """Plain text lines of about n_bytes in all (CRLF line ends)."""
    text, line, i = [], [], seed
    size = 0
    while size < n_bytes:
        word = words[i % len(words)]
        i += 7
        if len(" ".join(line + [word])) > width:
            text.append(" ".join(line))
            size += len(text[-1]) + 2
            line = []
        line.append(word)
    return "\r\n".join(text) + "\r\n"


def message(headers, body):
    return "\r\n".join(headers) + "\r\n\r\n" + body


def write(name, text, env):
    with open(f"{out}/{name}.unsigned", "w", newline="") as f:
        f.write(text)
    with open(f"{out}/{name}.eml.env", "w") as f:
        f.write("".join(f"{k}={v}\n" for k, v in env))


date = "Date: Tue, 01 Dec 2026 10:00:00 -0700"
mc_env = [("client_ip", "192.0.2.7"), ("client_name", "mta7.mc.example.net"),
          ("helo", "mta7.mc.example.net"), ("from", "bounce-mc7f3a-4821@e.example.edu"),
          ("rcpt", "student@example.edu")]
plain = ["MIME-Version: 1.0", "Content-Type: text/plain; charset=us-ascii",
         "Content-Transfer-Encoding: 7bit"]

# 5 KB signed, registered sender marketing-cloud (transactional).
write("5k-signed", message(
    ['From: "Campus News" <news@e.example.edu>', "To: student@example.edu",
     "Subject: Your spring orientation schedule", date,
     "Message-ID: <bench-5k@e.example.edu>"] + plain, lines(4300)), mc_env)

# The same to 50 university recipients.
write("50-rcpt", message(
    ['From: "Campus News" <news@e.example.edu>', "To: undisclosed-recipients:;",
     "Subject: Your spring orientation schedule", date,
     "Message-ID: <bench-50@e.example.edu>"] + plain, lines(4300)),
    mc_env[:4] + [("rcpt", f"student{i:03d}@example.edu") for i in range(1, 51)])

# 1 MB signed, marketing-cloud.
write("1m-signed", message(
    ['From: "Campus News" <news@e.example.edu>', "To: student@example.edu",
     "Subject: The complete orientation handbook", date,
     "Message-ID: <bench-1m@e.example.edu>"] + plain, lines(1024 * 1024 - 600)), mc_env)

# 60 KB HTML newsletter (promotional sender "newsletter"), List-Unsubscribe with one-click.
boundary = "=_bench_alt_42"
text_part = lines(14000, seed=3)
html_rows = []
size = 0
i = 0
while size < 44000:
    row = (f'<tr><td style="padding:8px;font-family:Arial,sans-serif;font-size:14px;color:#333333">'
           f'<a href="https://news.example.edu/story/{i}?utm_source=newsletter">Story {i}</a>: '
           f'{" ".join(words[(i * 5) % 20:(i * 5) % 20 + 12])}</td></tr>')
    html_rows.append(row)
    size += len(row) + 2
    i += 1
html = ("<!DOCTYPE html>\r\n<html><head><meta charset=\"utf-8\"><title>Alumni news</title></head>\r\n"
        "<body><table width=\"600\" align=\"center\">\r\n" + "\r\n".join(html_rows) +
        "\r\n<tr><td><a href=\"https://news.example.edu/unsubscribe?u=1001\">Unsubscribe</a> | "
        "<a href=\"https://news.example.edu/preferences?u=1001\">Preferences</a></td></tr>\r\n"
        "</table></body></html>\r\n")
body = (f"--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n"
        f"Content-Transfer-Encoding: 7bit\r\n\r\n{text_part}\r\n"
        f"--{boundary}\r\nContent-Type: text/html; charset=us-ascii\r\n"
        f"Content-Transfer-Encoding: 7bit\r\n\r\n{html}\r\n--{boundary}--\r\n")
write("60k-html", message(
    ['From: "Alumni Relations" <alumni@news.example.edu>', "To: student@example.edu",
     "Subject: Alumni news: December", date, "Message-ID: <bench-60k@news.example.edu>",
     "List-Id: Alumni news <alumni.news.example.edu>",
     "List-Unsubscribe: <https://news.example.edu/u/1001>, <mailto:unsubscribe@news.example.edu?subject=1001>",
     "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
     "MIME-Version: 1.0", f'Content-Type: multipart/alternative; boundary="{boundary}"'], body),
    [("client_ip", "192.0.2.140"), ("client_name", "out.news.example.net"),
     ("helo", "out.news.example.net"), ("from", "nl42-1001@news.example.edu"),
     ("rcpt", "student@example.edu")])

# 5 KB unsigned from outside (SPF pass for outside.test).
write("5k-unsigned", message(
    ['From: "A Colleague" <colleague@outside.test>', "To: student@example.edu",
     "Subject: Notes from the meeting", date, "Message-ID: <bench-ext@outside.test>"] + plain,
    lines(4500, seed=5)),
    [("client_ip", "203.0.113.25"), ("client_name", "mail.outside.test"),
     ("helo", "mail.outside.test"), ("from", "colleague@outside.test"),
     ("rcpt", "student@example.edu")])
EOF
    e2e_dkim_sign "$MSG/5k-signed.unsigned" "$MSG/5k-signed.eml" e.example.edu bench "$KEYS/e/bench.private"
    e2e_dkim_sign "$MSG/50-rcpt.unsigned" "$MSG/50-rcpt.eml" e.example.edu bench "$KEYS/e/bench.private"
    e2e_dkim_sign "$MSG/1m-signed.unsigned" "$MSG/1m-signed.eml" e.example.edu bench "$KEYS/e/bench.private"
    e2e_dkim_sign "$MSG/60k-html.unsigned" "$MSG/60k-html.eml" news.example.edu bench "$KEYS/news/bench.private"
    cp "$MSG/5k-unsigned.unsigned" "$MSG/5k-unsigned.eml"
    local type
    for type in $BENCH_TYPES; do
        [ -f "$MSG/$type.eml" ] || e2e_die "unknown message type $type (BENCH_TYPES)"
        if [ "$type" != 5k-unsigned ] && ! dkimverify <"$MSG/$type.eml" >/dev/null 2>&1; then
            e2e_die "dkimverify rejects the signature of $type.eml"
        fi
    done
    e2e_note "messages: $(message_sizes)"
}

# "TYPE SIZE, ..." for the types of this run.
message_sizes() {
    local type list=()
    for type in "${TYPES[@]}"; do list+=("$type $(wc -c <"$MSG/$type.eml")"); done
    local IFS=, joined
    joined="${list[*]}"
    echo "${joined//,/, }"
}

# ---------------------------------------------------------------------------------------------
# The milters

socket_ready() {
    case $1 in
        unix:*) [ -S "${1#unix:}" ] ;;
        inet:*) local rest=${1#inet:}; e2e_port_listening "${rest%@*}" ;;
    esac
}

# start_milter SETUP SOCKET COMMAND...: runs COMMAND in the background (log: SETUP.log) and
# waits for SOCKET.
start_milter() {
    local setup=$1 socket=$2
    shift 2
    SOCKET[$setup]=$socket
    "$@" >"$E2E_DIR/$setup.log" 2>&1 &
    PID[$setup]=$!
    local deadline=$((SECONDS + E2E_TIMEOUT))
    until socket_ready "$socket"; do
        if ! kill -0 "${PID[$setup]}" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
            e2e_show "$E2E_DIR/$setup.log"
            e2e_die "$setup did not open $socket"
        fi
        sleep 0.1
    done
}

opendkim_config() {
    local socket=$1 file=$2
    cat >"$file" <<EOF
# OpenDKIM in verify mode for tests/bench/protocol-bench.sh
Mode v
Socket $socket
Syslog no
SoftwareHeader no
AlwaysAddARHeader yes
AuthservID mx.bench.test
Nameservers 127.0.0.1
EOF
}

start_milters() {
    local setup kind socket port
    mkdir -p "$E2E_DIR/sock"
    chmod 0755 "$E2E_DIR/sock"
    if [[ " $BENCH_SETUPS " == *" ecomm-"* ]]; then
        # Every check on, DNS from the namespace's dnsmasq; no rate limit and a bulk threshold
        # out of reach, so that the rate and bulk-hours rules count but never defer the run.
        e2e_write_milter_config "socket=unix:$E2E_DIR/sock/ecomm.sock" dns=system dns_timeout=2 \
            rate_limit=0 bulk_threshold=100000000
        "$ECOMM_MILTER" -n -c "$E2E_MILTER_CONF" >"$E2E_DIR/ecomm-check.txt" 2>&1 || {
            e2e_show "$E2E_DIR/ecomm-check.txt"
            e2e_die "ecomm-milter refuses the benchmark config"
        }
    fi
    for setup in $BENCH_SETUPS; do
        kind=${setup##*-}
        case $kind in
            unix) socket="unix:$E2E_DIR/sock/$setup.sock" ;;
            inet) port=$(e2e_free_port) || e2e_die "no free port"; socket="inet:$port@127.0.0.1" ;;
            *) e2e_die "unknown setup $setup (BENCH_SETUPS)" ;;
        esac
        case $setup in
            ecomm-*) start_milter "$setup" "$socket" "$ECOMM_MILTER" -f -c "$E2E_MILTER_CONF" -p "$socket" ;;
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

cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# parse LINE: the KEY=VALUE words of a milter_load result line into R (numbers default to 0).
declare -A R
parse() {
    local word key
    R=()
    for key in messages total_messages errors accept continue rcpt_rejected insheader addheader \
        msg_per_s p50_ms p99_ms; do
        R[$key]=0
    done
    for word in $1; do
        [[ $word == *=* ]] && R[${word%%=*}]=${word#*=}
    done
}

# probe SETUP TYPE: one message with --verbose; dies unless the setup really decided it.
probe() {
    local setup=$1 type=$2 out=$E2E_DIR/probe/$1.$2 line problem=
    mkdir -p "$E2E_DIR/probe"
    timeout 60 "$MILTER_LOAD" --socket "${SOCKET[$setup]}" --connections 1 --messages 1 --verbose \
        --message "$MSG/$type.eml" >"$out.out" 2>"$out.err"
    line=$(cat "$out.out")
    parse "$line"
    if [ "${R[messages]}" != 1 ] || [ "${R[errors]}" != 0 ]; then
        problem="the message did not go through"
    elif [ $((R[accept] + R[continue])) -ne 1 ]; then
        problem="the milter did not accept it"
    else
        case $setup in
            ecomm-* | opendkim-*)
                if ! grep -q 'eom: [hi] .*Authentication-Results:' "$out.err"; then
                    problem="no Authentication-Results header was added"
                elif [ "$type" != 5k-unsigned ] && ! grep -q 'eom: [hi] .*Authentication-Results:.*dkim=pass' "$out.err"; then
                    problem="the Authentication-Results header does not say dkim=pass"
                fi ;;
            null-*) grep -q 'eom: [hi]' "$out.err" && problem="the do-nothing milter edited the message" ;;
        esac
    fi
    if [ -n "$problem" ]; then
        e2e_show "$out.out"
        e2e_show "$out.err" 40
        e2e_show "$E2E_DIR/$setup.log" 10
        e2e_die "$setup on $type: $problem"
    fi
    printf '# %-14s %-12s %s\n' "$setup" "$type" "$(sed -n 's/^  eom: [hi] \(\[[0-9]*\] \)\{0,1\}//p' "$out.err" |
        sed 's/\\n */ /g' | tr '\n' '|' | cut -c1-160)"
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
        --messages-per-connection "$BENCH_PER_CONNECTION" --message "$MSG/$type.eml" >"$out.out" 2>"$out.err"
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
    echo "\"!\": a round of that cell failed its check (errors, a refusal, a missing header): see the log above."
}

# ratio A B: A / B to two decimals, or "-".
ratio() { awk -v a="${1%!}" -v b="${2%!}" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }

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
            row+=" $r ($(verdict "$r" ">=" 2)) |"
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

# ---------------------------------------------------------------------------------------------
# Main

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
e2e_note "protocol benchmark: setups [$BENCH_SETUPS], types [$BENCH_TYPES], $BENCH_ROUNDS rounds of ${BENCH_SECONDS}s cells, $BENCH_CONNECTIONS connections, $BENCH_PER_CONNECTION message(s) per connection"
e2e_note "machine: $(nproc) cores, $(uname -sr), load average $LOAD_START; work dir $E2E_DIR"
build_tools
make_keys
start_dns
make_messages
start_milters

e2e_note "probes: one message per setup and type (the header each setup added):"
for setup in $BENCH_SETUPS; do
    for type in $BENCH_TYPES; do probe "$setup" "$type"; done
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
compute_medians
{
    echo
    echo "# Milter protocol benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "Machine: $(nproc) cores, $(uname -sr); load average $LOAD_START at the start, $LOAD_END at the end."
    echo "Command: BENCH_SECONDS=$BENCH_SECONDS BENCH_ROUNDS=$BENCH_ROUNDS BENCH_CONNECTIONS=$BENCH_CONNECTIONS" \
        "BENCH_PER_CONNECTION=$BENCH_PER_CONNECTION tests/bench/protocol-bench.sh"
    echo "Messages (bytes): $(message_sizes)"
    report
} | tee "$E2E_DIR/report.md"
[ -z "$BENCH_REPORT" ] || cp "$E2E_DIR/report.md" "$BENCH_REPORT"
if grep -q ' bad$' "$RESULTS"; then
    e2e_note "some cells failed their checks (marked !); work dir kept"
    E2E_FAILED=1
    exit 1
fi
exit 0
