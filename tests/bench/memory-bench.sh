#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The memory benchmark of issue 7: ecomm-milter's peak RSS must not grow with the size of a
# message nor with the number of messages processed, and the milter must not leak.  milter_load
# (tests/bench/milter_load.cpp) plays the MTA over a unix socket, with the setup of
# protocol-bench.sh (tests/bench/bench-lib.sh): a private network namespace whose dnsmasq
# serves the SPF records and 2048-bit DKIM keys, ecomm-milter with every check on, messages
# signed here.  Three parts:
#
# 1. Size.  For each size (10 KB, 1 MB, 10 MB, 100 MB) and each kind of message
#      text        plain text (7bit, with a link every 40 lines) from the registered sender
#                  marketing-cloud, DKIM-signed by e.example.edu;
#      attachment  a short text part and a base64 application/pdf attachment, multipart/mixed,
#                  from an outside sender, DKIM-signed by outside.test (large attachments come
#                  from outside: the attachments rule would refuse them from a registered
#                  sender)
#    a fresh milter is started, its VmRSS read once it listens, the message sent SENDS times
#    (one connection each, as Postfix does; body chunks of 65,535 bytes), then VmHWM (peak RSS)
#    and VmRSS read from /proc/PID/status.  Every message must be accepted with an
#    Authentication-Results header saying dkim=pass.  Neither ecomm-milter nor libmilter has a
#    message size limit (Postfix's message_size_limit is the MTA's business), so 100 MB passes.
# 2. Count.  One fresh milter gets the protocol benchmark's mix (5 KB signed, 60 KB HTML
#    newsletter, 5 KB unsigned from outside, 5 KB signed to 50 recipients; the 1 MB type is left
#    to part 1) over 10 connections, one message per connection, in batches up to 1,000,
#    10,000, 50,000 and 100,000 messages; after each batch (and before the first) VmRSS, VmHWM,
#    RssAnon, threads and open descriptors are read.  "Does not grow": VmRSS after the last
#    batch against after the second (10,000: the allocator's arenas are warm by then).
# 3. Leaks.  The ASan+UBSan build (ECOMM_MILTER_ASAN) with ASAN_OPTIONS=detect_leaks=1 gets
#    ASAN_MESSAGES messages of the mix and is stopped with SIGTERM: its log must hold no
#    "ERROR: LeakSanitizer" (nor any other sanitizer error) and it must exit 0.  The normal build
#    runs under valgrind memcheck --leak-check=full for VALGRIND_MESSAGES messages of the mix,
#    then SIGTERM: "definitely lost" and "indirectly lost" must be 0 bytes and memcheck must
#    report no error; "possibly lost" may only hold the thread-local blocks of libmilter's
#    threads still running at exit (one per thread, whatever the number of messages); still
#    reachable is shown as it is.  No suppressions are needed (tests/bench/memory-bench.supp,
#    if it exists, is passed to valgrind: one comment per entry, please).
#
# Run (as root, from the source tree or a build dir):
#   ECOMM_MILTER=/tmp/b/ecomm-milter tests/bench/memory-bench.sh
# Environment (defaults in brackets):
#   ECOMM_MILTER         the ecomm-milter binary [$top_builddir/ecomm-milter]
#   ECOMM_MILTER_ASAN    an ASan build's ecomm-milter (configure --enable-sanitizers) [none];
#                        without one the LeakSanitizer check is skipped (the report says so)
#   MILTER_LOAD          a prebuilt milter_load [built here]
#   BENCH_SIZES   [10k 1m 10m 100m]   BENCH_KINDS [text attachment]   BENCH_SENDS [3]
#   BENCH_COUNTS  [1000 10000 50000 100000] (cumulative)   BENCH_CONNECTIONS [10]
#   BENCH_MIX     [5k-signed 60k-html 5k-unsigned 50-rcpt]
#   BENCH_LEAK_CHECKS [asan valgrind]   BENCH_ASAN_MESSAGES [2000]   BENCH_VALGRIND_MESSAGES [500]
#   BENCH_REPORT  also write the Markdown report to this file
#   E2E_KEEP=1    keep the work dir (logs, messages, valgrind and sanitizer reports)
# Needs root, unshare, dnsmasq, opendkim-genkey (opendkim-tools), dkimsign (python3-dkim),
# g++ (to build milter_load), and valgrind for the valgrind check; exit 77 (skipped) without
# them.  Exit 1 when a check failed: a message not accepted with its header, a milter that died
# or did not exit 0 on SIGTERM, a sanitizer error or leak, memcheck's definitely or indirectly
# lost above 0.  The "does not grow" targets are reported (yes/NO), not enforced.
# A default run takes about 6 to 10 minutes on a 2-core machine (most of it the 100,000
# messages).

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench-lib.sh
. "$here/bench-lib.sh"

BENCH_SIZES=${BENCH_SIZES-"10k 1m 10m 100m"}
BENCH_KINDS=${BENCH_KINDS-"text attachment"}
BENCH_SENDS=${BENCH_SENDS:-3}
BENCH_COUNTS=${BENCH_COUNTS-"1000 10000 50000 100000"}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-10}
BENCH_MIX=${BENCH_MIX:-"5k-signed 60k-html 5k-unsigned 50-rcpt"}
BENCH_LEAK_CHECKS=${BENCH_LEAK_CHECKS-"asan valgrind"}
BENCH_ASAN_MESSAGES=${BENCH_ASAN_MESSAGES:-2000}
BENCH_VALGRIND_MESSAGES=${BENCH_VALGRIND_MESSAGES:-500}
BENCH_REPORT=${BENCH_REPORT:-}
ECOMM_MILTER_ASAN=${ECOMM_MILTER_ASAN:-}
read -r -a MIX <<<"$BENCH_MIX"

# "Does not grow": at most this many KiB more (1 MiB: 1% of the 100 MB message; 10 bytes a
# message over 90,000 messages).
GROWTH_TOLERANCE_KIB=1024

# ---------------------------------------------------------------------------------------------
# Prerequisites (outside and inside the namespace)

bench_require_tools milter_load
e2e_require_dns_tools
e2e_require_milter
case " $BENCH_LEAK_CHECKS " in
    *" valgrind "*) command -v valgrind >/dev/null 2>&1 || e2e_skip "valgrind is not installed (or leave it out of BENCH_LEAK_CHECKS)" ;;
esac
# Runs this script again inside the namespace (and exits with its status); returns in there.
e2e_enter_private_netns "$here/$(basename "$0")" "$@"

bench_init memory-bench
FAILED=0   # a check failed (see the log above the report)
SIZE_ROWS=() COUNT_ROWS=() LEAK_ROWS=()

problem() {
    printf '# FAILED: %s\n' "$*"
    FAILED=1
}

# ---------------------------------------------------------------------------------------------
# Messages of each size

size_bytes() {
    case $1 in
        *k) echo $((${1%k} * 1024)) ;;
        *m) echo $((${1%m} * 1024 * 1024)) ;;
        *) e2e_die "a size is NUMBERk or NUMBERm, not $1 (BENCH_SIZES)" ;;
    esac
}

size_label() {
    case $1 in
        *k) echo "${1%k} KB" ;;
        *m) echo "${1%m} MB" ;;
    esac
}

# make_size_message KIND SIZE: $MSG/KIND-SIZE.eml (signed) and its .env.
make_size_message() {
    local kind=$1 size=$2 base=$MSG/$1-$2
    python3 - "$base" "$kind" "$(size_bytes "$size")" <<'EOF' || e2e_die "cannot write the $kind message of $size"
import base64, random, sys

base, kind, target = sys.argv[1], sys.argv[2], int(sys.argv[3])
words = ("the office of strategic relations and communications invites every student to the "
         "spring orientation programme where the schedule for registration advising housing "
         "and dining is explained in detail by staff from each unit on campus").split()
date = "Date: Tue, 01 Dec 2026 10:00:00 -0700"


def text_lines(n_bytes, seed):
    """CRLF lines of about n_bytes: 72-column prose, a link every 40 lines."""
    r = random.Random(seed)
    out, size, n = [], 0, 0
    while size < n_bytes:
        n += 1
        if n % 40 == 0:
            line = f"Read more: https://www.example.edu/news/{seed}/{n}?utm_source=handbook"
        else:
            line = " ".join(r.choice(words) for _ in range(12))[:72]
        out.append(line)
        size += len(line) + 2
    return "\r\n".join(out) + "\r\n"


if kind == "text":
    headers = ['From: "Campus News" <news@e.example.edu>', "To: student@example.edu",
               "Subject: The complete orientation handbook", date,
               f"Message-ID: <memory-{target}@e.example.edu>", "MIME-Version: 1.0",
               "Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: 7bit"]
    head = "\r\n".join(headers) + "\r\n\r\n"
    # 256 KiB of distinct lines repeated: generating 100 MB line by line takes too long.
    block = text_lines(min(target, 256 * 1024), seed=target)
    body = (block * (max(target - len(head), 0) // len(block) + 1))[:max(target - len(head), 0)]
    body = body[:body.rfind("\r\n") + 2] if "\r\n" in body else "\r\n"
    data = (head + body).encode()
    env = [("client_ip", "192.0.2.7"), ("client_name", "mta7.mc.example.net"),
           ("helo", "mta7.mc.example.net"), ("from", "bounce-mc7f3a-4821@e.example.edu"),
           ("rcpt", "student@example.edu")]
else:
    boundary = "=_memory_mixed_7"
    headers = ['From: "A Colleague" <colleague@outside.test>', "To: student@example.edu",
               "Subject: The report, as promised", date,
               f"Message-ID: <memory-{target}@outside.test>", "MIME-Version: 1.0",
               f'Content-Type: multipart/mixed; boundary="{boundary}"']
    text = text_lines(1500, seed=7)
    head = ("\r\n".join(headers) + "\r\n\r\n" +
            f"--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n"
            f"Content-Transfer-Encoding: 7bit\r\n\r\n{text}\r\n"
            f"--{boundary}\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\n"
            f"Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n")
    tail = f"\r\n--{boundary}--\r\n"
    room = max(target - len(head) - len(tail), 78)
    raw = random.Random(target).randbytes(room * 76 // 78 * 3 // 4)   # base64: 4/3, 78/76 with CRLF
    encoded = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    data = head.encode() + encoded + tail.encode()
    env = [("client_ip", "203.0.113.25"), ("client_name", "mail.outside.test"),
           ("helo", "mail.outside.test"), ("from", "colleague@outside.test"),
           ("rcpt", "student@example.edu")]
with open(base + ".unsigned", "wb") as f:
    f.write(data)
with open(base + ".eml.env", "w") as f:
    f.write("".join(f"{k}={v}\n" for k, v in env))
EOF
    case $kind in
        text) e2e_dkim_sign "$base.unsigned" "$base.eml" e.example.edu bench "$KEYS/e/bench.private" ;;
        attachment) e2e_dkim_sign "$base.unsigned" "$base.eml" outside.test bench "$KEYS/outside/bench.private" ;;
        *) e2e_die "a kind is text or attachment, not $kind (BENCH_KINDS)" ;;
    esac
    rm -f "$base.unsigned"
}

# ---------------------------------------------------------------------------------------------
# Measuring

# status_kib PID FIELD: a field of /proc/PID/status in KiB (or a count: Threads), "-" if gone.
status_kib() {
    [ -r "/proc/$1/status" ] || { echo -; return; }
    awk -v f="$2:" '$1 == f { print $2; found = 1 } END { if (!found) print "-" }' "/proc/$1/status"
}

fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# start_ecomm SETUP [COMMAND-PREFIX...]: ecomm-milter (or the command given, which ends with
# the milter binary) with the benchmark config, on a socket of its own (sock/SETUP.sock: a
# milter still stopping removes its socket file, which must not be the next one's).
start_ecomm() {
    local setup=$1 socket=unix:$E2E_DIR/sock/$1.sock
    shift
    [ $# -gt 0 ] || set -- "$ECOMM_MILTER"
    start_milter "$setup" "$socket" "$@" -f -c "$E2E_MILTER_CONF" -p "$socket"
}

# check_stopped SETUP STATUS: a check fails unless the milter exited 0 and its log holds no
# sanitizer error.
check_stopped() {
    local setup=$1 rc=$2
    [ "$rc" = 0 ] || problem "$setup exited with status $rc after SIGTERM (see $E2E_DIR/$setup.log)"
    if grep -qE 'ERROR: (Address|Leak|Thread|Memory|UndefinedBehavior)Sanitizer|runtime error:' "$E2E_DIR/$setup.log"; then
        problem "$setup: a sanitizer reported an error (see $E2E_DIR/$setup.log)"
    fi
}

# retire_ecomm SETUP: SIGTERM without waiting (libmilter takes up to 5 s to notice it);
# await_retired collects the exit statuses and checks them.
declare -A RETIRED
retire_ecomm() {
    RETIRED[$1]=${PID[$1]}
    E2E_PIDS_TO_STOP+=("${PID[$1]}")   # killed by the cleanup should the run end first
    unset "PID[$1]"
    kill -TERM "${RETIRED[$1]}" 2>/dev/null
}

await_retired() {
    local setup rc
    for setup in "${!RETIRED[@]}"; do
        wait "${RETIRED[$setup]}"
        rc=$?
        check_stopped "$setup" "$rc"
    done
    RETIRED=()
}

# load SETUP OUT MESSAGES-PER-CONNECTION CONNECTIONS [MILTER_LOAD-OPTION...] -- FILE...:
# milter_load, its result line parsed into R; a check fails unless every message was accepted
# with a header added.  Returns 1 then.
load() {
    local setup=$1 out=$2 per=$3 connections=$4 line
    shift 4
    local options=() files=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do options+=("$1"); shift; done
    shift
    for file in "$@"; do files+=(--message "$file"); done
    timeout 1800 "$MILTER_LOAD" --socket "${SOCKET[$setup]}" --connections "$connections" \
        --messages "$per" "${options[@]}" "${files[@]}" >"$out.out" 2>"$out.err"
    line=$(cat "$out.out")
    [ -n "$line" ] || line="messages=0 errors=1 total_messages=0"
    parse "$line"
    local want=$((per * connections))
    if [ "${R[errors]}" != 0 ] || [ "${R[messages]}" != "$want" ] ||
        [ $((R[accept] + R[continue])) != "$want" ] || [ $((R[insheader] + R[addheader])) -lt "$want" ]; then
        problem "$setup: not every one of $want messages was accepted with its header: $line"
        sed 's/^/#   /' "$out.err" | head -n 5
        return 1
    fi
    return 0
}

# decision FILE: the final reply and the headers added to the first message (--verbose output),
# e.g. "accept; A-R spf=pass dkim=pass; X-Ecomm-External".
decision() {
    local file=$1 final ar names
    final=$(sed -n 's/^  eom: \([ac]\)$/\1/p' "$file" | head -n 1)
    case $final in a) final=accept ;; c) final="accept (continue)" ;; *) final="?" ;; esac
    ar=$(grep -o 'eom: [hi] .*Authentication-Results:.*' "$file" | head -n 1 | grep -oE '(spf|dkim)=[a-z]+' | tr '\n' ' ')
    names=$(sed -n 's/^  eom: [hi] \(\[[0-9]*\] \)\{0,1\}\([A-Za-z0-9-]*\):.*/\2/p' "$file" |
        grep -v '^Authentication-Results$' | tr '\n' ' ')
    printf '%s; A-R %s%s\n' "$final" "${ar% }" "${names:+; ${names% }}"
}

# ---------------------------------------------------------------------------------------------
# 1. Size

size_part() {
    local size kind setup base idle hwm rss anon started took dec
    e2e_note "size: a fresh milter per message, $BENCH_SENDS sends each over one connection"
    for size in $BENCH_SIZES; do
        for kind in $BENCH_KINDS; do
            base=$MSG/$kind-$size
            setup=ecomm-size-$kind-$size
            start_ecomm "$setup"
            sleep 0.5
            idle=$(status_kib "${PID[$setup]}" VmRSS)
            started=$(date +%s.%N)
            if load "$setup" "$E2E_DIR/size.$kind-$size" 1 1 --messages-per-connection 1 --timeout 300 \
                --verbose -- "$base.eml" && ! grep -q 'Authentication-Results:.*dkim=pass' "$E2E_DIR/size.$kind-$size.err"; then
                problem "$kind $size: the Authentication-Results header does not say dkim=pass"
            fi
            # The other sends, one after the other (the first was the verbose one).
            if [ "$BENCH_SENDS" -gt 1 ]; then
                load "$setup" "$E2E_DIR/size.$kind-$size.more" $((BENCH_SENDS - 1)) 1 --timeout 300 -- "$base.eml"
            fi
            took=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
            hwm=$(status_kib "${PID[$setup]}" VmHWM)
            rss=$(status_kib "${PID[$setup]}" VmRSS)
            anon=$(status_kib "${PID[$setup]}" RssAnon)
            dec=$(decision "$E2E_DIR/size.$kind-$size.err")
            e2e_note "size $(size_label "$size") $kind ($(wc -c <"$base.eml") bytes): VmRSS idle $idle KiB," \
                "VmHWM $hwm KiB, VmRSS $rss KiB, RssAnon $anon KiB after $BENCH_SENDS sends (${took}s); $dec"
            SIZE_ROWS+=("$size|$kind|$(wc -c <"$base.eml")|$idle|$hwm|$rss|$anon|$took|$dec")
            retire_ecomm "$setup"
        done
    done
}

# peak_of SIZE KIND: VmHWM of that row of the size table, or empty.
peak_of() {
    local row
    for row in "${SIZE_ROWS[@]}"; do
        IFS='|' read -r -a f <<<"$row"
        [ "${f[0]}" = "$1" ] && [ "${f[1]}" = "$2" ] && { echo "${f[4]}"; return; }
    done
}

# ---------------------------------------------------------------------------------------------
# 2. Count

count_sample() {
    local pid=$1 processed=$2 took=$3
    local rss hwm anon threads fds
    rss=$(status_kib "$pid" VmRSS)
    hwm=$(status_kib "$pid" VmHWM)
    anon=$(status_kib "$pid" RssAnon)
    threads=$(status_kib "$pid" Threads)
    fds=$(fd_count "$pid")
    e2e_note "count: after $processed messages (${took}s): VmRSS $rss KiB, VmHWM $hwm KiB, RssAnon $anon KiB, $threads threads, $fds fds"
    COUNT_ROWS+=("$processed|$rss|$hwm|$anon|$threads|$fds|$took")
}

count_part() {
    local setup=ecomm-count target processed=0 batch per started took files=()
    local type
    for type in "${MIX[@]}"; do files+=("$MSG/$type.eml"); done
    e2e_note "count: one milter, the mix [$BENCH_MIX] over $BENCH_CONNECTIONS connections, one message per connection"
    start_ecomm "$setup"
    for type in "${MIX[@]}"; do probe "$setup" "$type"; done
    processed=${#MIX[@]}
    sleep 1
    count_sample "${PID[$setup]}" "$processed" 0
    for target in $BENCH_COUNTS; do
        batch=$((target - processed))
        [ "$batch" -gt 0 ] || continue
        per=$(((batch + BENCH_CONNECTIONS - 1) / BENCH_CONNECTIONS))
        started=$(date +%s.%N)
        load "$setup" "$E2E_DIR/count.$target" "$per" "$BENCH_CONNECTIONS" -- "${files[@]}" ||
            e2e_note "count: the batch up to $target had failures (above)"
        took=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
        processed=$((processed + R[total_messages]))
        kill -0 "${PID[$setup]}" 2>/dev/null || { problem "$setup has died (see $E2E_DIR/$setup.log)"; return; }
        sleep 1   # the connections' threads end
        count_sample "${PID[$setup]}" "$processed" "$took"
    done
    retire_ecomm "$setup"
}

# ---------------------------------------------------------------------------------------------
# 3. Leaks

asan_check() {
    local setup=ecomm-asan per files=() type rc result reports
    if [ -z "$ECOMM_MILTER_ASAN" ]; then
        e2e_note "leaks: no ASan build (ECOMM_MILTER_ASAN): the LeakSanitizer check is skipped"
        LEAK_ROWS+=("LeakSanitizer|-|-|skipped: no ASan build")
        return
    fi
    [ -x "$ECOMM_MILTER_ASAN" ] || e2e_die "ECOMM_MILTER_ASAN is not executable: $ECOMM_MILTER_ASAN"
    for type in "${MIX[@]}"; do files+=("$MSG/$type.eml"); done
    per=$(((BENCH_ASAN_MESSAGES + BENCH_CONNECTIONS - 1) / BENCH_CONNECTIONS))
    e2e_note "leaks: $ECOMM_MILTER_ASAN (ASan+UBSan, detect_leaks=1), $((per * BENCH_CONNECTIONS)) messages of the mix, then SIGTERM"
    # ASan's reports go to asan.PID; verbosity=2 makes the leak check leave a trace there
    # ("Attached to thread"), the proof that it ran at exit.
    start_ecomm "$setup" env ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:verbosity=2:log_path=$E2E_DIR/asan" \
        UBSAN_OPTIONS=print_stacktrace=1 "$ECOMM_MILTER_ASAN"
    for type in "${MIX[@]}"; do probe "$setup" "$type"; done
    load "$setup" "$E2E_DIR/asan-load" "$per" "$BENCH_CONNECTIONS" -- "${files[@]}"
    stop_milter "$setup"
    rc=$?
    reports=("$E2E_DIR/$setup.log" "$E2E_DIR"/asan.*)
    if grep -q 'ERROR: LeakSanitizer' "${reports[@]}" 2>/dev/null; then
        result="LEAKS: $(grep -h -m1 '^SUMMARY: AddressSanitizer' "${reports[@]}")"
        problem "LeakSanitizer reported leaks (see $E2E_DIR/asan.*)"
        grep -h -A12 -m3 'Direct leak\|Indirect leak' "${reports[@]}" | sed 's/^/#   /' | head -n 40
    elif grep -qE 'ERROR: (Address|Thread|Memory|UndefinedBehavior)Sanitizer|runtime error:|LeakSanitizer has encountered' "${reports[@]}" 2>/dev/null; then
        result="sanitizer error: $(grep -h -m1 -E 'ERROR:|runtime error:|LeakSanitizer has' "${reports[@]}")"
        problem "$setup: $result"
    elif [ "$rc" != 0 ]; then
        result="exit status $rc after SIGTERM"
        problem "$setup: $result"
    elif ! grep -q 'Attached to thread' "${reports[@]}" 2>/dev/null; then
        result="no trace that the leak check ran at exit"
        problem "$setup: $result (see $E2E_DIR/asan.*)"
    else
        result="clean: the leak check ran at exit and found nothing; no sanitizer error; exit status 0"
    fi
    printf 'LeakSanitizer (ASan+UBSan build, %s messages): %s\n' "$((R[total_messages] + ${#MIX[@]}))" "$result"
    LEAK_ROWS+=("LeakSanitizer (detect_leaks=1)|ASan+UBSan|$((R[total_messages] + ${#MIX[@]}))|$result")
}

# leak_bytes FILE KIND: the bytes of "KIND lost:" (or "still reachable:") in memcheck's summary.
leak_bytes() {
    sed -n "s/.*$2: \([0-9,]*\) bytes in \([0-9,]*\) blocks.*/\1 bytes in \2 blocks/p" "$1" | tail -n 1
}

# possibly_lost_elsewhere FILE: how many of memcheck's "possibly lost" records are not the
# thread-local block (DTV) that glibc allocates for each thread in pthread_create: libmilter
# never joins its signal, pool and session threads, so those of the threads still running at
# exit are only "possibly lost", once per thread and not per message.
possibly_lost_elsewhere() {
    awk '/are possibly lost in loss record/ { inside = 1; dtv = 0; next }
        inside && /allocate_dtv/ { dtv = 1 }
        inside && /^==[0-9]+== *$/ { if (!dtv) n++; inside = 0 }
        END { print n + 0 }' "$1"
}

valgrind_check() {
    local setup=ecomm-valgrind per files=() type rc log=$E2E_DIR/valgrind.txt supp=() kinds
    local definite indirect possible reachable errors elsewhere result
    for type in "${MIX[@]}"; do files+=("$MSG/$type.eml"); done
    per=$(((BENCH_VALGRIND_MESSAGES + BENCH_CONNECTIONS - 1) / BENCH_CONNECTIONS))
    [ -f "$here/memory-bench.supp" ] && supp=(--suppressions="$here/memory-bench.supp")
    e2e_note "leaks: valgrind memcheck --leak-check=full on $ECOMM_MILTER, $((per * BENCH_CONNECTIONS)) messages of the mix, then SIGTERM"
    # Under valgrind the milter starts slowly and a DNS look-up may take a while: longer waits.
    # Memcheck's error count: its own errors and the definitely and indirectly lost records.
    E2E_TIMEOUT=120 start_ecomm "$setup" valgrind --tool=memcheck --leak-check=full \
        --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect \
        --num-callers=30 --log-file="$log" \
        "${supp[@]}" "$ECOMM_MILTER"
    for type in "${MIX[@]}"; do probe "$setup" "$type"; done
    load "$setup" "$E2E_DIR/valgrind" "$per" "$BENCH_CONNECTIONS" --timeout 120 -- "${files[@]}"
    stop_milter "$setup"
    rc=$?
    definite=$(leak_bytes "$log" "definitely lost")
    indirect=$(leak_bytes "$log" "indirectly lost")
    possible=$(leak_bytes "$log" "possibly lost")
    reachable=$(leak_bytes "$log" "still reachable")
    errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$log" | tail -n 1)
    if ! grep -q 'LEAK SUMMARY\|All heap blocks were freed' "$log"; then
        result="no leak summary (exit status $rc)"
        problem "valgrind: $result (see $log)"
    else
        # "All heap blocks were freed": nothing lost of any kind.
        definite=${definite:-0 bytes in 0 blocks} indirect=${indirect:-0 bytes in 0 blocks}
        possible=${possible:-0 bytes in 0 blocks} reachable=${reachable:-0 bytes in 0 blocks}
        elsewhere=$(possibly_lost_elsewhere "$log")
        if [ "$elsewhere" = 0 ] && [[ $possible != "0 bytes"* ]]; then
            possible+=" (each the thread-local block of a libmilter thread still running at exit)"
        elif [ "$elsewhere" != 0 ]; then
            possible+=" ($elsewhere of them not a thread's block: see $log)"
        fi
        result="definitely lost: $definite; indirectly lost: $indirect; possibly lost: $possible; still reachable: $reachable; memcheck errors: ${errors:-?}"
        kinds=ok
        [[ $definite == "0 bytes"* ]] || kinds=bad
        [[ $indirect == "0 bytes"* ]] || kinds=bad
        if [ "$kinds" = bad ]; then
            problem "valgrind: memory lost (see $log)"
            grep -B2 -A25 -m4 'definitely lost in\|indirectly lost in' "$log" | sed 's/^/#   /' | head -n 80
        fi
        [ "${errors:-0}" = 0 ] || problem "valgrind: $errors memcheck errors (see $log)"
        [ "$elsewhere" = 0 ] || problem "valgrind: $elsewhere possibly lost records other than thread blocks (see $log)"
        [ "$rc" = 0 ] || problem "valgrind: the milter exited with status $rc after SIGTERM"
    fi
    printf 'valgrind memcheck (normal build, %s messages): %s\n' "$((R[total_messages] + ${#MIX[@]}))" "$result"
    LEAK_ROWS+=("valgrind memcheck --leak-check=full|normal|$((R[total_messages] + ${#MIX[@]}))|$result")
}

# ---------------------------------------------------------------------------------------------
# The report

# kib N: N with thousands separators (LC_ALL=C has none).
kib() { sed -E ':a; s/^([0-9]+)([0-9]{3})/\1,\2/; ta' <<<"$1"; }

# grows A B: "yes" when B is at most GROWTH_TOLERANCE_KIB above A (it does not grow), else "NO".
does_not_grow() { if [ "$1" = - ] || [ "$2" = - ]; then echo -; elif [ $(($2 - $1)) -le "$GROWTH_TOLERANCE_KIB" ]; then echo yes; else echo NO; fi; }

report() {
    local row f first last kind small big
    echo
    echo "## Peak RSS against message size (a fresh milter per row, $BENCH_SENDS sends over one connection each)"
    echo
    echo "| message | bytes | VmRSS idle (KiB) | VmHWM after (KiB) | VmRSS after (KiB) | RssAnon after (KiB) | seconds | decision |"
    echo "|---|---|---|---|---|---|---|---|"
    for row in "${SIZE_ROWS[@]}"; do
        IFS='|' read -r -a f <<<"$row"
        echo "| $(size_label "${f[0]}") ${f[1]} | $(kib "${f[2]}") | $(kib "${f[3]}") | $(kib "${f[4]}") | $(kib "${f[5]}") | $(kib "${f[6]}") | ${f[7]} | ${f[8]} |"
    done
    echo
    echo "## RSS against messages processed (one milter; mix: $BENCH_MIX; $BENCH_CONNECTIONS connections)"
    echo
    echo "| messages processed | VmRSS (KiB) | VmHWM (KiB) | RssAnon (KiB) | threads | open fds | batch seconds |"
    echo "|---|---|---|---|---|---|---|"
    for row in "${COUNT_ROWS[@]}"; do
        IFS='|' read -r -a f <<<"$row"
        echo "| $(kib "${f[0]}") | $(kib "${f[1]}") | $(kib "${f[2]}") | $(kib "${f[3]}") | ${f[4]} | ${f[5]} | ${f[6]} |"
    done
    echo
    echo "## Leaks"
    echo
    echo "| check | build | messages | result |"
    echo "|---|---|---|---|"
    for row in "${LEAK_ROWS[@]}"; do
        IFS='|' read -r -a f <<<"$row"
        echo "| ${f[0]} | ${f[1]} | ${f[2]} | ${f[3]} |"
    done
    echo
    echo "## Targets (issue 7, memory)"
    echo
    read -r -a sizes <<<"$BENCH_SIZES"
    for kind in $BENCH_KINDS; do
        [ "${#sizes[@]}" -ge 2 ] || break
        small=$(peak_of "${sizes[0]}" "$kind")
        big=$(peak_of "${sizes[-1]}" "$kind")
        if [ -z "$small" ] || [ -z "$big" ]; then continue; fi
        echo "- Peak RSS does not grow with message size ($kind): VmHWM $(kib "$small") KiB at $(size_label "${sizes[0]}")," \
            "$(kib "$big") KiB at $(size_label "${sizes[-1]}") ($((big - small)) KiB): $(does_not_grow "$small" "$big")"
    done
    if [ "${#COUNT_ROWS[@]}" -ge 3 ]; then
        # From the second batch on (the first warms the allocator's arenas), when there are 3.
        local from=1
        [ "${#COUNT_ROWS[@]}" -lt 4 ] || from=2
        IFS='|' read -r -a first <<<"${COUNT_ROWS[$from]}"
        IFS='|' read -r -a last <<<"${COUNT_ROWS[-1]}"
        local delta=$((last[1] - first[1])) n=$((last[0] - first[0]))
        echo "- RSS does not grow with messages processed: VmRSS $(kib "${first[1]}") KiB after $(kib "${first[0]}")," \
            "$(kib "${last[1]}") KiB after $(kib "${last[0]}") ($delta KiB, $(awk -v d="$delta" -v n="$n" \
            'BEGIN { printf "%.2f", (n > 0) ? d * 1024 / n : 0 }') bytes a message): $(does_not_grow "${first[1]}" "${last[1]}")"
    fi
    for row in "${LEAK_ROWS[@]}"; do
        IFS='|' read -r -a f <<<"$row"
        echo "- No leak, ${f[0]}: ${f[3]}"
    done
    echo
    echo "\"Does not grow\": at most $GROWTH_TOLERANCE_KIB KiB more.  VmHWM is the process's peak resident set;"
    echo "the counter table (a shared file mapping of 3.4 MiB) is counted in VmRSS as its pages are touched."
}

# ---------------------------------------------------------------------------------------------
# Main

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
e2e_note "memory benchmark: sizes [$BENCH_SIZES] x [$BENCH_KINDS], counts [$BENCH_COUNTS], leak checks [$BENCH_LEAK_CHECKS]"
e2e_note "machine: $(nproc) cores, $(uname -sr), load average $LOAD_START; work dir $E2E_DIR"
build_tools milter_load
make_keys
e2e_dkim_key "$KEYS/outside" outside.test bench 2048
DNS_EXTRA=$(e2e_dnsmasq_txt bench._domainkey.outside.test "$(e2e_dkim_record "$KEYS/outside" bench)")
start_dns
make_messages "${MIX[@]}"
for size in $BENCH_SIZES; do
    for kind in $BENCH_KINDS; do make_size_message "$kind" "$size"; done
done
mkdir -p "$E2E_DIR/sock"
chmod 0755 "$E2E_DIR/sock"
write_ecomm_config "unix:$E2E_DIR/sock/ecomm.sock"

[ -z "$BENCH_SIZES" ] || size_part
[ -z "$BENCH_COUNTS" ] || count_part
case " $BENCH_LEAK_CHECKS " in *" asan "*) asan_check ;; esac
case " $BENCH_LEAK_CHECKS " in *" valgrind "*) valgrind_check ;; esac
await_retired

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
{
    echo
    echo "# Memory benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "Machine: $(nproc) cores, $(uname -sr); load average $LOAD_START at the start, $LOAD_END at the end."
    echo "Command: BENCH_SENDS=$BENCH_SENDS BENCH_CONNECTIONS=$BENCH_CONNECTIONS BENCH_ASAN_MESSAGES=$BENCH_ASAN_MESSAGES" \
        "BENCH_VALGRIND_MESSAGES=$BENCH_VALGRIND_MESSAGES tests/bench/memory-bench.sh"
    echo "Milters: $ECOMM_MILTER (measured, and under valgrind); ${ECOMM_MILTER_ASAN:-no ASan build} (LeakSanitizer)."
    echo "Mix (bytes): $(message_sizes "${MIX[@]}")"
    report
} | tee "$E2E_DIR/report.md"
[ -z "$BENCH_REPORT" ] || cp "$E2E_DIR/report.md" "$BENCH_REPORT"
if [ "$FAILED" != 0 ]; then
    e2e_note "some checks failed (see FAILED above); work dir kept"
    E2E_FAILED=1
    exit 1
fi
exit 0
