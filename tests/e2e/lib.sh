# shellcheck shell=bash
# Shared shell functions for the end-to-end tests (tests/e2e/*.sh, tests/miltertest/run.sh) and
# for ./quickstart: a private Postfix on loopback that relays into smtp-sink (which keeps a copy
# of every delivered message), the milter attached to it, swaks as the SMTP client, and small
# assertion helpers.
#
# DNS: by default the milter answers SPF and DKIM look-ups from a static zone file written here
# (e2e_write_dns_zone; [authentication] dns_file), so no test waits for a DNS server.
# tests/e2e/dns-auth.sh instead runs a real DNS server (dnsmasq) in a private network namespace
# (e2e_enter_private_netns, e2e_start_dnsmasq) and signs its messages with DKIM keys it makes.
#
# Source it, then call e2e_init. Everything lives in one temporary work dir, and an EXIT trap
# stops every process this script started (Postfix, smtp-sink, the milter), even on failure.
# Every wait is bounded (E2E_TIMEOUT seconds, default 30).
#
# Environment:
#   ECOMM_MILTER   the milter binary (default: $top_builddir/ecomm-milter)
#   E2E_KEEP=1     keep the work dir afterwards (it is always kept when a check failed)
#   E2E_TIMEOUT    upper bound for every wait, in seconds (default 30)
#   E2E_BUDGET     no new message is sent after this many seconds (default 240)

set -u

E2E_TIMEOUT=${E2E_TIMEOUT:-30}
E2E_BUDGET=${E2E_BUDGET:-240}   # seconds for a whole test script; well above a normal run
E2E_PASSED=0
E2E_FAILED=0
E2E_DIR=
E2E_PIDS_TO_STOP=()      # other background processes started here, stopped on exit
E2E_POSTFIX_DIR=         # config dir of the running private Postfix, if any
E2E_MILTER_PID=
E2E_MILTER_LOG=
E2E_MILTER_SOCKET=
E2E_MILTER_CONF=
E2E_CONF_SOCKET=
E2E_SINK_PID=
E2E_LOG_SINK_PID=        # the /dev/log reader of e2e_private_dev_log
E2E_LOG_LINES=           # the lines it received, set by e2e_stop_log_sink
E2E_SINK_DIR=
E2E_SMTP_PORT=
E2E_SINK_PORT=
E2E_MAILLOG=
E2E_POSTFIX_CONF=
E2E_MILTER_PORT=
E2E_QUIET_CLEANUP=0
E2E_CONF_DNS=            # static (the zone file) or system (the resolver); kept across rewrites
E2E_CONF_DNS_TIMEOUT=
E2E_DNSMASQ_PID=
E2E_DNSMASQ_LOG=
# Appended to the test registry by e2e_write_milter_config (extra entries of one test script).
E2E_REGISTRY_EXTRA=
# Appended to the [counters] section by e2e_write_milter_config (e.g. backend = redis and its
# keys, tests/e2e/redis.sh).
E2E_COUNTERS_EXTRA=

# The authserv-id of the milter's Authentication-Results header in the test config.
E2E_AUTHSERV_ID=mx.e2e.test

# The recipient of every test message (a university address).
E2E_RCPT=student@example.edu

# ---------------------------------------------------------------------------------------------
# Output and results

e2e_say()  { printf '%s\n' "$*"; }
e2e_note() { printf '# %s\n' "$*"; }
e2e_die()  { printf 'ERROR: %s\n' "$*" >&2; exit 99; }   # 99: automake's "hard error"

# exit 77 is automake's SKIP: never pretend a test passed when it could not run.
e2e_skip() { printf 'SKIP: %s\n' "$*"; exit 77; }

e2e_pass() {
    E2E_PASSED=$((E2E_PASSED + 1))
    printf 'ok %d - %s\n' "$((E2E_PASSED + E2E_FAILED))" "$*"
}

e2e_fail() {
    E2E_FAILED=$((E2E_FAILED + 1))
    printf 'not ok %d - %s\n' "$((E2E_PASSED + E2E_FAILED))" "$*"
}

# Shows the end of a file, indented, to explain a failure.
e2e_show() {
    local file=$1 lines=${2:-25}
    if [ -f "$file" ]; then
        printf '    --- %s (last %s lines) ---\n' "$file" "$lines"
        tail -n "$lines" "$file" | tr -d '\r' | sed 's/^/    | /'
    else
        printf '    --- %s: no such file ---\n' "$file"
    fi
}

# e2e_assert_grep F|E FILE PATTERN DESCRIPTION EXPECTATION: some line of FILE (CRs removed)
# matches PATTERN, a fixed string (F) or an extended regex (E); EXPECTATION words the failure.
e2e_assert_grep() {
    local mode=$1 file=$2 pattern=$3 what=$4 expectation=$5
    if [ -f "$file" ] && tr -d '\r' <"$file" | grep -q"$mode" -- "$pattern"; then
        e2e_pass "$what"
    else
        e2e_fail "$what"
        printf '    expected %s %s: %s\n' "$file" "$expectation" "$pattern"
        e2e_show "$file"
    fi
}

# e2e_assert_no_grep F|E FILE PATTERN DESCRIPTION EXPECTATION: FILE exists and no line matches.
e2e_assert_no_grep() {
    local mode=$1 file=$2 pattern=$3 what=$4 expectation=$5
    if [ ! -f "$file" ]; then
        e2e_fail "$what"
        printf '    %s is missing\n' "$file"
    elif tr -d '\r' <"$file" | grep -q"$mode" -- "$pattern"; then
        e2e_fail "$what"
        printf '    expected %s %s: %s\n' "$file" "$expectation" "$pattern"
        tr -d '\r' <"$file" | grep -n"$mode" -- "$pattern" | head -5 | sed 's/^/    | /'
    else
        e2e_pass "$what"
    fi
}

# assert_contains FILE TEXT [DESCRIPTION]: FILE contains the fixed string TEXT.
assert_contains() {
    e2e_assert_grep F "$1" "$2" "${3:-"$(basename "$1") contains '$2'"}" "to contain"
}

# assert_not_contains FILE TEXT [DESCRIPTION]
assert_not_contains() {
    e2e_assert_no_grep F "$1" "$2" "${3:-"$(basename "$1") does not contain '$2'"}" "NOT to contain"
}

# assert_matches FILE ERE [DESCRIPTION]: some line of FILE matches the extended regex.
assert_matches() {
    e2e_assert_grep E "$1" "$2" "${3:-"$(basename "$1") matches /$2/"}" "(a line) to match"
}

# assert_not_matches FILE ERE [DESCRIPTION]
assert_not_matches() {
    e2e_assert_no_grep E "$1" "$2" "${3:-"$(basename "$1") has no line matching /$2/"}" "(no line) to match"
}

# assert_true DESCRIPTION COMMAND...: the command succeeds.
assert_true() {
    local what=$1
    shift
    if "$@"; then e2e_pass "$what"; else e2e_fail "$what"; fi
}

# Prints "N passed, N failed" and returns the script's exit status (0 only if nothing failed and
# something was checked).
e2e_summary() {
    printf '%d passed, %d failed\n' "$E2E_PASSED" "$E2E_FAILED"
    [ "$E2E_FAILED" -eq 0 ] && [ "$E2E_PASSED" -gt 0 ]
}

# ---------------------------------------------------------------------------------------------
# Prerequisites, work dir, cleanup

# Skips (exit 77) with the reason when this machine cannot run the Postfix tests.
e2e_require_postfix() {
    [ "$(id -u)" -eq 0 ] || e2e_skip "needs root to run a private Postfix instance"
    export PATH="$PATH:/usr/sbin:/sbin"
    local tool
    for tool in postfix postconf smtp-sink swaks python3; do
        command -v "$tool" >/dev/null 2>&1 || e2e_skip "$tool is not installed (see contrib/debian-build-deps.txt)"
    done
    getent passwd postfix >/dev/null || e2e_skip "there is no postfix user"
    getent passwd nobody >/dev/null || e2e_skip "there is no nobody user (for smtp-sink)"
}

# Finds the milter binary: $ECOMM_MILTER, else $top_builddir/ecomm-milter. A missing binary is an
# error (the build should have made it), not a skip.
e2e_require_milter() {
    if [ -z "${ECOMM_MILTER:-}" ]; then
        ECOMM_MILTER="${top_builddir:-.}/ecomm-milter"
    fi
    [ -x "$ECOMM_MILTER" ] || e2e_die "milter binary not found or not executable: $ECOMM_MILTER"
}

# Creates the work dir and installs the cleanup trap. NAME names the dir.
e2e_init() {
    local name=${1:-e2e}
    E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ecomm-$name.XXXXXX") || e2e_die "cannot create a temp dir"
    # Postfix's smtpd runs as user postfix and must reach the milter's socket in here.
    chmod 0755 "$E2E_DIR"
    trap e2e_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# Stops everything started here; removes the work dir unless something failed or E2E_KEEP=1.
e2e_cleanup() {
    local status=$?
    trap - EXIT INT TERM
    e2e_stop_postfix
    e2e_stop_milter
    e2e_stop_sink
    local pid
    for pid in "${E2E_PIDS_TO_STOP[@]:-}"; do
        [ -n "$pid" ] && e2e_stop_pid "$pid" helper
    done
    if [ -n "$E2E_DIR" ] && [ -d "$E2E_DIR" ]; then
        if [ "${E2E_KEEP:-0}" = 1 ] || [ "$status" -ne 0 ] || [ "$E2E_FAILED" -ne 0 ]; then
            [ "$E2E_QUIET_CLEANUP" = 1 ] || e2e_note "work dir kept for inspection: $E2E_DIR"
        else
            rm -rf "$E2E_DIR"
        fi
    fi
    exit "$status"
}

# e2e_stop_pid PID NAME: SIGTERM, wait up to 10 s, then SIGKILL. Only for our own children.
e2e_stop_pid() {
    local pid=$1 name=$2 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    e2e_note "$name (pid $pid) ignored SIGTERM for 10 s; killing it"
    kill -KILL "$pid" 2>/dev/null
}

# e2e_now_ms: milliseconds since the epoch (bash's EPOCHREALTIME, no process started).
e2e_now_ms() { echo $((${EPOCHREALTIME/[.,]/} / 1000)); }

# e2e_wait_for DESCRIPTION COMMAND...: polls the command every 0.1 s until it succeeds, at most
# E2E_TIMEOUT seconds. Returns 1 on timeout.
e2e_wait_for() {
    local what=$1 deadline=$((SECONDS + E2E_TIMEOUT))
    shift
    until "$@"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            e2e_note "timed out after ${E2E_TIMEOUT}s waiting for $what"
            return 1
        fi
        sleep 0.1
    done
}

# ---------------------------------------------------------------------------------------------
# Ports

# Prints a TCP port on 127.0.0.1 that is free now (the kernel picks it; distinct per call).
e2e_free_port() {
    python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# True when something listens on 127.0.0.1:PORT.
e2e_port_listening() {
    if command -v ss >/dev/null 2>&1; then
        ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# Picks the ports of this run: E2E_SMTP_PORT (Postfix smtpd), E2E_SINK_PORT (smtp-sink) and
# E2E_MILTER_PORT (for an inet milter socket).
e2e_pick_ports() {
    E2E_SMTP_PORT=$(e2e_free_port) || e2e_die "no free port"
    E2E_SINK_PORT=$(e2e_free_port) || e2e_die "no free port"
    E2E_MILTER_PORT=$(e2e_free_port) || e2e_die "no free port"
    # Ask again in the unlikely case the kernel handed out the same port twice.
    while [ "$E2E_SINK_PORT" = "$E2E_SMTP_PORT" ]; do E2E_SINK_PORT=$(e2e_free_port); done
    while [ "$E2E_MILTER_PORT" = "$E2E_SMTP_PORT" ] || [ "$E2E_MILTER_PORT" = "$E2E_SINK_PORT" ]; do
        E2E_MILTER_PORT=$(e2e_free_port)
    done
}

# ---------------------------------------------------------------------------------------------
# smtp-sink: the relay host; it writes each delivered message to its own file.

e2e_start_sink() {
    E2E_SINK_DIR=$E2E_DIR/sink
    mkdir -p "$E2E_SINK_DIR"
    # smtp-sink drops to user nobody after binding, then writes the dump files.
    chown nobody "$E2E_SINK_DIR"
    # -d: one file per mail transaction, named msg.<random hex>.
    smtp-sink -u nobody -d "$E2E_SINK_DIR/msg." "127.0.0.1:$E2E_SINK_PORT" 64 \
        >"$E2E_DIR/smtp-sink.log" 2>&1 &
    E2E_SINK_PID=$!
    e2e_wait_for "smtp-sink on port $E2E_SINK_PORT" e2e_port_listening "$E2E_SINK_PORT" || {
        e2e_show "$E2E_DIR/smtp-sink.log"
        e2e_die "smtp-sink did not start"
    }
}

e2e_stop_sink() {
    [ -n "$E2E_SINK_PID" ] || return 0
    e2e_stop_pid "$E2E_SINK_PID" smtp-sink
    wait "$E2E_SINK_PID" 2>/dev/null
    E2E_SINK_PID=
}

# Prints the sink file holding the message with header "X-E2E-Id: ID", if it arrived.
e2e_sink_file_for() {
    local id=$1
    [ -n "$E2E_SINK_DIR" ] || return 1
    grep -lF -- "X-E2E-Id: $id" "$E2E_SINK_DIR"/msg.* 2>/dev/null | head -n 1
}

# e2e_sink_ids PREFIX: the distinct X-E2E-Id values that reached the sink and are PREFIX followed
# by digits and dashes ("rate-" finds rate-1 and rate-2-7, not rated-1).
e2e_sink_ids() {
    grep -ho -E "X-E2E-Id: $1[0-9-]+" "$E2E_SINK_DIR"/msg.* 2>/dev/null | sed 's/^X-E2E-Id: //' | sort -u
}

# e2e_sink_count_at_least PREFIX N: at least N such messages reached the sink (for e2e_wait_for).
e2e_sink_count_at_least() { [ "$(e2e_sink_ids "$1" | grep -c .)" -ge "$2" ]; }

# ---------------------------------------------------------------------------------------------
# The private Postfix instance

# e2e_write_postfix_config MILTER: writes main.cf and master.cf under $E2E_DIR/postfix.
# MILTER is Postfix's spelling: unix:/path or inet:127.0.0.1:PORT.
e2e_write_postfix_config() {
    local milter=$1
    local dir=$E2E_DIR/postfix
    mkdir -p "$dir/conf" "$dir/queue" "$dir/data"
    chown postfix "$dir/data"
    E2E_POSTFIX_CONF=$dir/conf
    E2E_MAILLOG=$dir/maillog
    cat >"$dir/conf/main.cf" <<EOF
# Private test instance: loopback only, relays everything to smtp-sink, no DNS.
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.e2e.test
mydomain = e2e.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
relayhost = [127.0.0.1]:$E2E_SINK_PORT
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
# The test clients (via XCLIENT) may relay: this instance only listens on loopback. (Postfix
# refuses a bare "permit" here: it wants some reject_unauth_destination.)
mynetworks = 127.0.0.0/8, 10.99.0.0/16, 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtpd_milters = $milter
milter_default_action = tempfail
milter_connect_timeout = 10s
milter_command_timeout = 20s
milter_content_timeout = 20s
# Deliver at once and retry soon, so that waits stay short.
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
smtp_connect_timeout = 5s
biff = no
# No syslog daemon here: postlogd writes this file.
maillog_file = $dir/maillog
maillog_file_prefixes = $E2E_DIR
EOF
    cat >"$dir/conf/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command
$E2E_SMTP_PORT inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

e2e_postfix_master_pid() {
    local pidfile=$E2E_DIR/postfix/queue/pid/master.pid
    [ -s "$pidfile" ] && tr -d ' \n' <"$pidfile"
}

# Starts the instance configured by e2e_write_postfix_config and waits for its smtpd port.
e2e_start_postfix() {
    # postfix needs an absolute config dir (a relative one fails silently).
    E2E_POSTFIX_DIR=$E2E_POSTFIX_CONF
    if ! postfix -c "$E2E_POSTFIX_DIR" start >"$E2E_DIR/postfix-start.log" 2>&1; then
        e2e_show "$E2E_DIR/postfix-start.log"
        e2e_show "$E2E_MAILLOG"
        e2e_die "postfix did not start"
    fi
    e2e_wait_for "postfix smtpd on port $E2E_SMTP_PORT" e2e_port_listening "$E2E_SMTP_PORT" || {
        e2e_show "$E2E_DIR/postfix-start.log"
        e2e_show "$E2E_MAILLOG"
        e2e_die "postfix is not listening on 127.0.0.1:$E2E_SMTP_PORT"
    }
    # master listens before any smtpd has read main.cf: a bad setting only shows when smtpd
    # starts, so make sure it greets (otherwise every message would wait for a timeout).
    e2e_smtp_greets "$E2E_SMTP_PORT" || {
        e2e_show "$E2E_MAILLOG"
        e2e_die "postfix smtpd on 127.0.0.1:$E2E_SMTP_PORT does not answer EHLO"
    }
}

# True when an SMTP server on 127.0.0.1:PORT answers EHLO within 10 s (then QUITs politely).
e2e_smtp_greets() {
    python3 - "$1" <<'EOF'
import smtplib, sys
try:
    s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
    code = s.ehlo("probe.e2e.test")[0]
    s.quit()
except Exception as e:
    sys.exit("SMTP probe failed: %s" % e)
sys.exit(0 if code == 250 else 1)
EOF
}

e2e_stop_postfix() {
    [ -n "$E2E_POSTFIX_DIR" ] || return 0
    local pid i
    pid=$(e2e_postfix_master_pid) || pid=
    postfix -c "$E2E_POSTFIX_DIR" stop >/dev/null 2>&1
    if [ -n "$pid" ]; then
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            e2e_note "postfix master (pid $pid) still running after 10 s; aborting it"
            postfix -c "$E2E_POSTFIX_DIR" abort >/dev/null 2>&1
            sleep 0.5
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    E2E_POSTFIX_DIR=
}

# ---------------------------------------------------------------------------------------------
# The milter

# e2e_write_dns_zone FILE: the static DNS zone of the tests (the milter's dns_file): SPF
# records for the test domains, matching the registry's networks. Names not listed do not exist
# (SPF none).
e2e_write_dns_zone() {
    local file=$1
    cat >"$file.tmp" <<'EOF'
# DNS for the ecomm-milter end-to-end tests (written by tests/e2e/lib.sh): NAME TYPE VALUE.
# marketing-cloud sends from 192.0.2.0/25, cvent from 198.51.100.0/24 (see the registry).
e.example.edu        TXT "v=spf1 ip4:192.0.2.0/25 -all"
events.example.edu   TXT "v=spf1 ip4:198.51.100.0/24 -all"
news.example.edu     TXT "v=spf1 ip4:192.0.2.128/25 -all"
example.edu          TXT "v=spf1 ip4:10.99.0.0/16 -all"
outside.test         TXT "v=spf1 -all"
EOF
    mv "$file.tmp" "$file"
}

# e2e_write_milter_config [mode=enforce|monitor] [prefix=TEXT] [socket=SPEC] [internal=NETS]
#                         [dns=static|system] [dns_timeout=SECONDS] [rate_limit=N] [throttle=SECONDS]
#                         [bulk_threshold=N] [business=always|never|weekdays]
# Writes $E2E_DIR/milter/ecomm-milter.conf and its registry (registry.conf next to it).
# Test university: example.edu. Internal: 10.99.0.0/16 only, so that loopback clients are not
# internal. Registry: marketing-cloud (192.0.2.0/25, identifier mc7f3a, exempt from the
# external tag) and cvent (198.51.100.0/24, identifier cv91), both transactional, and
# newsletter (192.0.2.128/25, identifier nl42, promotional), all with the default
# authentication requirement (spf-or-dkim), then $E2E_REGISTRY_EXTRA.
# DNS: static (default) answers from the zone of e2e_write_dns_zone ($E2E_DIR/milter/dns.zone);
# system uses the system resolver (/etc/resolv.conf), for tests that run a DNS server.
# Authentication-Results are written under $E2E_AUTHSERV_ID; every [actions] key is at its
# shipped default.
# Counters (rate, bulk-hours): the table is $E2E_DIR/milter/counters, never /var/lib, and it
# survives rewrites, reloads and restarts of the milter. rate_limit: messages a minute per
# registered sender (default 30, as shipped; no scenario of scenarios.sh sends more than 4 a
# minute from one sender). throttle: [rate] throttle_delay, default 0 here (shipped: 5), so that
# a sender over its rate is deferred at once and no test waits on a throttled sender unless it
# asks to. bulk_threshold: [bulk] threshold (default 15000). business: always (every hour of
# every day until a holiday in three days), never (business_days = none) or weekdays (default:
# the shipped Mon-Fri 08:00-17:00; with the default threshold no test message comes near it).
# E2E_DNS_EXTRA: lines appended to the static zone (SPF records for E2E_REGISTRY_EXTRA's
# entries). E2E_COUNTERS_EXTRA: lines appended to the [counters] section.
e2e_write_milter_config() {
    # The socket and DNS default to those of the previous call, so that rewriting the config
    # for a reload keeps them.
    local mode=enforce prefix='[EXTERNAL]' socket=${E2E_CONF_SOCKET:-"unix:$E2E_DIR/milter/milter.sock"}
    local internal=10.99.0.0/16 dns=${E2E_CONF_DNS:-static} dns_timeout=${E2E_CONF_DNS_TIMEOUT:-2} arg
    local rate_limit=30 throttle=0 bulk_threshold=15000 business=weekdays
    for arg in "$@"; do
        case $arg in
            mode=*) mode=${arg#mode=} ;;
            prefix=*) prefix=${arg#prefix=} ;;
            socket=*) socket=${arg#socket=} ;;
            internal=*) internal=${arg#internal=} ;;
            dns=static | dns=system) dns=${arg#dns=} ;;
            dns_timeout=*) dns_timeout=${arg#dns_timeout=} ;;
            rate_limit=*) rate_limit=${arg#rate_limit=} ;;
            throttle=*) throttle=${arg#throttle=} ;;
            bulk_threshold=*) bulk_threshold=${arg#bulk_threshold=} ;;
            business=always | business=never | business=weekdays) business=${arg#business=} ;;
            *) e2e_die "e2e_write_milter_config: unknown argument $arg" ;;
        esac
    done
    local business_days=Mon-Fri business_hours=08:00-17:00 holidays=
    case $business in
        always)
            # Every hour of every day until a holiday three days ahead: hours that never end
            # give a deferral no time to name ("which run without an end in the next 8 days").
            business_days=Sun-Sat business_hours=00:00-24:00 holidays=$E2E_DIR/milter/holidays.txt
            mkdir -p "$E2E_DIR/milter"
            date -d '+3 days' +%F >"$holidays"
            ;;
        never) business_days=none ;;
    esac
    E2E_CONF_SOCKET=$socket
    E2E_CONF_DNS=$dns
    E2E_CONF_DNS_TIMEOUT=$dns_timeout
    mkdir -p "$E2E_DIR/milter"
    chmod 0755 "$E2E_DIR/milter"
    E2E_MILTER_CONF=$E2E_DIR/milter/ecomm-milter.conf
    local dns_file=
    if [ "$dns" = static ]; then
        dns_file=dns.zone   # relative to the config's folder
        e2e_write_dns_zone "$E2E_DIR/milter/dns.zone"
        [ -z "${E2E_DNS_EXTRA:-}" ] || printf '%s\n' "$E2E_DNS_EXTRA" >>"$E2E_DIR/milter/dns.zone"
    fi
    # Written to a temp file and renamed, so a reload never reads half a file.
    cat >"$E2E_MILTER_CONF.tmp" <<EOF
# ecomm-milter end-to-end test configuration (written by tests/e2e/lib.sh)
[milter]
socket = $socket
# smtpd runs as user postfix and must be able to write to the socket.
socket_mode = 0666
user =
pid_file =
registry = registry.conf
mode = $mode
on_error = tempfail
log_accepts = yes
${E2E_NO_REPLY:+no_reply = $E2E_NO_REPLY}

[policy]
university_domains = example.edu
internal_networks = $internal
policy_url = https://www.example.edu/policies/ecommunications
time_zone = America/Denver
expiry_warning_days = 14

[external-tag]
header = X-Ecomm-External
header_value = yes
subject_prefix = $prefix

[authentication]
authserv_id = $E2E_AUTHSERV_ID
dns_timeout = $dns_timeout
# dns.zone: the static test zone; empty: the system resolver (/etc/resolv.conf).
dns_file = $dns_file

[actions]
registration = reject
return-path = reject
external-tag = tag
authentication = reject
authentication-temperror = tempfail
authentication-permerror = reject

[counters]
file = $E2E_DIR/milter/counters
rate_slots = 4096
campaign_slots = 128
${E2E_COUNTERS_EXTRA:-}

[rate]
limit = $rate_limit
burst = 0
throttle_delay = $throttle
client_limit = 0

[bulk]
threshold = $bulk_threshold
campaign_headers = Feedback-ID, List-Id, X-Ecomm-Campaign
audience_header = X-Ecomm-Audience
audience_window = 24
business_days = $business_days
business_hours = $business_hours
holidays = $holidays
EOF
    mv "$E2E_MILTER_CONF.tmp" "$E2E_MILTER_CONF"
    {
        cat <<'EOF'
# ecomm-milter end-to-end test registry (written by tests/e2e/lib.sh).  No expiry dates; the
# authentication requirement is the default (spf-or-dkim): the test DNS publishes SPF records
# that allow each entry's networks.
[marketing-cloud]
unit = Strategic Relations and Communications
networks = 192.0.2.0/25
domains = e.example.edu
identifier = mc7f3a
return_path = ^bounce-mc7f3a-[0-9a-z]+@e\.example\.edu$
category = transactional
external_tag_exempt = yes

[cvent]
unit = Conference Services
networks = 198.51.100.0/24
domains = events.example.edu
identifier = cv91
return_path = ^cv91-[0-9]+@events\.example\.edu$
category = transactional

# A promotional sender: the unsubscribe rule applies to it.
[newsletter]
unit = Alumni Relations
networks = 192.0.2.128/25
domains = news.example.edu
identifier = nl42
return_path = ^nl42-[0-9]+@news\.example\.edu$
category = promotional
EOF
        [ -z "$E2E_REGISTRY_EXTRA" ] || printf '\n%s\n' "$E2E_REGISTRY_EXTRA"
    } >"$E2E_DIR/milter/registry.conf.tmp"
    mv "$E2E_DIR/milter/registry.conf.tmp" "$E2E_DIR/milter/registry.conf"
}

# Writes a config that the loader must refuse, at a known line (for reload and -n tests).
e2e_write_broken_milter_config() {
    local file=${1:-$E2E_MILTER_CONF}
    {
        printf '[milter]\n'
        printf 'registry = registry.conf\n'
        printf 'mode = sometimes\n'                 # line 3: not enforce/monitor
        printf 'no_such_key = 1\n'                  # line 4: unknown key
    } >"$file.tmp"
    mv "$file.tmp" "$file"
}

# The socket in Postfix's spelling (for smtpd_milters), from the milter's spelling.
e2e_postfix_milter_spec() {
    case $1 in
        unix:*) printf '%s\n' "$1" ;;
        inet:*@*) local rest=${1#inet:}; printf 'inet:%s:%s\n' "${rest#*@}" "${rest%@*}" ;;
        *) e2e_die "unsupported milter socket $1" ;;
    esac
}

e2e_milter_socket_ready() {
    case $E2E_MILTER_SOCKET in
        unix:*) [ -S "${E2E_MILTER_SOCKET#unix:}" ] ;;
        inet:*) local rest=${E2E_MILTER_SOCKET#inet:}; e2e_port_listening "${rest%@*}" ;;
    esac
}

# e2e_start_milter SOCKET: runs the milter in the foreground (-f) as a background job with the
# test config, its stderr (the decision log) in $E2E_MILTER_LOG, and waits for the socket.
e2e_start_milter() {
    E2E_MILTER_SOCKET=$1
    E2E_MILTER_LOG=$E2E_DIR/milter.log
    case $E2E_MILTER_SOCKET in
        unix:*) rm -f "${E2E_MILTER_SOCKET#unix:}" ;;
    esac
    "$ECOMM_MILTER" -f -c "$E2E_MILTER_CONF" -p "$E2E_MILTER_SOCKET" >>"$E2E_MILTER_LOG" 2>&1 &
    E2E_MILTER_PID=$!
    local deadline=$((SECONDS + E2E_TIMEOUT))
    until e2e_milter_socket_ready; do
        if ! kill -0 "$E2E_MILTER_PID" 2>/dev/null; then
            wait "$E2E_MILTER_PID"
            local rc=$?
            E2E_MILTER_PID=
            e2e_show "$E2E_MILTER_LOG"
            e2e_die "the milter exited with status $rc before opening $E2E_MILTER_SOCKET"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            e2e_show "$E2E_MILTER_LOG"
            e2e_die "the milter did not open $E2E_MILTER_SOCKET within ${E2E_TIMEOUT}s"
        fi
        sleep 0.1
    done
}

# Stops the milter with SIGTERM. Returns 1 (and says why) when it had already died, did not exit
# cleanly, or a sanitizer reported an error in its log.
e2e_stop_milter() {
    [ -n "$E2E_MILTER_PID" ] || return 0
    local pid=$E2E_MILTER_PID rc=0 problem=
    E2E_MILTER_PID=
    if ! kill -0 "$pid" 2>/dev/null; then
        problem="the milter had died before it was stopped"
    fi
    e2e_stop_pid "$pid" milter
    wait "$pid" 2>/dev/null
    rc=$?
    if [ -z "$problem" ] && [ "$rc" -ne 0 ]; then
        problem="the milter exited with status $rc after SIGTERM"
    fi
    if [ -f "$E2E_MILTER_LOG" ] &&
        grep -qE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' "$E2E_MILTER_LOG"; then
        problem="${problem:+$problem; }a sanitizer reported an error in the milter"
    fi
    if [ -n "$problem" ]; then
        printf '# %s\n' "$problem"
        e2e_show "$E2E_MILTER_LOG" 40
        return 1
    fi
    return 0
}

# Sends SIGUSR1 (reload) to the milter and waits until it logs the outcome (reloaded, or
# failed and kept the old config), so that the next connection surely sees it.
e2e_reload_milter() {
    local before
    before=$(e2e_log_mark)
    kill -USR1 "$E2E_MILTER_PID" || return 1
    e2e_wait_for "the milter to log the reload" e2e_log_since_has "$before" \
        -E 'reloaded configuration|reload failed'
}

# Log positions: e2e_log_mark prints the current line count of the milter log; e2e_log_since
# MARK prints the lines written after it.
e2e_log_mark() { if [ -f "$E2E_MILTER_LOG" ]; then wc -l <"$E2E_MILTER_LOG"; else echo 0; fi; }
e2e_log_since() { tail -n "+$(($1 + 1))" "$E2E_MILTER_LOG" 2>/dev/null; }
# e2e_log_since_has MARK GREP-ARGS...
e2e_log_since_has() {
    local mark=$1
    shift
    e2e_log_since "$mark" | grep -q "$@"
}

# e2e_wait_log MARK ERE DESCRIPTION: waits (bounded) until a line after MARK matches; counts
# a pass or a failure.
e2e_wait_log() {
    local mark=$1 re=$2 what=$3
    if e2e_wait_for "milter log /$re/" e2e_log_since_has "$mark" -E -- "$re"; then
        e2e_pass "$what"
    else
        e2e_fail "$what"
        printf '    expected a milter log line (after line %s) matching: %s\n' "$mark" "$re"
        e2e_show "$E2E_MILTER_LOG"
    fi
}

# ---------------------------------------------------------------------------------------------
# Sending mail

# e2e_write_message FILE ID FROM SUBJECT [EXTRA-HEADER-LINE...]: a small message with the
# marker header "X-E2E-Id: ID", used to find its delivered copy.
e2e_write_message() {
    local file=$1 id=$2 from=$3 subject=$4
    shift 4
    {
        printf 'From: %s\r\n' "$from"
        printf 'To: %s\r\n' "$E2E_RCPT"
        printf 'Subject: %s\r\n' "$subject"
        printf 'Date: %s\r\n' "$(LC_ALL=C date -R)"
        printf 'Message-ID: <%s.%s@e2e.test>\r\n' "$id" "$$"
        printf 'X-E2E-Id: %s\r\n' "$id"
        local h
        for h in "$@"; do printf '%s\r\n' "$h"; done
        printf '\r\n'
        printf 'End-to-end test message %s.\r\n' "$id"
    } >"$file"
}

# e2e_send ID CLIENT_IP MAIL_FROM HEADER_FROM SUBJECT [EXTRA-HEADER-LINE...]
# Writes a message (e2e_write_message, kept as $E2E_DIR/msg/ID.eml) and sends it with
# e2e_send_file.
e2e_send() {
    local id=$1 ip=$2 mail_from=$3 header_from=$4 subject=$5
    shift 5
    mkdir -p "$E2E_DIR/msg"
    local msg=$E2E_DIR/msg/$id.eml
    e2e_write_message "$msg" "$id" "$header_from" "$subject" "$@"
    e2e_send_file "$id" "$ip" "$mail_from" "$msg"
}

# e2e_send_file ID CLIENT_IP MAIL_FROM FILE
# Sends the message in FILE (which should carry "X-E2E-Id: ID") through the private Postfix with
# swaks; CLIENT_IP is passed with XCLIENT (empty: no XCLIENT, the client is 127.0.0.1). The
# client's transcript is kept in $E2E_DIR/tx/ID.txt (E2E_TX is set to it) so that tests can
# assert the reply the client saw; E2E_SEND_MS is set to the milliseconds the whole SMTP
# session took.
# E2E_LOGIN=NAME also sends XCLIENT LOGIN=NAME: Postfix then reports the session as SMTP AUTH
# authenticated ({auth_authen}) to the milter, with no SASL setup.
e2e_send_file() {
    local id=$1 ip=$2 mail_from=$3 msg=$4
    # A stuck MTA or milter would make every message wait for the SMTP timeout: give up early.
    if [ "$SECONDS" -gt "$E2E_BUDGET" ]; then
        e2e_fail "$id: not sent, the test ran over its ${E2E_BUDGET}s budget"
        e2e_die "over budget: something is stuck (see $E2E_DIR)"
    fi
    mkdir -p "$E2E_DIR/tx"
    E2E_TX=$E2E_DIR/tx/$id.txt
    local xclient=()
    if [ -n "$ip" ]; then
        xclient=(--xclient-addr "$ip" --xclient-name "client-${ip//[.:]/-}.e2e.test")
    fi
    if [ -n "${E2E_LOGIN:-}" ]; then
        xclient+=(--xclient-login "$E2E_LOGIN")
    fi
    local start=${EPOCHREALTIME/[.,]/}
    timeout "$((E2E_TIMEOUT + 10))" swaks --server 127.0.0.1 --port "$E2E_SMTP_PORT" \
        --timeout "$E2E_TIMEOUT" --ehlo client.e2e.test "${xclient[@]}" \
        --from "$mail_from" --to "$E2E_RCPT" --data "@$msg" >"$E2E_TX" 2>&1
    # shellcheck disable=SC2034  # read by the test scripts
    E2E_SEND_MS=$(((${EPOCHREALTIME/[.,]/} - start) / 1000))
    return 0   # swaks exits non-zero on a rejection; the transcript tells what happened
}

# Prints the queue id from "250 2.0.0 Ok: queued as ID" in a transcript.
e2e_queue_id() {
    tr -d '\r' <"$1" | sed -n 's/.*250 [0-9.]* *Ok: queued as \([0-9A-Za-z]*\).*/\1/p' | tail -n 1
}

e2e_delivered_to_sink() {
    local qid=$1
    grep -qE " $qid: to=<[^>]*>,.* status=sent " "$E2E_MAILLOG" 2>/dev/null
}

# e2e_expect_delivered ID [DESCRIPTION]: the client saw "queued as", Postfix relayed the
# message into the sink (bounded wait) and a copy exists; E2E_COPY is set to that copy.
e2e_expect_delivered() {
    local id=$1 what=${2:-$1}
    E2E_COPY=$E2E_DIR/delivered/$id.eml
    mkdir -p "$E2E_DIR/delivered"
    local qid
    qid=$(e2e_queue_id "$E2E_TX")
    if [ -z "$qid" ]; then
        e2e_fail "$what: accepted by Postfix (250 queued as)"
        e2e_show "$E2E_TX"
        e2e_show "$E2E_MILTER_LOG" 10
        rm -f "$E2E_COPY"
        return 1
    fi
    e2e_pass "$what: accepted by Postfix (queued as $qid)"
    local file=
    if e2e_wait_for "delivery of $qid" e2e_delivered_to_sink "$qid"; then
        file=$(e2e_sink_file_for "$id")
    fi
    if [ -n "$file" ]; then
        tr -d '\r' <"$file" >"$E2E_COPY"
        e2e_pass "$what: delivered to the sink"
    else
        e2e_fail "$what: delivered to the sink"
        grep -F "$qid" "$E2E_MAILLOG" 2>/dev/null | tail -n 5 | sed 's/^/    | /'
        rm -f "$E2E_COPY"
        return 1
    fi
}

# e2e_last_refusal: the last 4xx/5xx reply in the current transcript ($E2E_TX), without swaks's
# "<** " marker.
e2e_last_refusal() {
    tr -d '\r' <"$E2E_TX" | grep -E '^<\*\* +[45][0-9][0-9][ -]' | tail -n 1 | sed 's/^<\*\* *//'
}

# e2e_expect_refused ID REPLY-START REPLY-TEXT [DESCRIPTION]: the last 4xx/5xx reply the client
# saw starts with REPLY-START (e.g. "550 5.7.20" or "451 4.4.3") and contains REPLY-TEXT, and
# no copy reached the sink.
e2e_expect_refused() {
    local id=$1 start=$2 text=$3 what=${4:-$1}
    local reply
    reply=$(e2e_last_refusal)
    if [ -n "$reply" ] && [[ $reply == "$start "* ]] && [[ $reply == *"$text"* ]]; then
        e2e_pass "$what: client saw $reply"
    else
        e2e_fail "$what: client saw $start with '$text'"
        e2e_show "$E2E_TX"
    fi
    if [ -n "$(e2e_queue_id "$E2E_TX")" ] || [ -n "$(e2e_sink_file_for "$id")" ]; then
        e2e_fail "$what: nothing delivered"
    else
        e2e_pass "$what: nothing delivered"
    fi
}

# e2e_expect_rejected ID REPLY-TEXT [DESCRIPTION]: the client saw a 550 5.7.1 reply that
# contains REPLY-TEXT, and no copy reached the sink.
e2e_expect_rejected() {
    e2e_expect_refused "$1" "550 5.7.1" "$2" "${3:-$1}"
}

# Prints the value of the first header NAME in a delivered copy (headers only, unfolded).
e2e_header() {
    local file=$1 name=$2
    awk -v want="$(printf '%s' "$name" | tr '[:upper:]' '[:lower:]')" '
        /^$/ { exit }
        /^[ \t]/ { if (found && !done) value = value $0; next }
        { if (found) done = 1
          n = index($0, ":"); h = tolower(substr($0, 1, n - 1))
          if (!found && h == want) { found = 1; value = substr($0, n + 1); sub(/^[ \t]+/, "", value) } }
        END { if (found) print value; else exit 1 }' "$file"
}

# e2e_headers FILE NAME: every value of header NAME (headers only), one a line, unfolded, with
# each run of blanks made one space.
e2e_headers() {
    local file=$1 name=$2
    awk -v want="$(printf '%s' "$name" | tr '[:upper:]' '[:lower:]')" '
        function flush() {
            if (cur) { gsub(/[ \t]+/, " ", value); sub(/^ /, "", value); sub(/ $/, "", value); print value }
            cur = 0
        }
        /^$/ { flush(); exit }
        /^[ \t]/ { if (cur) value = value " " $0; next }
        { flush(); n = index($0, ":")
          if (tolower(substr($0, 1, n - 1)) == want) { cur = 1; value = substr($0, n + 1) } }
        END { flush() }' "$file"
}

# e2e_header_names FILE: the names of the headers of a delivered copy in order, lower case,
# without the lines smtp-sink adds on top (X-Client-Addr ... X-Rcpt-Args and its Received:).
e2e_header_names() {
    awk '
        function flush() {
            if (name != "" && name !~ /^x-(client-addr|client-proto|helo-args|mail-args|rcpt-args)$/ &&
                !(name == "received" && value ~ /by smtp-sink/)) print name
            name = ""
        }
        /^$/ { flush(); exit }
        /^[ \t]/ { value = value $0; next }
        { flush(); n = index($0, ":"); name = tolower(substr($0, 1, n - 1)); value = $0 }
        END { flush() }' "$1"
}

# e2e_our_authentication_results FILE: the Authentication-Results values of a copy that claim
# $E2E_AUTHSERV_ID (case-insensitive), one a line, unfolded.
e2e_our_authentication_results() {
    local id_re=${E2E_AUTHSERV_ID//./\\.}
    e2e_headers "$1" Authentication-Results | grep -iE "^${id_re}( |;|$)"
}

# assert_authentication_results FILE ERE [WHAT]: the copy carries exactly one
# Authentication-Results header under $E2E_AUTHSERV_ID, it is the first header of the message
# (above Postfix's own Received:), and its unfolded value matches ERE.
assert_authentication_results() {
    local file=$1 re=$2 what=${3:-$(basename "$1")}
    local ours n first
    ours=$(e2e_our_authentication_results "$file")
    n=$(printf '%s' "$ours" | grep -c .)
    if [ "$n" -eq 1 ]; then
        e2e_pass "$what: one Authentication-Results: $E2E_AUTHSERV_ID"
    else
        e2e_fail "$what: one Authentication-Results: $E2E_AUTHSERV_ID (found $n)"
        e2e_headers "$file" Authentication-Results | sed 's/^/    | /'
    fi
    first=$(e2e_header_names "$file" | head -n 1)
    if [ "$first" = authentication-results ]; then
        e2e_pass "$what: Authentication-Results is the first header"
    else
        e2e_fail "$what: Authentication-Results is the first header (the first is ${first:-none})"
        e2e_show "$file" 30
    fi
    if [ -n "$ours" ] && printf '%s\n' "$ours" | grep -qE -- "$re"; then
        e2e_pass "$what: $(printf '%s\n' "$ours" | head -n 1)"
    else
        e2e_fail "$what: Authentication-Results matches /$re/"
        printf '%s\n' "$ours" | sed 's/^/    | /'
    fi
}

# assert_header FILE NAME VALUE [DESCRIPTION]: the copy has header NAME with exactly VALUE.
assert_header() {
    local file=$1 name=$2 want=$3 what=${4:-"header $2: $3"}
    local got
    if got=$(e2e_header "$file" "$name" 2>/dev/null); then
        if [ "$got" = "$want" ]; then
            e2e_pass "$what"
        else
            e2e_fail "$what"
            printf '    header %s is "%s", expected "%s"\n' "$name" "$got" "$want"
        fi
    else
        e2e_fail "$what"
        printf '    no %s header in %s\n' "$name" "$file"
        e2e_show "$file" 20
    fi
}

# assert_no_header FILE NAME [DESCRIPTION]
assert_no_header() {
    local file=$1 name=$2 what=${3:-"no $2 header"}
    if [ ! -f "$file" ]; then
        e2e_fail "$what"
        printf '    %s is missing\n' "$file"
    elif e2e_header "$file" "$name" >/dev/null 2>&1; then
        e2e_fail "$what"
        printf '    %s has %s: %s\n' "$file" "$name" "$(e2e_header "$file" "$name")"
    else
        e2e_pass "$what"
    fi
}

# ---------------------------------------------------------------------------------------------
# A real DNS server in a private network namespace, and DKIM keys and signatures made by the
# test itself (tests/e2e/dns-auth.sh)

# e2e_enter_private_netns SCRIPT [ARG...]: unless already inside one, runs SCRIPT again (with
# bash, as root) in a new network and mount namespace and exits with its status: the script
# then has a network of its own (only a loopback, down until e2e_setup_private_netns) and its
# mounts (the resolv.conf bind mount) vanish with it. Skips when that cannot be done here.
e2e_enter_private_netns() {
    [ "${E2E_IN_NETNS:-}" = 1 ] && return 0
    [ "$(id -u)" -eq 0 ] || e2e_skip "needs root to create a private network namespace"
    export PATH="$PATH:/usr/sbin:/sbin"
    local tool why
    for tool in unshare mount ip; do
        command -v "$tool" >/dev/null 2>&1 || e2e_skip "$tool is not installed (util-linux, mount, iproute2)"
    done
    [ -f /etc/resolv.conf ] || e2e_skip "there is no /etc/resolv.conf to bind-mount the test's over"
    why=$(unshare --net --mount true 2>&1) || e2e_skip "cannot create a network and mount namespace here: $why"
    E2E_IN_NETNS=1 exec unshare --net --mount --propagation private -- "$BASH" "$@"
}

# Inside the namespace (after e2e_init): brings up the loopback and bind-mounts a resolv.conf
# that names only 127.0.0.1 (the test's DNS server) over /etc/resolv.conf. Refuses to touch
# /etc/resolv.conf when this process is not in a namespace of its own.
e2e_setup_private_netns() {
    local ns
    for ns in net mnt; do
        if [ "$(readlink "/proc/self/ns/$ns")" = "$(readlink /proc/1/ns/$ns)" ]; then
            e2e_die "not in a private $ns namespace (run the test through e2e_enter_private_netns)"
        fi
    done
    ip link set lo up || e2e_die "cannot bring up the loopback in the private network namespace"
    printf '# written by tests/e2e/lib.sh: only the test DNS server\nnameserver 127.0.0.1\n' \
        >"$E2E_DIR/resolv.conf"
    chmod 0644 "$E2E_DIR/resolv.conf"
    mount --bind "$E2E_DIR/resolv.conf" /etc/resolv.conf ||
        e2e_die "cannot bind-mount $E2E_DIR/resolv.conf over /etc/resolv.conf"
}

# e2e_private_dev_log SINK: inside the namespace, gives it a /dev/log as a production host has,
# served by SINK (tests/bench/log_sink.c, which counts the lines it throws away); without one,
# glibc's syslog(3) tries socket+connect for every line. The host's /dev is left alone: this
# mount namespace gets a tmpfs on /dev with the few device nodes the tests' programs use, a
# /dev/shm of its own and no terminals. Sets E2E_LOG_SINK_PID; the sink writes its count to
# $E2E_DIR/log-sink.count when stopped (e2e_stop_log_sink).
e2e_private_dev_log() {
    local sink=$1 node
    [ "$(readlink /proc/self/ns/mnt)" != "$(readlink /proc/1/ns/mnt)" ] ||
        e2e_die "not in a private mount namespace: /dev is not to be replaced here"
    mount -t tmpfs -o mode=0755,nosuid,size=1m e2e-dev /dev || e2e_die "cannot mount a tmpfs on /dev"
    for node in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9" "tty 5 0"; do
        # shellcheck disable=SC2086  # name, major and minor
        set -- $node
        mknod -m 0666 "/dev/$1" c "$2" "$3" || e2e_die "cannot make /dev/$1"
    done
    if ! { ln -s /proc/self/fd /dev/fd && ln -s fd/0 /dev/stdin && ln -s fd/1 /dev/stdout &&
        ln -s fd/2 /dev/stderr && mkdir -m 1777 /dev/shm &&
        mount -t tmpfs -o mode=1777,nosuid,nodev e2e-shm /dev/shm; }; then
        e2e_die "cannot populate the namespace's /dev"
    fi
    # glibc's syslog(3) blocks when the queue is full: room for bursts, as syslog daemons ask.
    echo 512 >/proc/sys/net/unix/max_dgram_qlen || e2e_die "cannot set net.unix.max_dgram_qlen"
    "$sink" /dev/log "$E2E_DIR/log-sink.count" 2>>"$E2E_DIR/log-sink.log" &
    E2E_LOG_SINK_PID=$!
    E2E_PIDS_TO_STOP+=("$E2E_LOG_SINK_PID")
    local i
    for ((i = 0; i < 50; i++)); do
        [ -S /dev/log ] && return 0
        sleep 0.1
    done
    e2e_die "the log sink did not bind /dev/log: $(cat "$E2E_DIR/log-sink.log" 2>/dev/null)"
}

# Stops the log sink of e2e_private_dev_log and sets E2E_LOG_LINES to the number of lines it
# received ("?" when it wrote none). Not for a subshell: the sink is this shell's child.
e2e_stop_log_sink() {
    E2E_LOG_LINES="?"
    [ -n "${E2E_LOG_SINK_PID:-}" ] || return 0
    kill -TERM "$E2E_LOG_SINK_PID" 2>/dev/null
    wait "$E2E_LOG_SINK_PID" 2>/dev/null
    E2E_LOG_SINK_PID=
    # shellcheck disable=SC2034  # read by the benchmarks
    [ -s "$E2E_DIR/log-sink.count" ] && E2E_LOG_LINES=$(cat "$E2E_DIR/log-sink.count")
    return 0
}

# Skips unless the DNS server and the DKIM tools are installed.
e2e_require_dns_tools() {
    export PATH="$PATH:/usr/sbin:/sbin"
    command -v dnsmasq >/dev/null 2>&1 || e2e_skip "dnsmasq is not installed (Debian package dnsmasq-base)"
    command -v opendkim-genkey >/dev/null 2>&1 ||
        e2e_skip "opendkim-genkey is not installed (Debian package opendkim-tools)"
    command -v dkimsign >/dev/null 2>&1 || e2e_skip "dkimsign is not installed (Debian package python3-dkim)"
}

# e2e_dns_query NAME [TYPE] [TIMEOUT]: asks the DNS server on 127.0.0.1:53 once over UDP
# (TYPE A, TXT or MX, default TXT; TIMEOUT seconds, default 1) and prints the response code and
# the number of answers ("NOERROR 1"), then each TXT answer as its string lengths and its text
# ("255,165 v=DKIM1; ..."). Prints "timeout" and returns 2 without an answer.
e2e_dns_query() {
    python3 - "$1" "${2:-TXT}" "${3:-1}" <<'EOF'
import random, socket, struct, sys

name, qtype, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
types = {"A": 1, "MX": 15, "TXT": 16}
qid = random.randrange(65536)
query = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
query += b"".join(bytes([len(label)]) + label.encode() for label in name.rstrip(".").split("."))
query += b"\0" + struct.pack(">HH", types[qtype], 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(timeout)
s.sendto(query, ("127.0.0.1", 53))
try:
    while True:
        reply = s.recv(65535)
        if reply[:2] == query[:2]:
            break
except (socket.timeout, ConnectionRefusedError):
    print("timeout")
    sys.exit(2)


def skip_name(at):
    while True:
        n = reply[at]
        if n == 0:
            return at + 1
        if n & 0xC0 == 0xC0:
            return at + 2
        at += 1 + n


rcode = reply[3] & 15
qdcount, ancount = struct.unpack(">HH", reply[4:8])
codes = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"]
print(codes[rcode] if rcode < len(codes) else rcode, ancount)
at = 12
for _ in range(qdcount):
    at = skip_name(at) + 4
for _ in range(ancount):
    at = skip_name(at)
    rtype, _, _, length = struct.unpack(">HHIH", reply[at:at + 10])
    data = reply[at + 10:at + 10 + length]
    at += 10 + length
    if rtype == 16:
        strings, i = [], 0
        while i < len(data):
            strings.append(data[i + 1:i + 1 + data[i]])
            i += 1 + data[i]
        print(",".join(str(len(x)) for x in strings), b"".join(strings).decode("ascii", "replace"))
EOF
}

# True when the DNS server on 127.0.0.1 answers (anything) within a second.
e2e_dns_answers() { e2e_dns_query probe.invalid A 1 >/dev/null 2>&1; }

# e2e_dnsmasq_txt NAME TEXT: prints the dnsmasq config-file line that publishes TEXT at NAME
# as one TXT record, cut into quoted strings of at most 255 characters (RFC 1035's limit for one
# character-string; a 2048-bit DKIM key spans several strings of one record). Only the config
# file strips the quotes: on dnsmasq's command line they would become part of the record.
e2e_dnsmasq_txt() {
    local name=$1 text=$2 line i
    case $text in
        *'"'* | *\\*) e2e_die "e2e_dnsmasq_txt: no quotes or backslashes in TXT data, please" ;;
    esac
    line="txt-record=$name"
    for ((i = 0; i < ${#text}; i += 255)); do
        line+=",\"${text:i:255}\""
    done
    printf '%s\n' "$line"
}

# e2e_start_dnsmasq CONF [DNSMASQ-OPTION...]: runs dnsmasq in the foreground as a background job
# on 127.0.0.1:53 (only inside a private network namespace) with CONF as its only config file
# (records, local= and server= lines), answering only from there: no upstream servers from
# resolv.conf, no /etc/hosts. Every query is logged to $E2E_DNSMASQ_LOG. Waits until it answers.
e2e_start_dnsmasq() {
    local conf=$1
    shift
    E2E_DNSMASQ_LOG=$E2E_DIR/dnsmasq.log
    dnsmasq --keep-in-foreground --conf-file="$conf" --no-resolv --no-hosts \
        --listen-address=127.0.0.1 --port=53 --bind-interfaces --user=root --pid-file= \
        --log-queries --log-facility="$E2E_DNSMASQ_LOG" "$@" >"$E2E_DIR/dnsmasq.out" 2>&1 &
    E2E_DNSMASQ_PID=$!
    E2E_PIDS_TO_STOP+=("$E2E_DNSMASQ_PID")
    local deadline=$((SECONDS + E2E_TIMEOUT))
    until e2e_dns_answers; do
        if ! kill -0 "$E2E_DNSMASQ_PID" 2>/dev/null; then
            e2e_show "$E2E_DIR/dnsmasq.out"
            e2e_show "$E2E_DNSMASQ_LOG"
            e2e_die "dnsmasq exited before it answered on 127.0.0.1:53"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            e2e_show "$E2E_DNSMASQ_LOG"
            e2e_die "dnsmasq did not answer on 127.0.0.1:53 within ${E2E_TIMEOUT}s"
        fi
        sleep 0.1
    done
}

# e2e_dkim_key DIR DOMAIN SELECTOR [BITS]: makes a new RSA key pair with opendkim-genkey:
# DIR/SELECTOR.private (PEM) and DIR/SELECTOR.txt (the TXT record, in zone-file syntax).
e2e_dkim_key() {
    local dir=$1 domain=$2 selector=$3 bits=${4:-1024}
    mkdir -p "$dir"
    opendkim-genkey -b "$bits" -d "$domain" -s "$selector" -D "$dir" >"$dir/$selector.genkey.out" 2>&1 || {
        e2e_show "$dir/$selector.genkey.out"
        e2e_die "opendkim-genkey failed for $selector._domainkey.$domain"
    }
}

# e2e_dkim_record DIR SELECTOR: prints the key record of DIR/SELECTOR.txt as one string (the
# quoted pieces of the zone-file syntax joined).
e2e_dkim_record() {
    tr -d '\n' <"$1/$2.txt" | grep -o '"[^"]*"' | tr -d '"\n'
}

# e2e_dkim_sign IN OUT DOMAIN SELECTOR KEYFILE: OUT is IN with a DKIM-Signature (rsa-sha256,
# relaxed/simple, dkimpy's default header set) by d=DOMAIN s=SELECTOR on top.
e2e_dkim_sign() {
    local in=$1 out=$2 domain=$3 selector=$4 key=$5
    if ! dkimsign "$selector" "$domain" "$key" <"$in" >"$out" 2>"$out.err" || [ ! -s "$out" ]; then
        e2e_show "$out.err"
        e2e_die "dkimsign failed for d=$domain s=$selector"
    fi
}

# ---------------------------------------------------------------------------------------------
# All in one: milter + sink + Postfix for a socket in the milter's spelling.

# e2e_start_stack unix|inet [CONFIG-ARGUMENT...]: writes the configs (the arguments go to
# e2e_write_milter_config), starts smtp-sink, the milter and Postfix.
e2e_start_stack() {
    local kind=$1 socket
    shift
    e2e_pick_ports
    case $kind in
        unix) socket="unix:$E2E_DIR/milter/milter.sock" ;;
        inet) socket="inet:$E2E_MILTER_PORT@127.0.0.1" ;;
        *) e2e_die "e2e_start_stack: unix or inet, not $kind" ;;
    esac
    e2e_write_milter_config "socket=$socket" "$@"
    e2e_write_postfix_config "$(e2e_postfix_milter_spec "$socket")"
    e2e_start_sink
    e2e_start_milter "$socket"
    e2e_start_postfix
    e2e_note "work dir $E2E_DIR; smtpd 127.0.0.1:$E2E_SMTP_PORT, sink 127.0.0.1:$E2E_SINK_PORT, milter $socket"
}
