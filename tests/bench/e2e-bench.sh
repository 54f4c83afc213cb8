#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# End-to-end benchmark (issue 7, part 2): Postfix's smtp-source sends through a private Postfix
# 3.7 on loopback to smtp-sink, and the setups compared are
#   none        no milter
#   null-unix   the do-nothing milter (tests/bench/null_milter.c), unix socket
#   null-inet   the same on an inet socket (TCP_NODELAY, as ecomm-milter)
#   null-body-unix  the do-nothing milter that takes the body and negotiates no reply for the
#               stages before end of message, as ecomm-milter does (null-milter -b -r), unix
#               socket: the floor of a milter that must read the body (as any DKIM verifier must)
#   null-body-inet  the same on an inet socket (the floor over TCP)
#   null-hash-unix, null-hash-inet  the same taking the SHA-256 of the body (null-milter -b -r
#               -s): the least any DKIM verifier pays, the protocol plus the body's digest
#   ecomm-unix  ecomm-milter, unix socket      ecomm-inet  ecomm-milter, inet socket
#   ecomm-inet-rp  ecomm-milter, inet socket with [milter] no_reply = unix: every stage replies
#               over TCP (the shipped no_reply = always negotiates the no-reply stages on any
#               socket, but for DATA over TCP); its own config file, otherwise that of ecomm-inet
#   ecomm-redis ecomm-milter with Redis counters (issue 8), unix socket: [counters] backend =
#               redis on a redis-server of the benchmark's own in the namespace (127.0.0.1, a
#               free port, --save "" --appendonly no), shipped redis_timeout (100 ms), stopped
#               at the end
#   odkim-unix  OpenDKIM in verify mode, unix  odkim-inet  OpenDKIM, inet socket
#   ecomm-unix-b, ecomm-inet-b (not in the default)  ECOMM_MILTER_B, a second build, with
#               ecomm-unix's configuration and counter table: an A/B comparison of two builds,
#               alternating with ecomm-unix and ecomm-inet in every round (the report's "A/B")
# on four messages (tests/bench/e2e/make-messages.py): 5 KB signed, 60 KB HTML newsletter
# signed, 1 MB signed, 5 KB unsigned from outside.  Everything runs inside a private network
# and mount namespace (tests/e2e/lib.sh) whose DNS server, dnsmasq on 127.0.0.1, answers the SPF
# records and the 2048-bit DKIM key of the test domains (TTL 300 s); both ecomm-milter and
# OpenDKIM resolve through it.  The signed mail comes from 198.18.0.25, the unsigned from
# 203.0.113.25 (addresses added to the namespace's loopback).  ecomm-milter's sender registry
# holds the signing sender (network 198.18.0.0/24, spf-and-dkim, promotional, rate 60000 a
# minute, bulk threshold out of reach), so every check runs and nothing is deferred; the
# unsigned mail is external (checked and tagged).
#
# Why smtp-source: it is Postfix's own load generator, sends a prepared file (-F, a CRLF added
# after each line: the files have LF endings and were signed as such, and the signature is
# checked over CRLF), in parallel sessions (-s), one message per session (no -d), as mail from
# many hosts arrives.
#
# Measurement: all milters run all the time; a setup is selected by rewriting smtpd_milters and
# "postfix reload", then WARMUP messages are sent and delivered untimed.  A cell (round, setup,
# message type) sends COUNT messages with smtp-source and ends when Postfix has logged the last
# "status=sent" (delivered into smtp-sink, which accepts and discards); msg/s = COUNT / (the
# moment that line is written, seen by tail -F - start of smtp-source).  Rounds alternate the setups (each round starts one
# setup later); every figure is the median over ROUNDS.  A cell counts only when every message
# was delivered and carried the proof that its milter was in the path: Postfix's
# smtp_header_checks log an INFO line for each delivered Authentication-Results of ecomm-milter
# (authserv-id mx.bench.test) and of OpenDKIM (odkim.bench.test), with its dkim= result; the
# do-nothing milter adds no header, so its proof is the CPU it used (and
# milter_default_action = tempfail: without it no message would pass).  ecomm-redis has
# ecomm-milter's proof and one more: in each signed cell the registered sender's rate entry in
# Redis (PREFIX rate:sender:bench-news, field total) grew by exactly the cell's count, i.e.
# Redis, not the local stand-in table, counted every message; after the run the Redis keys
# under the prefix are listed (none: a problem) and the milter must have logged no outage.
# The milters' CPU time per message (from /proc/PID/stat, all threads; for ecomm-redis also
# redis-server's) and the DNS queries per message that reached the DNS server are reported too:
# both vary far less with the machine's load than msg/s.
#
# Postfix is tuned so that it is not an unfair bottleneck: in_flow_delay = 0 (no arrival
# throttling, which would cap the fastest setup most), initial_destination_concurrency = 20 (no
# slow start towards the sink in each cell), smtp-sink with a 1024 connection backlog.  The
# queue is on the file system of TMPDIR (fsync per message, as in production).
#
# Run (as root; from the source tree, the milter from a -O2 build):
#     ECOMM_MILTER=/path/to/build/ecomm-milter tests/bench/e2e-bench.sh
# or "make bench" (top_builddir gives the milter).  Environment:
#   ECOMM_MILTER_B   the second build for the -b setups
#   ROUNDS=3  MESSAGES=500 (5 KB and 60 KB cells)  MESSAGES_1M=100  SESSIONS=10  WARMUP=20
#   SETUPS="none null-unix ..." (a subset, in this order)  TYPES="5k 60k 1m 5k-unsigned"
#   NULL_MILTER (a built null-milter; default: built here with gcc, libmilter and libcrypto)
#   NULL_MILTER_ARGS (e.g. -N: arguments for every do-nothing setup; null-body-* add -b -r,
#                    null-hash-* -b -r -s)
#   REDIS_SERVER=redis-server  REDIS_TIMEOUT_MS=100  REDIS_CONNECTIONS=8 (ecomm-redis; without
#   redis-server or redis-cli that setup is left out, with a note)
#   BENCH_DEV_LOG=1  a /dev/log in the namespace read by tests/bench/log_sink.c, as a production
#                    host has a syslog daemon, and OpenDKIM logging as Debian ships it (Syslog
#                    and SyslogSuccess yes), as ecomm-milter logs with its defaults.  0: no
#                    /dev/log and OpenDKIM with Syslog no (the runs before 2026-12-06
#                    14:40 UTC)
#   LOG_SINK (a built log-sink; default: built here with gcc)
#   BENCH_OUT=FILE   also write the report (Markdown) there
#   E2E_KEEP=1       keep the work dir (maillog, milter logs, raw results)
# Needs: Postfix (postfix, smtp-source, smtp-sink), dnsmasq (dnsmasq-base), opendkim-genkey
# (opendkim-tools), dkimsign (python3-dkim), opendkim, gcc, libmilter-dev and libssl-dev (for
# the do-nothing milter), unshare; redis-server and redis-cli for ecomm-redis.  Exit 77 (skip)
# without them; 1 when a cell failed or lacked its proof; the targets are reported, not enforced.
# A default run sends about 65,000 messages: 10.5 minutes on this 2-core machine (2026-12-06
# 22:21 UTC, thirteen setups, load average 3 to 10; 17 minutes at a load average of 11 to 24
# before ecomm-redis, ecomm-inet-rp and the floors were added).

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
# shellcheck source=../e2e/lib.sh
. "$srcdir/tests/e2e/lib.sh"
# shellcheck source=build-tools.sh
. "$here/build-tools.sh"

ROUNDS=${ROUNDS:-3}
MESSAGES=${MESSAGES:-500}
MESSAGES_1M=${MESSAGES_1M:-100}
SESSIONS=${SESSIONS:-10}
WARMUP=${WARMUP:-20}
SETUPS=${SETUPS:-none null-unix null-inet null-body-unix null-body-inet null-hash-unix null-hash-inet ecomm-unix ecomm-inet ecomm-inet-rp ecomm-redis odkim-unix odkim-inet}
TYPES=${TYPES:-5k 60k 1m 5k-unsigned}
CELL_TIMEOUT=${CELL_TIMEOUT:-300}   # seconds for one cell to be sent and delivered
NULL_MILTER_ARGS=${NULL_MILTER_ARGS:-}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_TIMEOUT_MS=${REDIS_TIMEOUT_MS:-100}
REDIS_CONNECTIONS=${REDIS_CONNECTIONS:-8}
REDIS_PREFIX=ecomm-milter:          # the shipped redis_prefix
BENCH_DEV_LOG=${BENCH_DEV_LOG:-1}

# The registered sender mails from VENDOR_IP (in its registered network), the external sender
# from EXTERNAL_IP (in no registered network): addresses added to the namespace's loopback, on
# which Postfix listens too, so that smtp-source's connections come from them.
VENDOR_NET=198.18.0.0/24            # RFC 2544's benchmarking range
VENDOR_IP=198.18.0.25
EXTERNAL_NET=203.0.113.0/24
EXTERNAL_IP=203.0.113.25
DOMAIN=bench.example.edu            # the registered sender's domain, DKIM d= and SPF
EXTERNAL=outside.test               # the unsigned message's sender
SELECTOR=bench
MAIL_FROM=bounce-bench7-1@$DOMAIN   # carries the registry entry's identifier
EXTERNAL_FROM=desk@$EXTERNAL
ECOMM_AUTHSERV=mx.bench.test
ODKIM_AUTHSERV=odkim.bench.test

# ---------------------------------------------------------------------------------------------
# Prerequisites (checked before and again inside the namespace; cheap)

bench_requirements() {
    e2e_require_postfix
    e2e_require_dns_tools
    local tool
    for tool in smtp-source smtp-sink postqueue; do
        command -v "$tool" >/dev/null 2>&1 || e2e_skip "$tool is not installed (package postfix)"
    done
    if [[ " $SETUPS " == *" odkim-"* ]]; then
        command -v opendkim >/dev/null 2>&1 || e2e_skip "opendkim is not installed (package opendkim)"
        getent passwd opendkim >/dev/null || e2e_skip "there is no opendkim user (package opendkim)"
    fi
    if [ "$BENCH_DEV_LOG" != 0 ] && [ -z "${LOG_SINK:-}" ]; then
        command -v gcc >/dev/null 2>&1 || e2e_skip "gcc is needed to build log-sink (or BENCH_DEV_LOG=0)"
    fi
    if [[ " $SETUPS " == *" null-"* ]] && [ -z "${NULL_MILTER:-}" ]; then
        command -v gcc >/dev/null 2>&1 || e2e_skip "gcc is needed to build the do-nothing milter"
        pkg-config --exists milter libcrypto 2>/dev/null ||
            e2e_skip "libmilter-dev and libssl-dev are needed to build the do-nothing milter"
    fi
    if [[ " $SETUPS " == *" ecomm-redis "* ]]; then
        local missing=
        command -v "$REDIS_SERVER" >/dev/null 2>&1 || missing="$REDIS_SERVER (Debian package redis-server)"
        command -v redis-cli >/dev/null 2>&1 || missing="${missing:+$missing and }redis-cli (Debian package redis-tools)"
        if [ -n "$missing" ]; then
            [ "${E2E_IN_NETNS:-}" = 1 ] || printf '# ecomm-redis left out: %s is not installed\n' "$missing"
            local setup all kept=()
            read -r -a all <<<"$SETUPS"
            for setup in "${all[@]}"; do [ "$setup" = ecomm-redis ] || kept+=("$setup"); done
            SETUPS=${kept[*]}
        fi
    fi
    if [[ " $SETUPS " == *" ecomm-"* ]]; then
        if [ -z "${ECOMM_MILTER:-}" ] && [ -z "${top_builddir:-}" ]; then
            e2e_die "set ECOMM_MILTER to the ecomm-milter binary (or run through make bench)"
        fi
        e2e_require_milter
        ECOMM_MILTER=$(cd "$(dirname "$ECOMM_MILTER")" && pwd)/$(basename "$ECOMM_MILTER")
        export ECOMM_MILTER
    fi
    if [[ " $SETUPS " == *" ecomm-unix-b "* || " $SETUPS " == *" ecomm-inet-b "* ]]; then
        [ -x "${ECOMM_MILTER_B:-}" ] || e2e_die "the -b setups need ECOMM_MILTER_B, a second ecomm-milter binary"
        ECOMM_MILTER_B=$(cd "$(dirname "$ECOMM_MILTER_B")" && pwd)/$(basename "$ECOMM_MILTER_B")
        export ECOMM_MILTER_B
    fi
    [ -z "${NULL_MILTER:-}" ] || [ -x "$NULL_MILTER" ] || e2e_die "NULL_MILTER is not executable: $NULL_MILTER"
}

bench_requirements
e2e_enter_private_netns "$here/$(basename "$0")" "$@"

e2e_init e2e-bench
# lib.sh's cleanup, after stopping the maillog follower of a cell interrupted by a signal.
TAIL_PID=
# shellcheck disable=SC2317  # the EXIT trap
bench_cleanup() {
    local status=$?
    [ -z "$TAIL_PID" ] || kill "$TAIL_PID" 2>/dev/null
    (exit "$status")
    e2e_cleanup
}
trap bench_cleanup EXIT
e2e_setup_private_netns
for address in "$VENDOR_IP" "$EXTERNAL_IP"; do
    ip addr add "$address/32" dev lo || e2e_die "cannot add $address to the namespace's loopback"
done
KEYS=$E2E_DIR/keys
MSGS=$E2E_DIR/messages
RESULTS=$E2E_DIR/results.tsv
PROOF_TABLE=$E2E_DIR/postfix/proof.regexp
BENCH_FAILED=0

bench_say() { printf '# %s\n' "$*"; }
bench_problem() {
    BENCH_FAILED=1
    printf 'PROBLEM: %s\n' "$*"
}

# ---------------------------------------------------------------------------------------------
# DNS, keys, messages

start_dns() {
    e2e_dkim_key "$KEYS" "$DOMAIN" "$SELECTOR" 2048
    {
        echo "# DNS of tests/bench/e2e-bench.sh: only these names exist under example.edu and .test."
        echo "local=/example.edu/"
        echo "local=/test/"
        echo "# Records with a TTL, as real ones have (dnsmasq's default for its own is 0: uncacheable)."
        echo "local-ttl=300"
        e2e_dnsmasq_txt "$DOMAIN" "v=spf1 ip4:$VENDOR_NET -all"
        e2e_dnsmasq_txt "$EXTERNAL" "v=spf1 ip4:$EXTERNAL_NET -all"
        e2e_dnsmasq_txt "$SELECTOR._domainkey.$DOMAIN" "$(e2e_dkim_record "$KEYS" "$SELECTOR")"
    } >"$E2E_DIR/dnsmasq.conf"
    e2e_start_dnsmasq "$E2E_DIR/dnsmasq.conf"
}

# The four message files: $MSGS/TYPE.eml, the signed ones with a DKIM-Signature by d=$DOMAIN.
make_messages() {
    python3 "$here/e2e/make-messages.py" "$MSGS/unsigned" "$DOMAIN" "$EXTERNAL" "$E2E_RCPT" ||
        e2e_die "make-messages.py failed"
    local type
    for type in 5k 60k-html 1m; do
        e2e_dkim_sign "$MSGS/unsigned/$type.eml" "$MSGS/${type%-html}.eml" "$DOMAIN" "$SELECTOR" \
            "$KEYS/$SELECTOR.private"
    done
    cp "$MSGS/unsigned/5k-unsigned.eml" "$MSGS/5k-unsigned.eml"
    # An independent verifier (over this namespace's DNS) agrees the signatures are good.
    for type in 5k 60k 1m; do
        dkimverify <"$MSGS/$type.eml" >"$MSGS/$type.verify" 2>&1 ||
            e2e_die "dkimverify rejects $MSGS/$type.eml: $(cat "$MSGS/$type.verify")"
    done
}

type_count() { if [ "$1" = 1m ]; then echo "$MESSAGES_1M"; else echo "$MESSAGES"; fi; }
type_from() { if [ "$1" = 5k-unsigned ]; then echo "$EXTERNAL_FROM"; else echo "$MAIL_FROM"; fi; }
type_client() { if [ "$1" = 5k-unsigned ]; then echo "$EXTERNAL_IP"; else echo "$VENDOR_IP"; fi; }
type_dkim() { if [ "$1" = 5k-unsigned ]; then echo none; else echo pass; fi; }

# ---------------------------------------------------------------------------------------------
# The milters: all started once, each on its own socket

declare -A SOCKET=()     # setup -> socket in libmilter's spelling
declare -A PID_OF=()     # setup -> pid of the milter process

port_for() { local p; p=$(e2e_free_port) || e2e_die "no free port"; echo "$p"; }

socket_ready() {
    case $1 in
        unix:* | local:*) [ -S "${1#*:}" ] ;;
        inet:*) local rest=${1#inet:}; e2e_port_listening "${rest%@*}" ;;
    esac
}

# start_milter SETUP SOCKET LOG COMMAND...: runs COMMAND (in the foreground) with umask 000 (so
# that smtpd, user postfix, may use a unix socket) and waits for SOCKET.
start_milter() {
    local setup=$1 socket=$2 log=$3
    shift 3
    (umask 000 && exec "$@") >>"$log" 2>&1 &
    local pid=$!
    E2E_PIDS_TO_STOP+=("$pid")
    SOCKET[$setup]=$socket
    PID_OF[$setup]=$pid
    local deadline=$((SECONDS + E2E_TIMEOUT))
    until socket_ready "$socket"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            e2e_show "$log"
            e2e_die "$setup exited before it opened $socket"
        fi
        [ "$SECONDS" -lt "$deadline" ] || { e2e_show "$log"; e2e_die "$setup did not open $socket"; }
        sleep 0.1
    done
}

# A /dev/log for the namespace (lib.sh), read by log-sink, built here unless LOG_SINK is given.
start_dev_log() {
    local sink=${LOG_SINK:-$E2E_DIR/log-sink}
    if [ -z "${LOG_SINK:-}" ]; then
        compile_log_sink "$sink" >"$E2E_DIR/log-sink.build" 2>&1 || {
            e2e_show "$E2E_DIR/log-sink.build"
            e2e_die "cannot build log-sink"
        }
    fi
    e2e_private_dev_log "$sink"
}

start_null_milters() {
    local bin=${NULL_MILTER:-$E2E_DIR/null-milter}
    if [ -z "${NULL_MILTER:-}" ]; then
        compile_null_milter "$bin" >"$E2E_DIR/null-milter.build" 2>&1 || {
            e2e_show "$E2E_DIR/null-milter.build"
            e2e_die "cannot build the do-nothing milter"
        }
    fi
    mkdir -p "$E2E_DIR/null"
    chmod 0755 "$E2E_DIR/null"
    local args=()
    read -r -a args <<<"$NULL_MILTER_ARGS"
    if [[ " $SETUPS " == *" null-unix "* ]]; then
        start_milter null-unix "unix:$E2E_DIR/null/null.sock" "$E2E_DIR/null-unix.log" "$bin" "${args[@]}" "unix:$E2E_DIR/null/null.sock"
    fi
    if [[ " $SETUPS " == *" null-inet "* ]]; then
        local port
        port=$(port_for)
        start_milter null-inet "inet:$port@127.0.0.1" "$E2E_DIR/null-inet.log" "$bin" "${args[@]}" "inet:$port@127.0.0.1"
    fi
    if [[ " $SETUPS " == *" null-body-unix "* ]]; then
        start_milter null-body-unix "unix:$E2E_DIR/null/null-body.sock" "$E2E_DIR/null-body-unix.log" \
            "$bin" "${args[@]}" -b -r "unix:$E2E_DIR/null/null-body.sock"
    fi
    if [[ " $SETUPS " == *" null-body-inet "* ]]; then
        local body_port
        body_port=$(port_for)
        start_milter null-body-inet "inet:$body_port@127.0.0.1" "$E2E_DIR/null-body-inet.log" \
            "$bin" "${args[@]}" -b -r "inet:$body_port@127.0.0.1"
    fi
    if [[ " $SETUPS " == *" null-hash-unix "* ]]; then
        start_milter null-hash-unix "unix:$E2E_DIR/null/null-hash.sock" "$E2E_DIR/null-hash-unix.log" \
            "$bin" "${args[@]}" -b -r -s "unix:$E2E_DIR/null/null-hash.sock"
    fi
    if [[ " $SETUPS " == *" null-hash-inet "* ]]; then
        local hash_port
        hash_port=$(port_for)
        start_milter null-hash-inet "inet:$hash_port@127.0.0.1" "$E2E_DIR/null-hash-inet.log" \
            "$bin" "${args[@]}" -b -r -s "inet:$hash_port@127.0.0.1"
    fi
}

REPLIES_MILTER_CONF=     # ecomm-inet-rp's config: that of ecomm-inet with no_reply = unix

start_ecomm_milters() {
    # shellcheck disable=SC2034  # read by lib.sh
    E2E_AUTHSERV_ID=$ECOMM_AUTHSERV
    # shellcheck disable=SC2034  # read by lib.sh
    E2E_REGISTRY_EXTRA="# Added by tests/bench/e2e-bench.sh: the benchmark's signing sender.
[bench-news]
unit = Benchmark
networks = $VENDOR_NET
domains = $DOMAIN
identifier = bench7
return_path = ^bounce-bench7-[0-9]+@bench\\.example\\.edu\$
category = promotional
authentication = spf-and-dkim
# The highest rate there is: the rule counts every message but never defers one.
rate = 60000"
    if [[ " $SETUPS " == *" ecomm-redis "* ]]; then
        # The same config with the counters in Redis (the table as the stand-in), written first
        # and copied, so that E2E_MILTER_CONF ends as the table's.
        # shellcheck disable=SC2034  # read by lib.sh
        E2E_COUNTERS_EXTRA="# ecomm-redis (tests/bench/e2e-bench.sh): the counters in the benchmark's redis-server.
backend = redis
redis_server = 127.0.0.1:$REDIS_PORT
redis_prefix = $REDIS_PREFIX
redis_timeout = $REDIS_TIMEOUT_MS
redis_connections = $REDIS_CONNECTIONS
redis_unavailable = table"
        e2e_write_milter_config dns=system dns_timeout=5 rate_limit=60000 bulk_threshold=100000000 \
            "socket=unix:$E2E_DIR/milter/ecomm-redis.sock"
        REDIS_MILTER_CONF=$E2E_DIR/milter/ecomm-redis.conf
        cp "$E2E_MILTER_CONF" "$REDIS_MILTER_CONF"
        E2E_COUNTERS_EXTRA=
    fi
    local rp_port=
    if [[ " $SETUPS " == *" ecomm-inet-rp "* ]]; then
        # The same config with no_reply = unix, so that every stage replies over TCP (written and
        # copied the same way).
        rp_port=$(port_for)
        # shellcheck disable=SC2034  # read by lib.sh
        E2E_NO_REPLY=unix
        e2e_write_milter_config dns=system dns_timeout=5 rate_limit=60000 bulk_threshold=100000000 \
            "socket=inet:$rp_port@127.0.0.1"
        REPLIES_MILTER_CONF=$E2E_DIR/milter/ecomm-inet-rp.conf
        cp "$E2E_MILTER_CONF" "$REPLIES_MILTER_CONF"
        unset E2E_NO_REPLY
    fi
    e2e_write_milter_config dns=system dns_timeout=5 rate_limit=60000 bulk_threshold=100000000 \
        "socket=unix:$E2E_DIR/milter/ecomm.sock"
    local conf
    for conf in "$E2E_MILTER_CONF" ${REDIS_MILTER_CONF:+"$REDIS_MILTER_CONF"} \
        ${REPLIES_MILTER_CONF:+"$REPLIES_MILTER_CONF"}; do
        "$ECOMM_MILTER" -n -c "$conf" >"$E2E_DIR/ecomm-check.log" 2>&1 || {
            e2e_show "$E2E_DIR/ecomm-check.log"
            e2e_die "ecomm-milter rejects the benchmark configuration $conf"
        }
    done
    if [[ " $SETUPS " == *" ecomm-unix "* ]]; then
        start_milter ecomm-unix "unix:$E2E_DIR/milter/ecomm.sock" "$E2E_DIR/ecomm-unix.log" \
            "$ECOMM_MILTER" -f -c "$E2E_MILTER_CONF" -p "unix:$E2E_DIR/milter/ecomm.sock"
    fi
    if [[ " $SETUPS " == *" ecomm-inet "* ]]; then
        local port
        port=$(port_for)
        start_milter ecomm-inet "inet:$port@127.0.0.1" "$E2E_DIR/ecomm-inet.log" \
            "$ECOMM_MILTER" -f -c "$E2E_MILTER_CONF" -p "inet:$port@127.0.0.1"
    fi
    if [[ " $SETUPS " == *" ecomm-unix-b "* ]]; then
        start_milter ecomm-unix-b "unix:$E2E_DIR/milter/ecomm-b.sock" "$E2E_DIR/ecomm-unix-b.log" \
            "$ECOMM_MILTER_B" -f -c "$E2E_MILTER_CONF" -p "unix:$E2E_DIR/milter/ecomm-b.sock"
    fi
    if [[ " $SETUPS " == *" ecomm-inet-b "* ]]; then
        local b_port
        b_port=$(port_for)
        start_milter ecomm-inet-b "inet:$b_port@127.0.0.1" "$E2E_DIR/ecomm-inet-b.log" \
            "$ECOMM_MILTER_B" -f -c "$E2E_MILTER_CONF" -p "inet:$b_port@127.0.0.1"
    fi
    if [ -n "$rp_port" ]; then
        start_milter ecomm-inet-rp "inet:$rp_port@127.0.0.1" "$E2E_DIR/ecomm-inet-rp.log" \
            "$ECOMM_MILTER" -f -c "$REPLIES_MILTER_CONF" -p "inet:$rp_port@127.0.0.1"
    fi
    if [[ " $SETUPS " == *" ecomm-redis "* ]]; then
        start_milter ecomm-redis "unix:$E2E_DIR/milter/ecomm-redis.sock" "$E2E_DIR/ecomm-redis.log" \
            "$ECOMM_MILTER" -f -c "$REDIS_MILTER_CONF" -p "unix:$E2E_DIR/milter/ecomm-redis.sock"
    fi
}

# ---------------------------------------------------------------------------------------------
# Redis (ecomm-redis): a server of the benchmark's own, inside the namespace

REDIS_PORT=
REDIS_PID=
REDIS_MILTER_CONF=
REDIS_RATE_KEY=${REDIS_PREFIX}rate:sender:bench-news   # the registered sender's rate entry
REDIS_MESSAGES=0        # messages sent through ecomm-redis (warm-up included)

redis_cli() { timeout 10 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }
# shellcheck disable=SC2317  # called through e2e_wait_for
redis_answers() { [ "$(redis_cli ping 2>/dev/null)" = PONG ]; }

start_redis() {
    REDIS_PORT=$(port_for)
    mkdir -p "$E2E_DIR/redis"
    "$REDIS_SERVER" --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --daemonize no \
        --dir "$E2E_DIR/redis" --logfile "$E2E_DIR/redis/redis.log" >"$E2E_DIR/redis/redis.out" 2>&1 &
    REDIS_PID=$!
    E2E_PIDS_TO_STOP+=("$REDIS_PID")
    e2e_wait_for "redis-server on 127.0.0.1:$REDIS_PORT" redis_answers || {
        e2e_show "$E2E_DIR/redis/redis.log"
        e2e_die "redis-server did not answer"
    }
}

# The committed total of the registered sender's rate entry in Redis (0 when there is none).
redis_rate_total() {
    local total
    total=$(redis_cli hget "$REDIS_RATE_KEY" total 2>/dev/null)
    [[ $total =~ ^[0-9]+$ ]] || total=0
    echo "$total"
}

# After the run: Redis holds ecomm-milter's counters (its keys under the prefix), and the milter
# never fell back to its table (no outage logged); then stops the server.
check_and_stop_redis() {
    local keys outages
    keys=$(redis_cli --scan --pattern "${REDIS_PREFIX}*" 2>/dev/null | sort)
    if [ -z "$keys" ]; then
        bench_problem "ecomm-redis: Redis holds no key under $REDIS_PREFIX after the run"
    else
        bench_say "ecomm-redis: Redis holds $(grep -c . <<<"$keys") keys under $REDIS_PREFIX: $(head -n 4 <<<"$keys" | tr '\n' ' ')"
    fi
    # What the server did for them: connections made (the pool keeps its connections: a handful)
    # and commands run (the scripts' own included: EVALSHA counts the round trips).
    local info
    info=$(redis_cli info all 2>/dev/null | tr -d '\r')
    bench_say "ecomm-redis: $REDIS_MESSAGES messages; redis-server: $(awk -F: -v n="$REDIS_MESSAGES" '
        /^total_connections_received:/ { c = $2 }
        /^total_commands_processed:/ { t = $2 }
        /^cmdstat_/ { split($2, f, /[=,]/); calls = calls sprintf(" %s %d,", substr($1, 9), f[2]) }
        END { printf "%d connections, %d commands (%.2f a message):%s", c, t, (n ? t / n : 0), calls }
    ' <<<"$info")"
    outages=$(grep -c 'counters: .* unreachable' "$E2E_DIR/ecomm-redis.log")
    [ "$outages" -eq 0 ] ||
        bench_problem "ecomm-redis: the milter logged $outages Redis outages (it counted in its table meanwhile)"
    e2e_stop_pid "$REDIS_PID" redis-server
}

# write_opendkim_conf FILE SOCKET: verify only, results under $ODKIM_AUTHSERV also for unsigned
# mail, keys from the namespace's DNS server; logging as Debian ships it (a line a signed
# message) to the namespace's /dev/log, as ecomm-milter logs a line a message by default, or
# none with BENCH_DEV_LOG=0 (no /dev/log).
write_opendkim_conf() {
    local syslog="Syslog              no"
    [ "$BENCH_DEV_LOG" = 0 ] || syslog=$(printf 'Syslog              yes\nSyslogSuccess       yes')
    cat >"$1" <<EOF
# OpenDKIM for tests/bench/e2e-bench.sh: verify only.
Mode                v
Socket              $2
Background          no
UserID              opendkim
UMask               000
$syslog
AuthservID          $ODKIM_AUTHSERV
AlwaysAddARHeader   yes
SoftwareHeader      no
Canonicalization    relaxed/simple
Nameservers         127.0.0.1
DNSTimeout          5
MinimumKeyBits      1024
EOF
}

start_opendkims() {
    mkdir -p "$E2E_DIR/opendkim"
    chown opendkim "$E2E_DIR/opendkim"
    chmod 0755 "$E2E_DIR/opendkim"
    if [[ " $SETUPS " == *" odkim-unix "* ]]; then
        write_opendkim_conf "$E2E_DIR/opendkim/unix.conf" "local:$E2E_DIR/opendkim/opendkim.sock"
        start_milter odkim-unix "unix:$E2E_DIR/opendkim/opendkim.sock" "$E2E_DIR/odkim-unix.log" \
            opendkim -f -x "$E2E_DIR/opendkim/unix.conf"
    fi
    if [[ " $SETUPS " == *" odkim-inet "* ]]; then
        local port
        port=$(port_for)
        write_opendkim_conf "$E2E_DIR/opendkim/inet.conf" "inet:$port@127.0.0.1"
        start_milter odkim-inet "inet:$port@127.0.0.1" "$E2E_DIR/odkim-inet.log" \
            opendkim -f -x "$E2E_DIR/opendkim/inet.conf"
    fi
}

# CPU seconds (user + system, all threads, as clock ticks) a process has used so far.
cpu_ticks() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    stat=${stat##*) }              # fields from the 3rd on (the name may hold blanks)
    local fields
    read -r -a fields <<<"$stat"
    echo $((fields[11] + fields[12]))   # utime, stime (fields 14 and 15)
}

# ---------------------------------------------------------------------------------------------
# Postfix and smtp-sink

# lib.sh's cleanup stops E2E_SINK_PID.
# shellcheck disable=SC2034
start_sink() {
    # Accepts and discards; a backlog of 1024 connections so that no delivery waits on it.
    smtp-sink -u nobody "127.0.0.1:$E2E_SINK_PORT" 1024 >"$E2E_DIR/smtp-sink.log" 2>&1 &
    E2E_SINK_PID=$!
    e2e_wait_for "smtp-sink on port $E2E_SINK_PORT" e2e_port_listening "$E2E_SINK_PORT" ||
        e2e_die "smtp-sink did not start"
}

write_proof_table() {
    cat >"$PROOF_TABLE" <<EOF
# tests/bench/e2e-bench.sh: smtp_header_checks that log, for every delivered message, the
# Authentication-Results its milter added (ecomm-milter: $ECOMM_AUTHSERV, OpenDKIM:
# $ODKIM_AUTHSERV) with the DKIM result.  The first match of a header wins.
/^Authentication-Results: ${ECOMM_AUTHSERV//./\\.};.*dkim=pass/ INFO bench-proof ecomm dkim=pass
/^Authentication-Results: ${ECOMM_AUTHSERV//./\\.};.*dkim=none/ INFO bench-proof ecomm dkim=none
/^Authentication-Results: ${ECOMM_AUTHSERV//./\\.};/ INFO bench-proof ecomm dkim=other
/^Authentication-Results: ${ODKIM_AUTHSERV//./\\.};.*dkim=pass/ INFO bench-proof odkim dkim=pass
/^Authentication-Results: ${ODKIM_AUTHSERV//./\\.};.*dkim=none/ INFO bench-proof odkim dkim=none
/^Authentication-Results: ${ODKIM_AUTHSERV//./\\.};/ INFO bench-proof odkim dkim=other
EOF
}

start_postfix() {
    e2e_write_postfix_config ""
    write_proof_table
    postconf -c "$E2E_POSTFIX_CONF" -e \
        "inet_interfaces = 127.0.0.1, $VENDOR_IP, $EXTERNAL_IP" \
        "mynetworks = 127.0.0.0/8, $VENDOR_NET, $EXTERNAL_NET" \
        "in_flow_delay = 0" \
        "initial_destination_concurrency = 20" \
        "default_destination_concurrency_limit = 20" \
        "smtp_header_checks = regexp:$PROOF_TABLE" \
        "milter_default_action = tempfail" ||
        e2e_die "postconf failed"
    e2e_start_postfix
}

postfix_spec() {
    case $1 in
        none) echo "" ;;
        *) local s=${SOCKET[$1]}; s=${s/#local:/unix:}; e2e_postfix_milter_spec "$s" ;;
    esac
}

# Offsets and counts in the maillog.
maillog_size() { stat -c %s "$E2E_MAILLOG" 2>/dev/null || echo 0; }
maillog_since() { tail -c "+$(($1 + 1))" "$E2E_MAILLOG" 2>/dev/null; }
count_since() { maillog_since "$1" | grep -cE -- "$2"; }

# shellcheck disable=SC2317  # called through e2e_wait_for
queue_empty() { postqueue -c "$E2E_POSTFIX_CONF" -p 2>/dev/null | grep -q 'Mail queue is empty'; }

# send TYPE COUNT LOG: smtp-source, COUNT messages in $SESSIONS sessions, bounded in time.
send() {
    local type=$1 count=$2 log=$3 sessions=$SESSIONS
    [ "$count" -ge "$sessions" ] || sessions=$count
    timeout "$CELL_TIMEOUT" smtp-source -s "$sessions" -m "$count" -M client.bench.test \
        -f "$(type_from "$type")" -t "$E2E_RCPT" -F "$MSGS/$type.eml" \
        "$(type_client "$type"):$E2E_SMTP_PORT" >"$log" 2>&1
}

# wait_delivered OFFSET COUNT: returns as soon as the COUNTth "status=sent" line after OFFSET
# is in the maillog (tail -F follows it with inotify: no polling delay; the maillog's own time
# stamps are whole seconds), at most CELL_TIMEOUT seconds.
wait_delivered() {
    local offset=$1 count=$2 fd tail_pid rc
    exec {fd}< <(exec tail --pid=$$ -c "+$((offset + 1))" -F "$E2E_MAILLOG" 2>/dev/null)
    tail_pid=$!
    TAIL_PID=$tail_pid
    # Not to /dev/null: GNU grep then stops at the first match whatever -m says.
    timeout "$CELL_TIMEOUT" grep -m "$count" -F ' status=sent ' <&"$fd" >"$E2E_DIR/delivered.lines"
    rc=$?
    kill "$tail_pid" 2>/dev/null
    TAIL_PID=
    exec {fd}<&-
    [ "$rc" -eq 0 ] && [ "$(wc -l <"$E2E_DIR/delivered.lines")" -eq "$count" ]
}

# select_setup SETUP: points smtpd_milters at SETUP's milter, reloads, and sends WARMUP messages
# of each type (a quarter of that of 1 MB; untimed) so that smtpd, cleanup, smtp and the milter
# have their processes and caches.
select_setup() {
    local setup=$1
    postconf -c "$E2E_POSTFIX_CONF" -e "smtpd_milters = $(postfix_spec "$setup")" || e2e_die "postconf failed"
    postfix -c "$E2E_POSTFIX_CONF" reload >/dev/null 2>&1 || e2e_die "postfix reload failed"
    sleep 1   # the old smtpd processes finish and exit
    [ "$WARMUP" -gt 0 ] || return 0
    local offset type count
    for type in "${type_list[@]}"; do
        count=$WARMUP
        [ "$type" != 1m ] || count=$(((WARMUP + 3) / 4))
        offset=$(maillog_size)
        [ "$setup" != ecomm-redis ] || REDIS_MESSAGES=$((REDIS_MESSAGES + count))
        send "$type" "$count" "$E2E_DIR/warmup.log" ||
            bench_problem "$setup: warm-up send failed ($(tail -n 2 "$E2E_DIR/warmup.log" | tr '\n' ' '))"
        wait_delivered "$offset" "$count" || bench_problem "$setup: warm-up messages ($type) not delivered"
    done
}

# run_cell ROUND SETUP TYPE: one timed cell; appends a line to $RESULTS.
run_cell() {
    local round=$1 setup=$2 type=$3 count offset start end cpu0=0 cpu1=0 pid="" status=ok
    local redis_cpu0=0 redis_cpu1=0 redis_mark=0
    local mlog=$E2E_DIR/$setup.log mlog_mark=0 dns_mark
    count=$(type_count "$type")
    e2e_wait_for "an empty queue" queue_empty || bench_problem "queue not empty before $setup $type"
    pid=${PID_OF[$setup]:-}
    [ -z "$pid" ] || cpu0=$(cpu_ticks "$pid")
    if [ "$setup" = ecomm-redis ]; then
        REDIS_MESSAGES=$((REDIS_MESSAGES + count))
        redis_cpu0=$(cpu_ticks "$REDIS_PID")
        redis_mark=$(redis_rate_total)
    fi
    offset=$(maillog_size)
    [ ! -f "$mlog" ] || mlog_mark=$(stat -c %s "$mlog")
    dns_mark=$(stat -c %s "$E2E_DNSMASQ_LOG")
    start=$EPOCHREALTIME
    if ! send "$type" "$count" "$E2E_DIR/cell.log"; then
        status=send-failed
        bench_problem "round $round $setup $type: smtp-source failed: $(tail -n 3 "$E2E_DIR/cell.log" | tr '\n' ' ')"
        e2e_wait_for "the queue to drain" queue_empty || true
    elif ! wait_delivered "$offset" "$count"; then
        status=not-delivered
        bench_problem "round $round $setup $type: only $(count_since "$offset" ' status=sent ') of $count delivered within ${CELL_TIMEOUT}s"
    fi
    end=$EPOCHREALTIME
    [ -z "$pid" ] || cpu1=$(cpu_ticks "$pid")
    [ "$setup" != ecomm-redis ] || redis_cpu1=$(cpu_ticks "$REDIS_PID")
    local delivered pass other proof_kind want
    delivered=$(count_since "$offset" ' status=sent ')
    proof_kind=${setup%%-*}
    want=$(type_dkim "$type")
    case $proof_kind in
        ecomm | odkim)
            pass=$(count_since "$offset" "bench-proof $proof_kind dkim=$want\$")
            other=$(count_since "$offset" "bench-proof ")
            other=$((other - pass))
            ;;
        *)
            pass=0
            other=$(count_since "$offset" "bench-proof ")
            ;;
    esac
    # ecomm-milter also logs one decision a message (accepted, or tagged as external).
    local decisions=-
    if [ "$proof_kind" = ecomm ]; then
        decisions=$(tail -c "+$((mlog_mark + 1))" "$mlog" | grep -cE ' action=(accept|tag) ')
        if [ "$decisions" -ne "$count" ]; then
            status=no-proof
            bench_problem "round $round $setup $type: ecomm-milter logged $decisions accept/tag decisions for $count messages"
        fi
    fi
    # ecomm-redis: Redis itself counted each message of the registered sender (the signed types;
    # the unsigned mail is external and counted nowhere): its rate entry's total grew by count.
    local redis_counted=-
    if [ "$setup" = ecomm-redis ] && [ "$type" != 5k-unsigned ]; then
        redis_counted=$(($(redis_rate_total) - redis_mark))
        if [ "$redis_counted" -ne "$count" ]; then
            status=no-proof
            bench_problem "round $round $setup $type: Redis counted $redis_counted of $count messages ($REDIS_RATE_KEY total)"
        fi
    fi
    local bounced
    bounced=$(count_since "$offset" ' status=(bounced|deferred) |milter-reject')
    [ "$bounced" -eq 0 ] || { status=rejected; bench_problem "round $round $setup $type: $bounced rejected, deferred or bounced"; }
    if [ "$proof_kind" = ecomm ] || [ "$proof_kind" = odkim ]; then
        if [ "$pass" -ne "$count" ] || [ "$other" -ne 0 ]; then
            status=no-proof
            bench_problem "round $round $setup $type: $pass of $count delivered with the $proof_kind Authentication-Results dkim=$want ($other other)"
        fi
    elif [ "$other" -ne 0 ]; then
        status=foreign-header
        bench_problem "round $round $setup $type: $other Authentication-Results of a milter that is not in this setup"
    fi
    if [ "$proof_kind" = null ] && [ "$cpu1" -le "$cpu0" ]; then
        status=no-proof
        bench_problem "round $round $setup $type: the do-nothing milter used no CPU: not in the path?"
    fi
    # DNS queries a message that reached the DNS server (dnsmasq logs each one).
    local dns_q
    dns_q=$(tail -c "+$((dns_mark + 1))" "$E2E_DNSMASQ_LOG" | grep -c 'query\[')
    dns_q=$(awk -v q="$dns_q" -v n="$count" 'BEGIN { printf "%.2f", q / n }')
    local seconds rate cpu_ms
    seconds=$(awk -v s="$start" -v e="${end:-0}" 'BEGIN { d = e - s; printf "%.3f", (d > 0 ? d : 0) }')
    rate=$(awk -v n="$delivered" -v d="$seconds" 'BEGIN { printf "%.1f", (d > 0 ? n / d : 0) }')
    cpu_ms=$(awk -v t=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" -v n="$count" \
        'BEGIN { printf "%.3f", t * 1000 / hz / n }')
    [ -n "$pid" ] || cpu_ms=-
    local redis_cpu_ms=-
    if [ "$setup" = ecomm-redis ]; then
        redis_cpu_ms=$(awk -v t=$((redis_cpu1 - redis_cpu0)) -v hz="$(getconf CLK_TCK)" -v n="$count" \
            'BEGIN { printf "%.3f", t * 1000 / hz / n }')
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$setup" "$type" "$count" \
        "$delivered" "$seconds" "$rate" "$cpu_ms" "$pass" "$decisions" "$dns_q" "$status" "$redis_counted" \
        "$redis_cpu_ms" >>"$RESULTS"
    printf '  round %s %-14s %-11s %4s/%-4s in %7ss = %7s msg/s  milter CPU %s ms/msg  DNS %s/msg  proof %s%s  %s\n' \
        "$round" "$setup" "$type" "$delivered" "$count" "$seconds" "$rate" "$cpu_ms" "$dns_q" "$pass" \
        "$([ "$setup" != ecomm-redis ] || printf ', in Redis %s, redis-server CPU %s ms/msg' "$redis_counted" "$redis_cpu_ms")" \
        "$status"
}

# ---------------------------------------------------------------------------------------------
# Main

e2e_pick_ports
started=$SECONDS
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
bench_say "work dir $E2E_DIR; load average before: $load_before"
read -r -a setup_list <<<"$SETUPS"
read -r -a type_list <<<"$TYPES"
[ "$BENCH_DEV_LOG" = 0 ] || start_dev_log
start_dns
make_messages
[[ " $SETUPS " != *" null-"* ]] || start_null_milters
[[ " $SETUPS " != *" ecomm-redis "* ]] || start_redis
[[ " $SETUPS " != *" ecomm-"* ]] || start_ecomm_milters
[[ " $SETUPS " != *" odkim-"* ]] || start_opendkims
start_sink
start_postfix
bench_say "smtpd 127.0.0.1:$E2E_SMTP_PORT, sink 127.0.0.1:$E2E_SINK_PORT; milters:$(for s in "${!SOCKET[@]}"; do printf ' %s=%s' "$s" "${SOCKET[$s]}"; done)"
bench_say "rounds $ROUNDS, $MESSAGES messages a cell ($MESSAGES_1M of 1 MB), $SESSIONS sessions, warm-up $WARMUP"
printf 'round\tsetup\ttype\tcount\tdelivered\tseconds\tmsg_per_s\tmilter_cpu_ms\tproof\tdecisions\tdns_queries\tstatus\tredis_counted\tredis_cpu_ms\n' >"$RESULTS"

for ((round = 1; round <= ROUNDS; round++)); do
    bench_say "round $round (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    n=${#setup_list[@]}
    for ((i = 0; i < n; i++)); do
        setup=${setup_list[$(((i + round - 1) % n))]}
        select_setup "$setup"
        for type in "${type_list[@]}"; do
            run_cell "$round" "$setup" "$type"
        done
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
[[ " $SETUPS " != *" ecomm-redis "* ]] || check_and_stop_redis
if [ "$BENCH_DEV_LOG" = 0 ]; then
    dev_log="no /dev/log (BENCH_DEV_LOG=0)"
else
    e2e_stop_log_sink
    dev_log="/dev/log read by log_sink.c, $E2E_LOG_LINES lines"
fi

report=$E2E_DIR/report.md
python3 "$here/e2e/report.py" "$RESULTS" \
    "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, Postfix $(postconf -h -d mail_version)$(
        [ -z "${ECOMM_MILTER:-}" ] || printf ', %s' "$("$ECOMM_MILTER" -V 2>&1 | head -n 1)"); ROUNDS=$ROUNDS MESSAGES=$MESSAGES MESSAGES_1M=$MESSAGES_1M SESSIONS=$SESSIONS WARMUP=$WARMUP${NULL_MILTER_ARGS:+ NULL_MILTER_ARGS=$NULL_MILTER_ARGS}; load average $load_before before, $load_after after; $dev_log; $((SECONDS - started)) s" \
    >"$report" || e2e_die "report.py failed"
cat "$report"
[ -z "${BENCH_OUT:-}" ] || cp "$report" "$BENCH_OUT"
if [ "$BENCH_FAILED" -ne 0 ]; then
    # shellcheck disable=SC2034  # read by lib.sh's cleanup: keeps the work dir
    E2E_FAILED=1
    exit 1
fi
exit 0
