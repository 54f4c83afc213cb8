#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# End-to-end test of the Redis counter backend (issue 8): two "MTAs", each a private Postfix with
# its own ecomm-milter (own socket, config and local counter table), share the counters of one
# real redis-server (started here on a free loopback port, with a password, no persistence).
#   1. shared rate: a registered sender's 40 messages within a minute, alternating over both
#      MTAs, get 30 delivered in total (not 30 per MTA); ecomm-milter-stats reads them from Redis
#   2. shared audience: a campaign whose two halves go through different MTAs crosses the
#      (lowered) bulk threshold only when both halves are counted together
#   3. Redis slow (SIGSTOP) and Redis away (SIGKILL): every message is still answered within the
#      Redis timeout plus a margin, each milter logs the outage once and counts in its own table
#      meanwhile; with Redis back (SIGCONT, or a new server on the same port) each logs "is back"
#      and counts in Redis again, without a restart
#   4. redis_unavailable = on_error (after a SIGUSR1 reload): while Redis is away the message gets
#      the on_error answer, 451 4.3.0
# Run by "make check" (env: top_srcdir, top_builddir, ECOMM_MILTER, ECOMM_MILTER_STATS);
# exit 77 = skipped (no root, Postfix, swaks, redis-server or redis-cli). Takes about 35 s (a
# minute on a busy machine).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
# [counters] redis_timeout of both milters: generous while the shared counts are compared (on a
# loaded machine a 50 ms call can time out, and the message is then counted in the local table,
# as it should), short for the outage scenarios, where it bounds the time a message may take.
REDIS_TIMEOUT_MS=1000
REDIS_OUTAGE_TIMEOUT_MS=50
REDIS_DB=3                  # not the default, so that SELECT is exercised
REDIS_PREFIX=e2e-redis:     # not the default, so that the prefix is exercised
SLOW_MARGIN_MS=1000         # what Postfix and swaks themselves may add to one SMTP session

# The registered senders of this test, each with a network of its own, so that every count
# below has one cause.
RATE_IP=203.0.113.66    # rate-test: the default 30 a minute, over both MTAs
BULK_IP=203.0.113.82    # bulk-test: a promotional sender's campaign
SLOW_IP=203.0.113.98    # slow-test: sends while Redis is stopped (SIGSTOP)
AWAY_IP=203.0.113.114   # away-test: sends while Redis is killed
PROBE_IP=203.0.113.130  # probe-test: messages that give a milter the occasion to try Redis again
FAIL_IP=203.0.113.146   # fail-test: sends while Redis is away and on_error applies

E2E_REGISTRY_EXTRA='# Added by tests/e2e/redis.sh.
[rate-test]
unit = Rate limit test
networks = 203.0.113.64/28
domains = rate.example.edu
identifier = rt55
return_path = ^rt55-[0-9]+@rate\.example\.edu$
category = transactional

[bulk-test]
unit = Campaign test
networks = 203.0.113.80/28
domains = bulk.example.edu
identifier = bk55
return_path = ^bk55-[0-9]+@bulk\.example\.edu$
category = promotional

[slow-test]
unit = Slow Redis test
networks = 203.0.113.96/28
domains = slow.example.edu
identifier = sl55
return_path = ^sl55-[0-9]+@slow\.example\.edu$
category = transactional

[away-test]
unit = Redis away test
networks = 203.0.113.112/28
domains = away.example.edu
identifier = aw55
return_path = ^aw55-[0-9]+@away\.example\.edu$
category = transactional

[probe-test]
unit = Reconnect probe
networks = 203.0.113.128/28
domains = probe.example.edu
identifier = pr55
return_path = ^pr55-[0-9]+@probe\.example\.edu$
category = transactional
rate = 6000

[fail-test]
unit = On-error test
networks = 203.0.113.144/28
domains = fail.example.edu
identifier = fl55
return_path = ^fl55-[0-9]+@fail\.example\.edu$
category = transactional'

E2E_DNS_EXTRA='# Added by tests/e2e/redis.sh.
rate.example.edu     TXT "v=spf1 ip4:203.0.113.64/28 -all"
bulk.example.edu     TXT "v=spf1 ip4:203.0.113.80/28 -all"
slow.example.edu     TXT "v=spf1 ip4:203.0.113.96/28 -all"
away.example.edu     TXT "v=spf1 ip4:203.0.113.112/28 -all"
probe.example.edu    TXT "v=spf1 ip4:203.0.113.128/28 -all"
fail.example.edu     TXT "v=spf1 ip4:203.0.113.144/28 -all"'

BULK_THRESHOLD=50
RATE_SENT=40
RATE_LIMIT=30
RATE_BATCH=10   # concurrent SMTP sessions

# ---------------------------------------------------------------------------------------------
# Two MTAs. lib.sh keeps one Postfix + milter in its E2E_* variables, under $E2E_DIR; each MTA
# here has its own copy of those variables and its own dir, $ROOT/mtaN (so $ROOT/mtaN/milter/
# counters is its local table and $ROOT/mtaN/milter.log its log). use_mta N switches to MTA N.
# The sink ($ROOT/sink) is shared.

ROOT=
MTA_VARS=(E2E_DIR E2E_POSTFIX_DIR E2E_POSTFIX_CONF E2E_MAILLOG E2E_SMTP_PORT E2E_MILTER_PORT
    E2E_MILTER_PID E2E_MILTER_LOG E2E_MILTER_SOCKET E2E_MILTER_CONF E2E_CONF_SOCKET)
declare -A MTA_STATE=()
MTA_CURRENT=
MTAS=()   # the MTAs set up so far

use_mta() {
    local n=$1 var
    [ "$n" = "$MTA_CURRENT" ] && return 0
    if [ -n "$MTA_CURRENT" ]; then
        for var in "${MTA_VARS[@]}"; do MTA_STATE[$MTA_CURRENT.$var]=${!var}; done
    fi
    for var in "${MTA_VARS[@]}"; do printf -v "$var" '%s' "${MTA_STATE[$n.$var]:-}"; done
    MTA_CURRENT=$n
}

# counters_extra UNAVAILABLE: the [counters] lines of the Redis backend.
counters_extra() {
    cat <<EOF
backend = redis
redis_server = 127.0.0.1:$REDIS_PORT
redis_database = $REDIS_DB
redis_prefix = $REDIS_PREFIX
redis_password_file = $REDIS_DIR/password
redis_timeout = $REDIS_TIMEOUT_MS
redis_connections = 4
redis_unavailable = $1
EOF
}

# write_config [UNAVAILABLE]: the current MTA's milter config (lib.sh's, threshold lowered,
# business hours always, counters in Redis with a timeout of $REDIS_TIMEOUT_MS).
write_config() {
    E2E_COUNTERS_EXTRA=$(counters_extra "${1:-table}") \
        e2e_write_milter_config bulk_threshold=$BULK_THRESHOLD business=always
}

# start_mta N: Postfix + milter of MTA N, relaying into the shared sink.
start_mta() {
    local n=$1 port
    use_mta "$n"
    E2E_DIR=$ROOT/mta$n
    mkdir -p "$E2E_DIR"
    chmod 0755 "$E2E_DIR"
    port=$(e2e_free_port) || e2e_die "no free port"
    while [ "$port" = "$E2E_SINK_PORT" ] || [ "$port" = "$REDIS_PORT" ] || [ "$port" = "${MTA_STATE[1.E2E_SMTP_PORT]:-}" ]; do
        port=$(e2e_free_port)
    done
    E2E_SMTP_PORT=$port
    local socket="unix:$E2E_DIR/milter/milter.sock"
    write_config table
    e2e_write_postfix_config "$(e2e_postfix_milter_spec "$socket")"
    MTAS+=("$n")
    e2e_start_milter "$socket"
    e2e_start_postfix
    e2e_note "MTA $n: smtpd 127.0.0.1:$E2E_SMTP_PORT, milter $socket, log $E2E_MILTER_LOG"
}

# ---------------------------------------------------------------------------------------------
# The Redis server

REDIS_PORT=
REDIS_PID=
REDIS_DIR=
REDIS_PASSWORD=

redis_cli() {
    REDISCLI_AUTH=$REDIS_PASSWORD timeout 10 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
}

redis_answers() { [ "$(redis_cli ping 2>/dev/null)" = PONG ]; }

# start_redis: a fresh redis-server on $REDIS_PORT (no persistence: a restart starts empty),
# password required; waits until it answers PING.
start_redis() {
    "$REDIS_SERVER" "$REDIS_DIR/redis.conf" >>"$REDIS_DIR/redis.out" 2>&1 &
    REDIS_PID=$!
    local deadline=$((SECONDS + E2E_TIMEOUT))
    until redis_answers; do
        if ! kill -0 "$REDIS_PID" 2>/dev/null; then
            e2e_show "$REDIS_DIR/redis.log"
            e2e_show "$REDIS_DIR/redis.out"
            e2e_die "redis-server exited before it answered on 127.0.0.1:$REDIS_PORT"
        fi
        [ "$SECONDS" -lt "$deadline" ] || e2e_die "redis-server did not answer within ${E2E_TIMEOUT}s"
        sleep 0.05
    done
}

setup_redis() {
    REDIS_DIR=$ROOT/redis
    mkdir -p "$REDIS_DIR"
    chmod 0700 "$REDIS_DIR"
    REDIS_PORT=$(e2e_free_port) || e2e_die "no free port"
    while [ "$REDIS_PORT" = "$E2E_SINK_PORT" ]; do REDIS_PORT=$(e2e_free_port); done
    REDIS_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    (umask 077 && printf '%s\n' "$REDIS_PASSWORD" >"$REDIS_DIR/password")
    chmod 0600 "$REDIS_DIR/password"
    (umask 077 && cat >"$REDIS_DIR/redis.conf" <<EOF
# Written by tests/e2e/redis.sh: loopback only, no persistence, a password.
bind 127.0.0.1
port $REDIS_PORT
daemonize no
save ""
appendonly no
dir $REDIS_DIR
logfile $REDIS_DIR/redis.log
requirepass $REDIS_PASSWORD
EOF
    )
    start_redis
    e2e_note "redis-server pid $REDIS_PID on 127.0.0.1:$REDIS_PORT (db $REDIS_DB, prefix $REDIS_PREFIX)"
}

# Stops the server (also when it is stopped by SIGSTOP: SIGCONT first).
stop_redis() {
    [ -n "$REDIS_PID" ] || return 0
    kill -CONT "$REDIS_PID" 2>/dev/null
    e2e_stop_pid "$REDIS_PID" redis-server
    wait "$REDIS_PID" 2>/dev/null
    REDIS_PID=
}

kill_redis() {
    kill -KILL "$REDIS_PID"
    wait "$REDIS_PID" 2>/dev/null
    REDIS_PID=
}

# Every exit path: the Redis server and every MTA (lib.sh's cleanup knows only the current one).
redis_cleanup() {
    local status=$? n
    stop_redis
    for n in "${MTAS[@]}"; do
        use_mta "$n"
        e2e_stop_postfix
        [ -z "$E2E_MILTER_PID" ] || e2e_stop_milter || true
    done
    E2E_DIR=$ROOT
    (exit "$status")
    e2e_cleanup
}

# ---------------------------------------------------------------------------------------------
# Helpers

STATS=

# stats_json OUT ARG...: runs ecomm-milter-stats --json ARG... into OUT (OUT.err: stderr, and
# the exit status when not 0).
stats_json() {
    local out=$1 rc
    shift
    timeout "$E2E_TIMEOUT" "$STATS" "$@" --json >"$out" 2>"$out.err"
    rc=$?
    [ "$rc" -eq 0 ] || echo "exit status $rc" >>"$out.err"
    return "$rc"
}

# sender_counts FILE KEY: "in_last_minute PENDING TOTAL" of the rate entry KEY in a stats JSON
# document, or "none"; "error: ..." when the file has no "senders" list. (awk, not python3: this
# runs a score of times, and python3's start-up costs a second on a busy machine.) It reads the
# tool's pretty-printed layout, one "name": value a line; another layout gives "error".
sender_counts() {
    awk -v want="\"key\": \"$2\"," '
        /^  "senders": \[/ { senders = 1 }
        index($0, want) { found = 1; next }
        found && /^ *}/ { exit }
        found { gsub(/[",]/, ""); counts[$1] = $2 }
        END {
            if (!senders) print "error: no senders list"
            else if (!found) print "none"
            else print counts["in_last_minute:"], counts["pending:"], counts["total:"]
        }' "$1" 2>&1
}

# assert_sender_counts WHAT OUT KEY IN_MINUTE PENDING TOTAL ARG...: ecomm-milter-stats ARG...
# shows the rate entry KEY with these counts ("-" for one not checked; "none": no such entry).
assert_sender_counts() {
    local what=$1 out=$2 key=$3 want_in=$4 want_pending=$5 want_total=$6
    shift 6
    stats_json "$out" "$@"
    local got in pending total ok=1
    got=$(sender_counts "$out" "$key")
    if [ "$want_in" = none ]; then
        [ "$got" = none ] || ok=0
    else
        read -r in pending total <<<"$got"
        [ "$want_in" = - ] || [ "$in" = "$want_in" ] || ok=0
        [ "$want_pending" = - ] || [ "$pending" = "$want_pending" ] || ok=0
        [ "$want_total" = - ] || [ "$total" = "$want_total" ] || ok=0
    fi
    if [ "$ok" = 1 ]; then
        e2e_pass "$what: $key: $got (in_last_minute pending total)"
    else
        e2e_fail "$what: $key: expected $want_in $want_pending $want_total (in_last_minute pending total), got: $got"
        e2e_show "$out" 30
        e2e_show "$out.err" 5
    fi
}

# Milter log lines (of the current MTA) after MARK that start an outage ("... unreachable (why):
# counting in the local table until it is back") and that end one ("... is back after N ms").
outage_lines() { e2e_log_since "$1" | grep -F unreachable; }
back_lines() { e2e_log_since "$1" | grep -F 'is back' | grep -vF unreachable; }
has_back_line() { back_lines "$1" | grep -q .; }

# assert_one_outage WHAT MARK HOW: exactly one outage line after MARK, saying HOW.
assert_one_outage() {
    local what=$1 mark=$2 how=$3 n
    e2e_wait_for "an outage line in MTA $MTA_CURRENT's log" e2e_log_since_has "$mark" -F unreachable
    n=$(outage_lines "$mark" | grep -c .)
    if [ "$n" -eq 1 ] && outage_lines "$mark" | grep -qF -- "$how"; then
        e2e_pass "$what: MTA $MTA_CURRENT logged the outage once: $(outage_lines "$mark" | head -n 1 | cut -c1-200)"
    else
        e2e_fail "$what: MTA $MTA_CURRENT logged the outage once, with '$how' (found $n lines)"
        e2e_log_since "$mark" | grep -iE 'redis|unreachable|back' | head -n 10 | sed 's/^/    | /'
    fi
}

# assert_one_back WHAT MARK: exactly one "is back" line after MARK.
assert_one_back() {
    local what=$1 mark=$2 n
    n=$(back_lines "$mark" | grep -c .)
    if [ "$n" -eq 1 ]; then
        e2e_pass "$what: MTA $MTA_CURRENT logged once that Redis is back: $(back_lines "$mark" | cut -c1-200)"
    else
        e2e_fail "$what: MTA $MTA_CURRENT logged once that Redis is back (found $n lines)"
        e2e_log_since "$mark" | grep -iE 'redis|unreachable|back' | head -n 10 | sed 's/^/    | /'
    fi
}

PROBES=0

# await_back MARK: Redis is answering again; sends probe-test messages through the current MTA,
# one at a time, until its milter logs that Redis is back (the milter tries Redis again only when
# a message needs the counters and its reconnect backoff, at most 5 s, has passed). Bounded by
# E2E_TIMEOUT; returns 1 when the line never came.
await_back() {
    local mark=$1 deadline=$((SECONDS + E2E_TIMEOUT)) sent=0
    until has_back_line "$mark"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            e2e_note "MTA $MTA_CURRENT: no 'is back' after $sent probe messages"
            return 1
        fi
        PROBES=$((PROBES + 1))
        sent=$((sent + 1))
        e2e_send "probe-$PROBES" "$PROBE_IP" "pr55-$PROBES@probe.example.edu" news@probe.example.edu "Probe $PROBES"
        has_back_line "$mark" && break
        sleep 0.25   # pacing only: the milter's backoff decides when it tries again
    done
    e2e_note "MTA $MTA_CURRENT: Redis back after $sent probe message(s)"
}

# send_timed ID IP MAIL_FROM HEADER_FROM: sends through the current MTA and remembers the
# longest SMTP session so far in MAX_SEND_MS (and which message it was).
MAX_SEND_MS=0
MAX_SEND_ID=
send_timed() {
    local id=$1
    e2e_send "$id" "$2" "$3" "$4" "Redis outage test $id"
    if [ "$E2E_SEND_MS" -gt "$MAX_SEND_MS" ]; then
        MAX_SEND_MS=$E2E_SEND_MS
        MAX_SEND_ID=$id
    fi
}

# assert_answered_promptly WHAT: no message since the last reset took longer than the Redis
# timeout plus the margin.
assert_answered_promptly() {
    local what=$1 limit=$((REDIS_TIMEOUT_MS + SLOW_MARGIN_MS))
    if [ "$MAX_SEND_MS" -le "$limit" ]; then
        e2e_pass "$what: every SMTP session took at most $limit ms (longest $MAX_SEND_MS ms, $MAX_SEND_ID)"
    else
        e2e_fail "$what: every SMTP session took at most $limit ms (longest $MAX_SEND_MS ms, $MAX_SEND_ID)"
    fi
    MAX_SEND_MS=0
    MAX_SEND_ID=
}

# ---------------------------------------------------------------------------------------------
# 1. shared rate

scenario_shared_rate() {
    e2e_say "# shared rate: $RATE_SENT messages within a minute from one sender, alternating over both MTAs (limit $RATE_LIMIT)"
    local i j m id t0 elapsed_ms pattern='' other=0 reply
    local -A accepted_by=([1]=0 [2]=0) deferred_by=([1]=0 [2]=0)
    local -A marks=()
    for m in 1 2; do use_mta "$m"; marks[$m]=$(e2e_log_mark); done
    mkdir -p "$ROOT/msg"
    for ((i = 1; i <= RATE_SENT; i++)); do
        id=$(printf 'rate-%02d' "$i")
        e2e_write_message "$ROOT/msg/$id.eml" "$id" news@rate.example.edu "Rate test $i"
    done
    t0=$(e2e_now_ms)
    local senders=()
    for ((i = 1; i <= RATE_SENT; i += RATE_BATCH)); do
        senders=()
        for ((j = i; j < i + RATE_BATCH && j <= RATE_SENT; j++)); do
            id=$(printf 'rate-%02d' "$j")
            m=$(((j - 1) % 2 + 1))
            (use_mta "$m" && e2e_send_file "$id" "$RATE_IP" "rt55-$j@rate.example.edu" "$ROOT/msg/$id.eml") &
            senders+=($!)
        done
        wait "${senders[@]}"   # only these: the sink, Redis and the milters are children too
    done
    elapsed_ms=$(($(e2e_now_ms) - t0))
    for ((i = 1; i <= RATE_SENT; i++)); do
        m=$(((i - 1) % 2 + 1))
        E2E_TX=$ROOT/mta$m/tx/$(printf 'rate-%02d' "$i").txt
        reply=$(e2e_last_refusal)
        if [ -n "$(e2e_queue_id "$E2E_TX")" ]; then
            pattern+=A
            accepted_by[$m]=$((accepted_by[$m] + 1))
        elif [[ $reply == "451 4.7.1 "* ]]; then
            pattern+=D
            deferred_by[$m]=$((deferred_by[$m] + 1))
        else
            pattern+='?'
            other=$((other + 1))
            [ "$other" -le 2 ] && e2e_show "$E2E_TX" 15
        fi
    done
    e2e_note "rate: sent in ${elapsed_ms} ms: $pattern (A accepted, D deferred; odd ones via MTA 1)"
    e2e_note "rate: MTA 1 accepted ${accepted_by[1]}, deferred ${deferred_by[1]}; MTA 2 accepted ${accepted_by[2]}, deferred ${deferred_by[2]}"
    if [ "$elapsed_ms" -ge 60000 ]; then
        e2e_fail "rate: the $RATE_SENT messages went out within a minute (took ${elapsed_ms} ms)"
    fi
    local accepted=${pattern//[^A]/} deferred=${pattern//[^D]/}
    if [ "${#accepted}" -eq "$RATE_LIMIT" ] && [ "${#deferred}" -eq $((RATE_SENT - RATE_LIMIT)) ]; then
        e2e_pass "rate: $RATE_LIMIT accepted over both MTAs together, the other $((RATE_SENT - RATE_LIMIT)) deferred with 451 4.7.1"
    else
        e2e_fail "rate: $RATE_LIMIT accepted over both MTAs together, the other $((RATE_SENT - RATE_LIMIT)) deferred (got ${#accepted} accepted, ${#deferred} deferred: $pattern)"
    fi
    if [ "${accepted_by[1]}" -gt 0 ] && [ "${accepted_by[2]}" -gt 0 ]; then
        e2e_pass "rate: both MTAs accepted some of them"
    else
        e2e_fail "rate: both MTAs accepted some of them (MTA 1 ${accepted_by[1]}, MTA 2 ${accepted_by[2]})"
    fi

    # Every accepted one relayed (a deferred one never had a queue file): the sink is complete.
    local qid delivered
    for ((i = 1; i <= RATE_SENT; i++)); do
        m=$(((i - 1) % 2 + 1))
        use_mta "$m"
        qid=$(e2e_queue_id "$E2E_DIR/tx/$(printf 'rate-%02d' "$i").txt")
        [ -z "$qid" ] || e2e_wait_for "delivery of $qid" e2e_delivered_to_sink "$qid" || break
    done
    delivered=$(e2e_sink_ids rate- | grep -c .)
    if [ "$delivered" -eq "$RATE_LIMIT" ]; then
        e2e_pass "rate: $delivered messages delivered to the sink"
    else
        e2e_fail "rate: $RATE_LIMIT messages delivered to the sink (found $delivered)"
    fi

    local tempfail_re='action=tempfail rule=rate( |$).*sender=rate-test' n total=0
    for m in 1 2; do
        use_mta "$m"
        n=$(e2e_log_since "${marks[$m]}" | grep -cE -- "$tempfail_re")
        total=$((total + n))
        if [ "$n" -eq "${deferred_by[$m]}" ]; then
            e2e_pass "rate: MTA $m's milter logged $n rule=rate tempfails, one per deferral it answered"
        else
            e2e_fail "rate: MTA $m's milter logged ${deferred_by[$m]} rule=rate tempfails (found $n)"
        fi
    done

    # Both milters' configs name the same Redis: the stats tool shows the same 30 through either.
    for m in 1 2; do
        use_mta "$m"
        assert_sender_counts "rate: ecomm-milter-stats -c (MTA $m's config) reads Redis" \
            "$ROOT/stats-rate-$m.json" sender:rate-test "$RATE_LIMIT" 0 "$RATE_LIMIT" -c "$E2E_MILTER_CONF"
        # Nothing went to the local table while Redis answered.
        assert_sender_counts "rate: MTA $m's local table did not count them" \
            "$ROOT/stats-rate-local-$m.json" sender:rate-test none - - -c "$E2E_MILTER_CONF" --file "$E2E_DIR/milter/counters"
    done

    # The counters are where the config says: database $REDIS_DB, under the prefix.
    local keys
    keys=$(redis_cli -n "$REDIS_DB" --scan --pattern "${REDIS_PREFIX}*" 2>/dev/null | grep -c .)
    if [ "$keys" -gt 0 ] && [ "$(redis_cli -n 0 dbsize 2>/dev/null)" = 0 ]; then
        e2e_pass "rate: the counters are in Redis database $REDIS_DB under $REDIS_PREFIX ($keys keys), none in database 0"
    else
        e2e_fail "rate: the counters are in Redis database $REDIS_DB under $REDIS_PREFIX (found $keys keys; database 0 holds $(redis_cli -n 0 dbsize 2>&1))"
        redis_cli -n "$REDIS_DB" --scan 2>&1 | head -n 5 | sed 's/^/    | /'
    fi
}

# ---------------------------------------------------------------------------------------------
# 2. shared audience

# send_campaign MTA ID CAMPAIGN FIRST LAST: one promotional message of bulk-test through MTA with
# "Feedback-ID: CAMPAIGN:spring:bulk-test:esp" to CAMPAIGN-rFIRST@example.edu ...
# CAMPAIGN-rLAST@example.edu, in one transaction.
send_campaign() {
    local m=$1 id=$2 campaign=$3 first=$4 last=$5 rcpts
    use_mta "$m"
    rcpts=$(seq -f "$campaign-r%g@example.edu" "$first" "$last" | paste -sd, -)
    mkdir -p "$ROOT/msg"
    e2e_write_message "$ROOT/msg/$id.eml" "$id" news@bulk.example.edu "Spring appeal" \
        "Feedback-ID: $campaign:spring:bulk-test:esp" \
        "List-Unsubscribe: <https://bulk.example.edu/u/$id>" \
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click"
    E2E_RCPT=$rcpts e2e_send_file "$id" "$BULK_IP" "bk55-$RANDOM@bulk.example.edu" "$ROOT/msg/$id.eml"
}

scenario_shared_audience() {
    local half=$((BULK_THRESHOLD * 3 / 5)) total
    total=$((2 * half))
    e2e_say "# shared audience: campaign-1, $half recipients through each MTA, threshold $BULK_THRESHOLD"
    local mark2
    use_mta 2
    mark2=$(e2e_log_mark)

    send_campaign 1 bulk-c1-first campaign-1 1 "$half"
    e2e_expect_delivered bulk-c1-first "audience: MTA 1, the first $half recipients (under the threshold)"

    send_campaign 2 bulk-c1-second campaign-1 $((half + 1)) "$total"
    e2e_expect_refused bulk-c1-second "451 4.7.0" "IV.B.3.c.iv" \
        "audience: MTA 2, $half more recipients ($total in all, counted across both MTAs)"
    e2e_wait_log "$mark2" 'action=tempfail rule=bulk-hours( |$).*sender=bulk-test' \
        "audience: MTA 2's milter logged action=tempfail rule=bulk-hours"
    local warnings
    warnings=$(e2e_log_since "$mark2" | grep -cE 'warning=bulk-hours campaign=[^ ]*campaign-1:')
    if [ "$warnings" -eq 1 ]; then
        e2e_pass "audience: MTA 2 logged the first crossing once"
    else
        e2e_fail "audience: MTA 2 logged the first crossing once (found $warnings)"
    fi

    # The estimate is Redis's: about all $total recipients, held (business hours are "always").
    local out=$ROOT/stats-campaign.json verdict rc
    stats_json "$out" -c "$E2E_MILTER_CONF"
    verdict=$(python3 - "$out" "$total" <<'EOF'
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    sys.exit("not JSON: %s" % e)
want = int(sys.argv[2])
for c in doc.get("campaigns", []):
    if "campaign-1:" in c.get("key", ""):
        print("estimate %s held %s sender %s" % (c.get("estimate"), c.get("held"), c.get("sender")))
        ok = c.get("sender") == "bulk-test" and abs(c.get("estimate", 0) - want) <= 1 and c.get("held") is True
        sys.exit(0 if ok else 1)
sys.exit("no campaign-1 among %s" % [c.get("key") for c in doc.get("campaigns", [])])
EOF
    )
    rc=$?
    if [ "$rc" -eq 0 ]; then
        e2e_pass "audience: ecomm-milter-stats shows campaign-1 from Redis: $verdict"
    else
        e2e_fail "audience: ecomm-milter-stats shows campaign-1 held with an estimate of $total +-1 ($verdict)"
        e2e_show "$out" 30
        e2e_show "$out.err" 5
    fi

    # Neither local table knows the campaign: alone, each MTA saw only $half recipients.
    local m n
    for m in 1 2; do
        use_mta "$m"
        out=$ROOT/stats-campaign-local-$m.json
        stats_json "$out" -c "$E2E_MILTER_CONF" --file "$E2E_DIR/milter/counters"
        n=$(grep -c 'campaign-1:' "$out" 2>/dev/null)
        if [ "${n:-0}" -eq 0 ]; then
            e2e_pass "audience: MTA $m's local table has no campaign-1"
        else
            e2e_fail "audience: MTA $m's local table has no campaign-1"
            e2e_show "$out" 20
        fi
    done
}

# ---------------------------------------------------------------------------------------------
# 3. Redis slow, then away

# Both milters reload (SIGUSR1) with the short Redis timeout.
shorten_timeout() {
    local m mark
    REDIS_TIMEOUT_MS=$REDIS_OUTAGE_TIMEOUT_MS
    for m in 1 2; do
        use_mta "$m"
        mark=$(e2e_log_mark)
        write_config table
        if e2e_reload_milter && e2e_log_since_has "$mark" -F 'reloaded configuration'; then
            e2e_pass "MTA $m reloaded with redis_timeout = $REDIS_TIMEOUT_MS"
        else
            e2e_fail "MTA $m reloaded with redis_timeout = $REDIS_TIMEOUT_MS"
            e2e_log_since "$mark" | tail -n 5 | sed 's/^/    | /'
        fi
    done
}

# send_during_outage TAG IP LOCAL DOMAIN KEY WHILE_IS WHILE_WAS: during an outage, each MTA
# sends 3 messages from IP (TAG-i-m, LOCAL-im@DOMAIN): all answered promptly, all accepted,
# the outage logged once per milter (since the caller's marks[m]), and each MTA's local table
# counting its 3 under KEY.
send_during_outage() {
    local tag=$1 ip=$2 local_part=$3 domain=$4 key=$5 while_is=$6 while_was=$7 m i n
    MAX_SEND_MS=0
    for i in 1 2 3; do
        for m in 1 2; do
            use_mta "$m"
            send_timed "$tag-$i-$m" "$ip" "$local_part-$i$m@$domain" "news@$domain"
        done
    done
    assert_answered_promptly "$tag: 6 messages while $while_is"
    for m in 1 2; do
        use_mta "$m"
        n=0
        for i in 1 2 3; do
            E2E_TX=$E2E_DIR/tx/$tag-$i-$m.txt
            [ -n "$(e2e_queue_id "$E2E_TX")" ] && n=$((n + 1))
        done
        if [ "$n" -eq 3 ]; then
            e2e_pass "$tag: MTA $m accepted its 3 messages while $while_was"
        else
            e2e_fail "$tag: MTA $m accepted its 3 messages while $while_was (accepted $n)"
            e2e_show "$E2E_TX" 10
        fi
        assert_one_outage "$tag" "${marks[$m]}" "counting in the local table"
        assert_sender_counts "$tag: MTA $m's local table counted them" \
            "$ROOT/stats-$tag-local-$m.json" "$key" 3 0 3 -c "$E2E_MILTER_CONF" --file "$E2E_DIR/milter/counters"
    done
}

scenario_redis_slow() {
    e2e_say "# Redis slow: redis-server stopped with SIGSTOP, then continued"
    local m i n
    local -A marks=()
    # One message each through both MTAs first, counted in Redis.
    for m in 1 2; do
        use_mta "$m"
        send_timed "slow-0-$m" "$SLOW_IP" "sl55-$m@slow.example.edu" news@slow.example.edu
        e2e_expect_delivered "slow-0-$m" "slow: MTA $m, before the outage"
        marks[$m]=$(e2e_log_mark)
    done
    kill -STOP "$REDIS_PID"
    send_during_outage slow "$SLOW_IP" sl55 slow.example.edu sender:slow-test "Redis is stopped" "Redis was stopped"
    kill -CONT "$REDIS_PID"
    for m in 1 2; do
        use_mta "$m"
        if await_back "${marks[$m]}"; then
            e2e_pass "slow: MTA $m uses Redis again after SIGCONT, without a restart"
        else
            e2e_fail "slow: MTA $m uses Redis again after SIGCONT, without a restart"
            e2e_log_since "${marks[$m]}" | grep -iE 'redis|unreachable|back' | tail -n 5 | sed 's/^/    | /'
        fi
    done
    for m in 1 2; do
        use_mta "$m"
        for i in 4 5; do
            send_timed "slow-$i-$m" "$SLOW_IP" "sl55-$i$m@slow.example.edu" news@slow.example.edu
            e2e_expect_delivered "slow-$i-$m" "slow: MTA $m after Redis is back"
        done
        assert_one_back "slow" "${marks[$m]}"
        assert_one_outage "slow, after the end" "${marks[$m]}" "counting in the local table"
    done
    # In Redis: the 2 before and the 4 after, committed. (A reservation sent just before the
    # SIGSTOP and timed out may have run when the server continued: it stays pending, on the
    # side of the limit, until its minute is over; in_last_minute and pending are not checked.)
    assert_sender_counts "slow: Redis counted the messages before and after the outage" \
        "$ROOT/stats-slow.json" sender:slow-test - - 6 -c "$E2E_MILTER_CONF"
    e2e_note "slow: in Redis now: $(sender_counts "$ROOT/stats-slow.json" sender:slow-test) (in_last_minute pending total)"
    for m in 1 2; do
        use_mta "$m"
        assert_sender_counts "slow: MTA $m's local table still has only the outage's 3" \
            "$ROOT/stats-slow-local-after-$m.json" sender:slow-test 3 0 3 -c "$E2E_MILTER_CONF" --file "$E2E_DIR/milter/counters"
    done
}

scenario_redis_away() {
    e2e_say "# Redis away: redis-server killed, then a new one on the same port"
    local m i n
    local -A marks=()
    for m in 1 2; do use_mta "$m"; marks[$m]=$(e2e_log_mark); done
    kill_redis
    use_mta 1
    check_command "-n while Redis is away: a warning, not an error" \
        "warning: redis 127.0.0.1:$REDIS_PORT: connection refused (the milter would start and count in its table"
    send_during_outage away "$AWAY_IP" aw55 away.example.edu sender:away-test "Redis is away" "Redis was away"
    e2e_wait_for "the sink to get the 6 away messages" e2e_sink_count_at_least away- 6 ||
        e2e_fail "away: the 6 messages reached the sink"

    start_redis   # empty: no persistence
    e2e_note "away: a new redis-server (pid $REDIS_PID) on the same port"
    for m in 1 2; do
        use_mta "$m"
        if await_back "${marks[$m]}"; then
            e2e_pass "away: MTA $m reconnected to the new server, without a restart"
        else
            e2e_fail "away: MTA $m reconnected to the new server, without a restart"
            e2e_log_since "${marks[$m]}" | grep -iE 'redis|unreachable|back' | tail -n 5 | sed 's/^/    | /'
        fi
    done
    for m in 1 2; do
        use_mta "$m"
        for i in 4 5; do
            send_timed "away-$i-$m" "$AWAY_IP" "aw55-$i$m@away.example.edu" news@away.example.edu
            e2e_expect_delivered "away-$i-$m" "away: MTA $m after Redis is back"
        done
        assert_one_back "away" "${marks[$m]}"
    done
    # The new server knows exactly the 4 messages sent since (its scripts loaded anew).
    assert_sender_counts "away: the new Redis counted the 4 messages sent since" \
        "$ROOT/stats-away.json" sender:away-test 4 0 4 -c "$E2E_MILTER_CONF"
    for m in 1 2; do
        use_mta "$m"
        assert_sender_counts "away: MTA $m's local table still has only the outage's 3" \
            "$ROOT/stats-away-local-after-$m.json" sender:away-test 3 0 3 -c "$E2E_MILTER_CONF" --file "$E2E_DIR/milter/counters"
    done
}

# ---------------------------------------------------------------------------------------------
# 4. redis_unavailable = on_error

scenario_on_error() {
    e2e_say "# redis_unavailable = on_error (on_error = tempfail) on MTA 1, table on MTA 2; Redis away"
    local mark1 mark2
    kill_redis
    use_mta 1
    mark1=$(e2e_log_mark)
    write_config on_error
    if e2e_reload_milter && e2e_log_since_has "$mark1" -F 'reloaded configuration'; then
        e2e_pass "on_error: MTA 1 reloaded its config (SIGUSR1) while Redis was away"
    else
        e2e_fail "on_error: MTA 1 reloaded its config (SIGUSR1) while Redis was away"
        e2e_log_since "$mark1" | tail -n 5 | sed 's/^/    | /'
    fi
    use_mta 2
    mark2=$(e2e_log_mark)

    MAX_SEND_MS=0
    use_mta 1
    send_timed fail-1 "$FAIL_IP" fl55-1@fail.example.edu news@fail.example.edu
    e2e_expect_refused fail-1 "451 4.3.0" "" "on_error: MTA 1 answers with on_error while Redis is away"
    assert_one_outage "on_error" "$mark1" "on_error applies"
    use_mta 2
    send_timed fail-2 "$FAIL_IP" fl55-2@fail.example.edu news@fail.example.edu
    e2e_expect_delivered fail-2 "on_error: MTA 2 (redis_unavailable = table) still counts locally"
    assert_one_outage "on_error, MTA 2" "$mark2" "counting in the local table"
    assert_answered_promptly "on_error: while Redis is away"

    start_redis
    use_mta 1
    if await_back "$mark1"; then
        e2e_pass "on_error: MTA 1 uses Redis again once it is back"
    else
        e2e_fail "on_error: MTA 1 uses Redis again once it is back"
    fi
    send_timed fail-3 "$FAIL_IP" fl55-3@fail.example.edu news@fail.example.edu
    e2e_expect_delivered fail-3 "on_error: MTA 1 after Redis is back"
}

# ---------------------------------------------------------------------------------------------
# The postmaster's commands: ecomm-milter -n says whether Redis answers (a warning, exit 0, when
# it does not), and ecomm-milter-stats' text report names the server.

# check_command WHAT WANT: ecomm-milter -n on the current MTA's config exits 0 and says WANT.
check_command() {
    local what=$1 want=$2 out=$ROOT/check-$MTA_CURRENT.err rc
    timeout "$E2E_TIMEOUT" "$ECOMM_MILTER" -n -c "$E2E_MILTER_CONF" 2>"$out"
    rc=$?
    if [ "$rc" -eq 0 ] && grep -qF -- "$want" "$out"; then
        e2e_pass "$what: $(grep -F -- "$want" "$out" | head -n 1 | cut -c1-200)"
    else
        e2e_fail "$what (exit status $rc, expected 0 and \"$want\")"
        sed 's/^/    | /' "$out" | head -n 5
    fi
}

scenario_commands() {
    use_mta 1
    check_command "-n: Redis answers" "redis 127.0.0.1:$REDIS_PORT db $REDIS_DB answers"
    local out=$ROOT/stats-text.out
    timeout "$E2E_TIMEOUT" "$STATS" -c "$E2E_MILTER_CONF" >"$out" 2>&1
    if grep -qxF "counters in redis 127.0.0.1:$REDIS_PORT db $REDIS_DB prefix $REDIS_PREFIX" "$out" &&
        grep -qE '^rate entries: [0-9]+, campaigns: [0-9]+$' "$out"; then
        e2e_pass "stats: the text report names the Redis server and counts its entries"
    else
        e2e_fail "stats: the text report names the Redis server and counts its entries"
        sed 's/^/    | /' "$out" | head -n 5
    fi
}

# ---------------------------------------------------------------------------------------------

e2e_require_postfix
e2e_require_milter
[ -x "$REDIS_SERVER" ] || e2e_skip "$REDIS_SERVER is not installed (Debian package redis-server)"
command -v redis-cli >/dev/null 2>&1 || e2e_skip "redis-cli is not installed (Debian package redis-tools)"
STATS=${ECOMM_MILTER_STATS:-"${top_builddir:-.}/ecomm-milter-stats"}
[ -x "$STATS" ] || e2e_die "ecomm-milter-stats not found or not executable: $STATS"

e2e_init e2e-redis
ROOT=$E2E_DIR
trap redis_cleanup EXIT
started=$SECONDS
E2E_SINK_PORT=$(e2e_free_port) || e2e_die "no free port"
e2e_start_sink
setup_redis
start_mta 1
start_mta 2
e2e_note "work dir $ROOT; sink 127.0.0.1:$E2E_SINK_PORT"

# timed SCENARIO: runs it and notes how long it took.
timed() {
    local t0
    t0=$(e2e_now_ms)
    "$@"
    e2e_note "$1 took $(($(e2e_now_ms) - t0)) ms"
}

timed scenario_shared_rate
timed scenario_shared_audience
timed scenario_commands
for m in 1 2; do
    use_mta "$m"
    assert_not_contains "$E2E_MILTER_LOG" unreachable "MTA $m: no Redis outage while Redis was up"
done
shorten_timeout
timed scenario_redis_slow
timed scenario_redis_away
timed scenario_on_error

for m in 1 2; do
    use_mta "$m"
    e2e_stop_postfix
    assert_true "MTA $m: the milter stops cleanly on SIGTERM" e2e_stop_milter
done
stop_redis
e2e_note "redis.sh took $((SECONDS - started)) s; $PROBES probe messages"
E2E_DIR=$ROOT
e2e_summary
