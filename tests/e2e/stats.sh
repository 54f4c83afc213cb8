#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# End-to-end test of ecomm-milter-stats' command line, with no milter running: --help and -V,
# a bad command line (exit 64), a missing counter table (exit 1, named, and NOT created: only
# the milter makes it), and a bad configuration (exit 2, "FILE:LINE: message"). Reading a live
# table is tested where a real milter fills one (tests/e2e/counters.sh).
# Run by "make check" (env: top_srcdir, top_builddir, ECOMM_MILTER_STATS); no root needed.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

STATS=${ECOMM_MILTER_STATS:-"${top_builddir:-.}/ecomm-milter-stats"}
[ -x "$STATS" ] || e2e_die "ecomm-milter-stats not found or not executable: $STATS"

e2e_init stats
OUT=$E2E_DIR/out
ERR=$E2E_DIR/err
STATUS=0

# run_stats ARG...: runs the tool, stdout to $OUT, stderr to $ERR, exit status to $STATUS.
run_stats() {
    STATUS=0
    "$STATS" "$@" >"$OUT" 2>"$ERR" || STATUS=$?
}

# assert_status EXPECTED DESCRIPTION
assert_status() {
    if [ "$STATUS" -eq "$1" ]; then
        e2e_pass "$2 (exit $1)"
    else
        e2e_fail "$2: exit $STATUS, expected $1"
        e2e_show "$OUT"
        e2e_show "$ERR"
    fi
}

# A valid configuration whose counter table lives under the work dir (and does not exist).
CONF=$E2E_DIR/ecomm-milter.conf
TABLE=$E2E_DIR/state/counters
mkdir -p "$E2E_DIR/state"
cat >"$CONF" <<EOF
# ecomm-milter-stats test configuration (written by tests/e2e/stats.sh)
[policy]
university_domains = example.edu
time_zone = America/Denver

[counters]
file = $TABLE
rate_slots = 256
campaign_slots = 8

[rate]
limit = 30

[bulk]
threshold = 100
business_days = Mon-Fri
business_hours = 08:00-17:00
EOF

e2e_say "# command line"
run_stats --help
assert_status 0 "--help"
assert_contains "$OUT" "usage: ecomm-milter-stats" "--help prints the usage"
assert_contains "$OUT" "--reset KEY" "--help explains --reset"

run_stats -V
assert_status 0 "-V"
assert_matches "$OUT" '^ecomm-milter-stats [0-9]' "-V prints the name and version"

run_stats --no-such-option
assert_status 64 "an unknown option is a usage error"
assert_contains "$ERR" "unknown option --no-such-option" "the usage error names the option"

run_stats -c "$CONF" extra
assert_status 64 "a stray argument is a usage error"

e2e_say "# a missing counter table"
run_stats -c "$CONF"
assert_status 1 "no table yet"
assert_contains "$ERR" "no counter table at $TABLE (the milter has not run yet?)" \
    "the message names the configured table"
assert_true "the missing table is not created" test ! -e "$TABLE"

run_stats -c "$CONF" --json
assert_status 1 "no table yet, --json"
assert_true "--json prints nothing on stdout without a table" test ! -s "$OUT"

run_stats -c "$CONF" --reset sender:marketing-cloud
assert_status 1 "--reset without a table"
assert_contains "$ERR" "no counter table at $TABLE" "--reset names the missing table"
assert_true "--reset does not create the table" test ! -e "$TABLE"

# A key the report shows escaped is taken as shown; a malformed escape is a usage error.
run_stats -c "$CONF" --reset 'escaped:sender:news\x1b[1m'
assert_status 1 "--reset of an escaped key without a table"
assert_contains "$ERR" "no counter table at $TABLE" "an escaped key gets as far as the table"
run_stats -c "$CONF" --reset 'escaped:sender:news\e[1m'
assert_status 64 "--reset of a malformed escaped key"
assert_contains "$ERR" 'in an escaped key a backslash starts \xHH' "the usage error says how to escape"

OTHER=$E2E_DIR/elsewhere/counters
run_stats -c "$CONF" --file "$OTHER"
assert_status 1 "--file naming a missing table"
assert_contains "$ERR" "no counter table at $OTHER (the milter has not run yet?)" \
    "--file overrides the configured path"
assert_true "the --file table is not created" test ! -e "$OTHER"

e2e_say "# a file that is not a counter table"
NOT_TABLE=$E2E_DIR/notes.txt
printf 'postmaster notes, not a counter table\n' >"$NOT_TABLE"
run_stats -c "$CONF" --file "$NOT_TABLE"
assert_status 1 "--file naming some other file"
assert_contains "$ERR" "$NOT_TABLE is not an ecomm-milter counter table (left alone)" \
    "the tool says it is not a counter table"
assert_contains "$NOT_TABLE" "postmaster notes, not a counter table" "the other file is unchanged"
assert_true "the other file is not renamed aside" \
    test -z "$(find "$E2E_DIR" -maxdepth 1 -name 'notes.txt.corrupt-*' -print -quit)"

e2e_say "# a bad configuration"
BAD=$E2E_DIR/bad.conf
{
    printf '[counters]\n'
    printf 'file = %s\n' "$TABLE"
    printf 'rate_slots = lots\n'            # line 3: not a number
    printf '[bulk]\n'
    printf 'business_hours = late\n'        # line 5: not HH:MM-HH:MM
} >"$BAD"
run_stats -c "$BAD"
assert_status 2 "a bad configuration"
assert_matches "$ERR" "^$BAD:3: " "the diagnostic names the file and line 3"
assert_matches "$ERR" "^$BAD:5: " "the diagnostic names the file and line 5"
assert_true "a bad configuration does not create the table" test ! -e "$TABLE"

run_stats -c "$E2E_DIR/no-such.conf"
assert_status 2 "a missing configuration file"
assert_contains "$ERR" "$E2E_DIR/no-such.conf" "the diagnostic names the missing file"

e2e_summary
