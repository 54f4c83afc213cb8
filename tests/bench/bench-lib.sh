# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# Shared by the milter-protocol benchmarks (tests/bench/protocol-bench.sh, memory-bench.sh):
# milter_load plays the MTA against milters started here, inside a private network namespace
# (tests/e2e/lib.sh) whose dnsmasq serves the SPF records and DKIM keys of the test domains.
# This file gives the work dir layout, the tools, the keys, the DNS server, the five message
# types of the protocol benchmark, starting and stopping milters, and the check that a milter
# really decided a message.
#
# Source it after setting `here` (the dir of the calling script); it sources tests/e2e/lib.sh.
# Per milter (a "setup" name such as ecomm-unix): SOCKET[setup] in libmilter's spelling and
# PID[setup]; bench_cleanup stops every milter still in PID on exit.

top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
# shellcheck source=../e2e/lib.sh
. "$top_srcdir/tests/e2e/lib.sh"
# shellcheck source=build-tools.sh
. "$top_srcdir/tests/bench/build-tools.sh"

export LC_ALL=C   # decimal points in printf and awk

declare -A SOCKET PID   # per setup: the socket in libmilter's spelling, the milter's pid
DNS_PID=
DNS_EXTRA=              # more dnsmasq config lines (records) for start_dns

# bench_require_tools TOOL...: skips (exit 77) unless this machine can run the benchmarks and
# build the tools named (milter_load, null-milter) that are not given prebuilt (MILTER_LOAD,
# NULL_MILTER): root, python3, awk, getconf, g++, and gcc with libmilter and libcrypto for
# null-milter.
bench_require_tools() {
    [ "$(id -u)" -eq 0 ] || e2e_skip "needs root (a private network namespace, dnsmasq on port 53)"
    export PATH="$PATH:/usr/sbin:/sbin"
    local tool
    for tool in python3 awk getconf; do
        command -v "$tool" >/dev/null 2>&1 || e2e_skip "$tool is not installed"
    done
    if [[ " $* " == *" milter_load "* ]] && [ -z "${MILTER_LOAD:-}" ]; then
        command -v g++ >/dev/null 2>&1 || e2e_skip "g++ is not installed (to build milter_load)"
    fi
    if [[ " $* " == *" log-sink "* ]] && [ -z "${LOG_SINK:-}" ]; then
        command -v gcc >/dev/null 2>&1 || e2e_skip "gcc is not installed (to build log-sink)"
    fi
    if [[ " $* " == *" null-milter "* ]] && [ -z "${NULL_MILTER:-}" ]; then
        for tool in gcc pkg-config; do
            command -v "$tool" >/dev/null 2>&1 || e2e_skip "$tool is not installed (to build the benchmark tools)"
        done
        pkg-config --exists milter || e2e_skip "libmilter is not installed (Debian package libmilter-dev)"
        pkg-config --exists libcrypto || e2e_skip "libcrypto is not installed (Debian package libssl-dev)"
    fi
}

# bench_init NAME: inside the namespace, the work dir (e2e_init), the namespace's loopback and
# resolv.conf, the cleanup trap, and BIN, KEYS, MSG under the work dir.
bench_init() {
    e2e_init "$1"
    e2e_setup_private_netns
    cd "$E2E_DIR" || e2e_die "cannot enter $E2E_DIR"
    trap bench_cleanup EXIT
    BIN=$E2E_DIR/bin
    KEYS=$E2E_DIR/keys
    MSG=$E2E_DIR/msg
}

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

# build_tools TOOL...: MILTER_LOAD (milter_load), NULL_MILTER (null-milter) and LOG_SINK
# (log-sink) when named and not given prebuilt.
build_tools() {
    mkdir -p "$BIN"
    if [[ " $* " == *" log-sink "* ]] && [ -z "${LOG_SINK:-}" ]; then
        LOG_SINK=$BIN/log-sink
        compile_log_sink "$LOG_SINK" || e2e_die "cannot build log-sink"
    fi
    if [[ " $* " == *" milter_load "* ]] && [ -z "${MILTER_LOAD:-}" ]; then
        MILTER_LOAD=$BIN/milter_load
        g++ -std=c++20 -O2 -Wall -Wextra -o "$MILTER_LOAD" "$here/milter_load.cpp" -lpthread ||
            e2e_die "cannot build milter_load"
    fi
    if [[ " $* " == *" null-milter "* ]] && [ -z "${NULL_MILTER:-}" ]; then
        NULL_MILTER=$BIN/null-milter
        compile_null_milter "$NULL_MILTER" || e2e_die "cannot build null-milter"
    fi
}

make_keys() {
    e2e_dkim_key "$KEYS/e" e.example.edu bench 2048
    e2e_dkim_key "$KEYS/news" news.example.edu bench 2048
}

# dnsmasq as in lib.sh's e2e_start_dnsmasq, but without --log-queries: at thousands of queries
# a second the log would cost the DNS server (and so the machine) more than the answers.
# $DNS_EXTRA is appended to its config (more records).
start_dns() {
    local conf=$E2E_DIR/dnsmasq.conf
    {
        echo "# DNS of tests/bench/$(basename "$0"): only the names listed here exist."
        echo "local=/example.edu/"
        echo "local=/test/"
        echo "local=/in-addr.arpa/"
        # A TTL as real zones have (dnsmasq's default for its own records is 0), so that each
        # milter's DNS cache works as it would in production: OpenDKIM's (libunbound) and
        # ecomm-milter's [authentication] dns_cache.
        echo "local-ttl=300"
        e2e_dnsmasq_txt e.example.edu 'v=spf1 ip4:192.0.2.0/25 -all'
        e2e_dnsmasq_txt news.example.edu 'v=spf1 ip4:192.0.2.128/25 -all'
        e2e_dnsmasq_txt outside.test 'v=spf1 ip4:203.0.113.0/24 -all'
        e2e_dnsmasq_txt bench._domainkey.e.example.edu "$(e2e_dkim_record "$KEYS/e" bench)"
        e2e_dnsmasq_txt bench._domainkey.news.example.edu "$(e2e_dkim_record "$KEYS/news" bench)"
        [ -z "$DNS_EXTRA" ] || printf '%s\n' "$DNS_EXTRA"
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

# make_messages TYPE...: the five message types in $MSG, TYPE.eml (signed where the type says
# so) and TYPE.eml.env; dies unless each TYPE named is one of them and its signature verifies.
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
    for type in "$@"; do
        [ -f "$MSG/$type.eml" ] || e2e_die "unknown message type $type"
        if [ "$type" != 5k-unsigned ] && ! dkimverify <"$MSG/$type.eml" >/dev/null 2>&1; then
            e2e_die "dkimverify rejects the signature of $type.eml"
        fi
    done
    e2e_note "messages: $(message_sizes "$@")"
}

# message_sizes TYPE...: "TYPE SIZE, ..." (bytes).
message_sizes() {
    local type list=()
    for type in "$@"; do list+=("$type $(wc -c <"$MSG/$type.eml")"); done
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

# write_ecomm_config SOCKET: ecomm-milter's config ($E2E_MILTER_CONF) with every check on, DNS
# from the namespace's dnsmasq; no rate limit and a bulk threshold out of reach, so that the
# rate and bulk-hours rules count but never defer the run.  Dies when the milter refuses it.
write_ecomm_config() {
    e2e_write_milter_config "socket=$1" dns=system dns_timeout=2 rate_limit=0 bulk_threshold=100000000
    "$ECOMM_MILTER" -n -c "$E2E_MILTER_CONF" >"$E2E_DIR/ecomm-check.txt" 2>&1 || {
        e2e_show "$E2E_DIR/ecomm-check.txt"
        e2e_die "ecomm-milter refuses the benchmark config"
    }
}

# start_milter SETUP SOCKET COMMAND...: runs COMMAND in the background (log: SETUP.log) and
# waits for SOCKET (a stale unix socket file is removed first, so that it is the new one).
start_milter() {
    local setup=$1 socket=$2
    shift 2
    SOCKET[$setup]=$socket
    case $socket in
        unix:*) rm -f "${socket#unix:}" ;;
    esac
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

# stop_milter SETUP: SIGTERM, then waits (SIGKILL after 60 s: a milter under valgrind writes
# its report first); returns the milter's exit status (137 when it had to be killed).
stop_milter() {
    local setup=$1 pid=${PID[$1]} i
    unset "PID[$setup]"
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 600; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid"
}

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

# probe SETUP TYPE [MESSAGE-FILE]: one message (by default $MSG/TYPE.eml) with --verbose; dies
# unless the setup really decided it.  ecomm-* and opendkim-* must add an Authentication-Results
# header (with dkim=pass unless TYPE is 5k-unsigned), null-* must not edit the message.  Prints
# the header edits.
probe() {
    local setup=$1 type=$2 file=${3:-$MSG/$2.eml} out=$E2E_DIR/probe/$1.$2 line problem=
    mkdir -p "$E2E_DIR/probe"
    timeout 60 "$MILTER_LOAD" --socket "${SOCKET[$setup]}" --connections 1 --messages 1 --verbose \
        --message "$file" >"$out.out" 2>"$out.err"
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
    printf '# %-14s %-12s %s\n' "$setup" "$type" "$(header_edits "$out.err")"
}

# header_edits FILE: the header edits of milter_load's --verbose output, on one line.
header_edits() {
    sed -n 's/^  eom: [hi] \(\[[0-9]*\] \)\{0,1\}//p' "$1" | sed 's/\\n */ /g' | tr '\n' '|' | cut -c1-160
}
