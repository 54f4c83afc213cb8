#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The Debian package end to end (issue 6; a CI step after ./run-tests).  From a copy of the source
# tree it builds the package (dpkg-buildpackage -us -uc -b), runs lintian on it (an error tag
# fails), installs it with apt-get, checks the unit file with systemd-analyze verify and what the
# package installed (programs, man pages, conffiles, user and group, /var/lib/ecomm-milter), then
# starts the milter the way the unit does and checks that it answers the milter protocol on its
# socket, reloads it with the unit's ExecReload, stops it, purges the package and checks that
# nothing it made is left.
#
# CI has no running systemd, so the unit is replayed: its User=, Group=, SupplementaryGroups=,
# RuntimeDirectory= (and its mode), UMask=, NoNewPrivileges= and an empty CapabilityBoundingSet=
# are read from the installed unit and applied with setpriv, then its ExecStartPre=, ExecStart=
# and ExecReload= commands run.  The rest of its sandbox (ProtectSystem=, SystemCallFilter=, ...)
# is not reproduced.  The socket is tested as user postfix, as Postfix's smtpd would use it.
#
# Needs root (otherwise exit 77, skipped) and debhelper, dh-autoreconf, lintian and the build
# dependencies (contrib/debian-build-deps.txt).  It changes the system: it refuses to run when the
# package ecomm-milter, the user ecomm-milter or its folders exist already, and its exit trap
# stops the milter and purges the package whatever happens.
#
# Environment:
#   PKG_BUILD_OPTIONS  added to DEB_BUILD_OPTIONS (default "nocheck": ./run-tests has run the unit
#                      tests already; set it to "" to run them inside the package build too)
#   PKG_TIMEOUT        bound of every wait for the milter, in seconds (default 30)
#   PKG_BUILD_TIMEOUT  bound of the package build, in seconds (default 1500)
#   PKG_KEEP=1         keep the work dir (it is always kept when a check failed)
#   PKG_BUILT=DIR      test the package built before in DIR (its .deb and .changes) instead
# Prints "ok N - ..." / "not ok N - ..." per check and "N passed, N failed" at the end.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "$here/../.." && pwd)
. "$here/../e2e/lib.sh"   # e2e_pass, e2e_fail, e2e_show, e2e_summary, assert_*

PKG=ecomm-milter
TIMEOUT=${PKG_TIMEOUT:-30}
WORK=
INSTALLED=no          # set once apt-get install ran: the exit trap purges
MILTER_PID=
SERVICE_ENV=()        # the environment systemd would add to the service's (NOTIFY_SOCKET)
RUNTIME_DIRS=()       # made here as systemd would; removed at stop as systemd would
STARTED=$SECONDS
LAP=$SECONDS

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

# "# [  12s, previous step 3s] what" before each phase: the time so far, and the last phase's.
phase() {
    printf '# [%4ds, previous step %ds] %s\n' "$((SECONDS - STARTED))" "$((SECONDS - LAP))" "$*"
    LAP=$SECONDS
}

check() {   # check DESCRIPTION COMMAND...: pass when the command succeeds
    local what=$1
    shift
    if "$@"; then e2e_pass "$what"; else e2e_fail "$what"; fi
}

# equals DESCRIPTION ACTUAL EXPECTED
equals() {
    if [ "$2" = "$3" ]; then
        e2e_pass "$1"
    else
        e2e_fail "$1"
        printf '    expected "%s", got "%s"\n' "$3" "$2"
    fi
}

absent() { [ ! -e "$1" ] && [ ! -L "$1" ]; }
# apt-get that waits (bounded) for another apt or dpkg run to finish instead of failing at once.
apt_get() { apt-get -o DPkg::Lock::Timeout=300 "$@"; }
installed() { dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q 'ok installed'; }
# Installed, or removed with its conffiles left (status "deinstall ok config-files").
known_to_dpkg() {
    local status
    status=$(dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null) && [ "${status##* }" != not-installed ]
}

stop_milter() {
    [ -n "$MILTER_PID" ] || return 0
    e2e_stop_pid "$MILTER_PID" ecomm-milter
    wait "$MILTER_PID" 2>/dev/null
    MILTER_PID=
}

cleanup() {
    local status=$? dir
    trap - EXIT INT TERM
    stop_milter
    for dir in "${RUNTIME_DIRS[@]:-}"; do [ -n "$dir" ] && rm -rf "$dir"; done
    if [ "$INSTALLED" = yes ] && known_to_dpkg; then
        e2e_note "purging $PKG (exit trap)"
        apt_get purge -y "$PKG" >/dev/null 2>&1 || e2e_note "apt-get purge $PKG failed"
    fi
    if [ -n "$WORK" ] && [ -d "$WORK" ]; then
        if [ "${PKG_KEEP:-0}" = 1 ] || [ "$status" -ne 0 ] || [ "$E2E_FAILED" -ne 0 ]; then
            e2e_note "work dir kept for inspection: $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    exit "$status"
}

# ---------------------------------------------------------------------------------------------
# Prerequisites

[ "$(id -u)" -eq 0 ] || e2e_skip "needs root (installs and purges the package)"
for tool in dpkg-buildpackage dpkg-parsechangelog dh dh_autoreconf lintian apt-get \
    systemd-analyze setpriv debconf-set-selections; do
    command -v "$tool" >/dev/null 2>&1 ||
        e2e_die "$tool is missing: install debhelper dh-autoreconf lintian systemd" \
            "(contrib/debian-build-deps.txt)"
done
PYTHON=/usr/bin/python3   # the system's: the milter's socket is tested as user postfix
[ -x "$PYTHON" ] || e2e_die "$PYTHON is missing (Debian package python3)"
if known_to_dpkg; then
    e2e_die "the package $PKG is installed already; this test installs and purges it" \
        "(apt-get purge $PKG first)"
fi
for leftover in /etc/$PKG /var/lib/$PKG /run/$PKG; do
    absent "$leftover" || e2e_die "$leftover exists; this test would remove it"
done
getent passwd $PKG >/dev/null && e2e_die "the user $PKG exists; this test would remove it"
getent group $PKG >/dev/null && e2e_die "the group $PKG exists; this test would remove it"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ecomm-package.XXXXXX") || e2e_die "cannot create a temp dir"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Build from a copy: the files git knows or would add (so no build dirs, no generated autotools
# files, no .git), or everything but build dirs and .git outside a git checkout.

VERSION=$(dpkg-parsechangelog -l "$top_srcdir/debian/changelog" -S Version) ||
    e2e_die "cannot read debian/changelog"
ARCH=$(dpkg --print-architecture)
OUT=${PKG_BUILT:-$WORK}
DEB=$OUT/${PKG}_${VERSION}_$ARCH.deb
CHANGES=$OUT/${PKG}_${VERSION}_$ARCH.changes

build() {
    local src=$WORK/$PKG-${VERSION%-*} status
    phase "copying $top_srcdir"
    mkdir -p "$src"
    local git_top
    git_top=$(git -c safe.directory="$top_srcdir" -C "$top_srcdir" rev-parse --show-toplevel 2>/dev/null)
    if [ "$git_top" = "$top_srcdir" ]; then
        git -c safe.directory="$top_srcdir" -C "$top_srcdir" ls-files -z -c -o --exclude-standard |
            while IFS= read -r -d '' file; do   # -c lists deleted files too
                if [ -e "$top_srcdir/$file" ] || [ -L "$top_srcdir/$file" ]; then printf '%s\0' "$file"; fi
            done | tar -C "$top_srcdir" --null -T - -cf - | tar -C "$src" -xf - ||
            e2e_die "cannot copy the source tree"
    else
        tar -C "$top_srcdir" --exclude=./.git --exclude='./build*' --exclude='./_build*' \
            --exclude=./autom4te.cache --exclude=./debian/$PKG --exclude=./debian/.debhelper -cf - . |
            tar -C "$src" -xf - || e2e_die "cannot copy the source tree"
    fi

    phase "building $PKG $VERSION: dpkg-buildpackage -us -uc -b (log: $WORK/build.log)"
    DEB_BUILD_OPTIONS="parallel=$(nproc) noddebs ${PKG_BUILD_OPTIONS-nocheck}"
    export DEB_BUILD_OPTIONS
    e2e_note "DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS"
    (cd "$src" && timeout "${PKG_BUILD_TIMEOUT:-1500}" dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1
    status=$?
    if [ "$status" -eq 0 ] && [ -f "$DEB" ] && [ -f "$CHANGES" ]; then
        e2e_pass "dpkg-buildpackage -us -uc -b builds $(basename "$DEB")"
    else
        e2e_fail "dpkg-buildpackage -us -uc -b (exit $status)"
        e2e_show "$WORK/build.log" 40
        e2e_summary
        exit 1
    fi
}

if [ -n "${PKG_BUILT:-}" ]; then
    e2e_note "PKG_BUILT: testing the package built before in $PKG_BUILT"
    { [ -f "$DEB" ] && [ -f "$CHANGES" ]; } ||
        e2e_die "no $(basename "$DEB") and $(basename "$CHANGES") in $PKG_BUILT"
else
    build
fi

phase "lintian $(basename "$CHANGES")"
lintian "$CHANGES" >"$WORK/lintian.log" 2>&1
lintian_status=$?
grep -E '^[EWIPX]: ' "$WORK/lintian.log" | sed 's/^/    lintian: /'
errors=$(grep -c '^E: ' "$WORK/lintian.log")
# Exit 0: no tags at the --fail-on level (errors); 2: some; anything else: lintian itself failed.
if [ "$errors" -eq 0 ] && { [ "$lintian_status" -eq 0 ] || [ "$lintian_status" -eq 2 ]; }; then
    e2e_pass "lintian reports no errors ($(grep -c '^W: ' "$WORK/lintian.log") warnings)"
else
    e2e_fail "lintian: $errors errors (exit $lintian_status)"
    e2e_show "$WORK/lintian.log" 30
fi

# ---------------------------------------------------------------------------------------------
# Install, and what the package put where

phase "apt-get install $DEB"
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
INSTALLED=yes
if apt_get install -y --no-install-recommends "$DEB" >"$WORK/install.log" 2>&1 && installed; then
    e2e_pass "apt-get install ./$(basename "$DEB")"
else
    e2e_fail "apt-get install ./$(basename "$DEB")"
    e2e_show "$WORK/install.log" 30
    e2e_summary
    exit 1
fi

phase "checking the installed files"
for program in /usr/sbin/ecomm-milter /usr/sbin/ecomm-milter-stats; do
    check "$program is installed and executable" test -x "$program"
done
check "ecomm-milter -V says version ${VERSION%-*} (debian/changelog and configure.ac agree)" \
    sh -c "/usr/sbin/ecomm-milter -V 2>&1 | grep -qF -- '${VERSION%-*}'"
for page in man8/ecomm-milter.8 man5/ecomm-milter.conf.5 man8/ecomm-milter-stats.8; do
    check "man page /usr/share/man/$page.gz" test -s "/usr/share/man/$page.gz"
done
for example in main.cf ecomm-milter.mc ecomm-milter.mtail; do
    check "example $example is installed" \
        test -s "/usr/share/doc/$PKG/examples/$example" -o -s "/usr/share/doc/$PKG/examples/$example.gz"
done
conffiles=$(dpkg-query -W -f='${Conffiles}\n' "$PKG")
for conffile in /etc/$PKG/ecomm-milter.conf /etc/$PKG/registry.conf; do
    check "$conffile is a conffile" \
        test -f "$conffile" -a -n "$(printf '%s\n' "$conffiles" | grep -F " $conffile ")"
done
check "the installed configuration and example registry pass ecomm-milter -n" \
    /usr/sbin/ecomm-milter -n -c /etc/$PKG/ecomm-milter.conf
UNIT=$(dpkg -L "$PKG" | grep -E '/systemd/system/ecomm-milter\.service$' | head -n 1)
if [ -n "$UNIT" ] && [ -f "$UNIT" ]; then
    e2e_pass "the systemd unit is installed ($UNIT)"
else
    e2e_fail "the package installs no systemd unit ecomm-milter.service"
    e2e_summary
    exit 1
fi
check "the unit is enabled (systemctl is-enabled, which works without a running systemd)" \
    systemctl --quiet is-enabled ecomm-milter.service

IFS=: read -r _ _ uid gid _ home shell < <(getent passwd $PKG)
if [ -n "${uid:-}" ]; then
    e2e_pass "the user $PKG exists"
    check "$PKG is a system user (uid $uid < 1000)" test "$uid" -lt 1000
    equals "$PKG's primary group is $PKG" "$(getent group "$gid" | cut -d: -f1)" "$PKG"
    equals "$PKG's home" "$home" "/var/lib/$PKG"
    check "$PKG cannot log in (shell $shell)" \
        sh -c "case '$shell' in */nologin | */false) exit 0 ;; esac; exit 1"
else
    e2e_fail "the user $PKG exists"
fi
equals "/var/lib/$PKG belongs to $PKG, mode 750" "$(stat -c '%U:%G %a' /var/lib/$PKG 2>&1)" "$PKG:$PKG 750"
if getent passwd postfix >/dev/null; then
    check "postinst put the user postfix in the group $PKG (for the socket)" \
        sh -c "id -nG postfix | tr ' ' '\n' | grep -qx $PKG"
fi

# ---------------------------------------------------------------------------------------------
# The unit: systemd-analyze verify, then read what a start needs from it

phase "systemd-analyze verify $UNIT"
systemd-analyze verify "$UNIT" >"$WORK/verify.log" 2>&1
verify_status=$?
sed 's/^/    verify: /' "$WORK/verify.log"
# Without a running systemd, verify still parses the unit and checks that its programs (and its
# Documentation= man pages) exist; it exits 1 when a unit the file names is not installed here
# (e.g. a Wants= of some MTA's unit), which is no fault of ours.  Syntax problems (unknown keys,
# values it cannot parse) are only warnings, so any message about our file fails the check:
# "UNIT:LINE: ..." or "ecomm-milter.service: ...", except "Unit X not found".
ours=$(grep -E "^($UNIT:[0-9]+:|ecomm-milter\.service: )" "$WORK/verify.log" |
    grep -Ev 'Unit [^ ]+ not found')
missing=$(grep -Ec 'Unit [^ ]+ not found' "$WORK/verify.log")
if [ -z "$ours" ] && { [ "$verify_status" -eq 0 ] || [ "$missing" -gt 0 ]; }; then
    e2e_pass "systemd-analyze verify finds nothing wrong with the unit" \
        "(exit $verify_status, $missing units not installed here)"
else
    e2e_fail "systemd-analyze verify (exit $verify_status)"
fi

# unit_values KEY: the values of KEY= in the unit, one a line (continuation lines joined).
unit_values() {
    sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$UNIT" | sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p"
}
# unit_list KEY: a list setting as systemd sees it: words accumulate, an empty value resets.
unit_list() {
    local value list=()
    while IFS= read -r value; do
        if [ -z "$value" ]; then list=(); else read -r -a words <<<"$value" && list+=("${words[@]}"); fi
    done < <(unit_values "$1")
    printf '%s\n' "${list[@]:-}" | sed '/^$/d'
}
unit_last() { unit_values "$1" | tail -n 1; }
unit_has() { grep -q "^[[:space:]]*$1[[:space:]]*=" "$UNIT"; }

RUN_USER=$(unit_last User)
RUN_GROUP=$(unit_last Group)
[ -n "$RUN_GROUP" ] || RUN_GROUP=$(id -gn "${RUN_USER:-root}" 2>/dev/null)
equals "the unit runs the milter as User=$PKG" "$RUN_USER" "$PKG"
mapfile -t SUPPLEMENTARY < <(unit_list SupplementaryGroups)
mapfile -t RUNTIME < <(unit_list RuntimeDirectory)
RUNTIME_MODE=$(unit_last RuntimeDirectoryMode)
STATE_MODE=$(unit_last StateDirectoryMode)
state_mode=$(stat -c '%a' /var/lib/$PKG)
if [ "$(printf '%o' "0${STATE_MODE:-0755}")" != "$state_mode" ]; then
    e2e_note "StateDirectoryMode=${STATE_MODE:-0755 (default)} differs from postinst's" \
        "$state_mode: systemd would warn at each start"
fi

# The credentials systemd gives the service: the user's groups plus SupplementaryGroups=.
groups=$(id -G "$RUN_USER" 2>/dev/null | tr ' ' ',')
for name in "${SUPPLEMENTARY[@]}"; do
    if gid_of=$(getent group "$name" | cut -d: -f3) && [ -n "$gid_of" ]; then
        groups="$groups,$gid_of"
    else
        e2e_fail "SupplementaryGroups=$name: no such group, systemd would refuse to start the unit"
    fi
done
CREDENTIALS=(--reuid="$RUN_USER" --regid="$RUN_GROUP" --groups="$groups" --reset-env)
[ "$(unit_last NoNewPrivileges)" = yes ] && CREDENTIALS+=(--no-new-privs)
if unit_has CapabilityBoundingSet && [ -z "$(unit_list CapabilityBoundingSet)" ]; then
    CREDENTIALS+=(--bounding-set=-all --inh-caps=-all)
fi
UMASK=$(unit_last UMask)
UMASK=${UMASK:-0022}
e2e_note "service credentials: setpriv ${CREDENTIALS[*]}; umask $UMASK"

# as_service [-b] COMMAND LINE: runs an Exec line of the unit as systemd would: in /, with its
# UMask= (default 0022) and the service's credentials; a "-" prefix ignores failure, "+" runs
# as root.  $MAINPID and the specifiers %t %S %E %n %N %% are expanded; quoting is not
# supported.  -b: in the background, pid in MILTER_PID.  Output goes to milter.log.
as_service() {
    local background=no line prefix argv=() status
    if [ "$1" = -b ]; then background=yes; shift; fi
    line=$1
    prefix=${line%%[!@+:!-]*}
    line=${line#"$prefix"}
    line=${line//\$\{MAINPID\}/$MILTER_PID}
    line=${line//\$MAINPID/$MILTER_PID}
    line=$(printf '%s' "$line" | sed -e 's/%%/\x01/g' -e 's|%t|/run|g' -e 's|%S|/var/lib|g' \
        -e 's|%E|/etc|g' -e 's/%n/ecomm-milter.service/g' -e 's/%N/ecomm-milter/g')
    case $line in *\"* | *\'* | *%*) e2e_fail "cannot replay this unit line here: $1"; return 1 ;; esac
    line=${line//$'\x01'/%}
    read -r -a argv <<<"$line"
    local run=(setpriv "${CREDENTIALS[@]}" --)
    [ ${#SERVICE_ENV[@]} -gt 0 ] && run+=(env "${SERVICE_ENV[@]}")
    case $prefix in *+*) run=() ;; esac
    if [ "$background" = yes ]; then
        (cd / && umask "$UMASK" && exec "${run[@]}" "${argv[@]}") \
            </dev/null >>"$WORK/milter.log" 2>&1 &
        MILTER_PID=$!
        return 0
    fi
    (cd / && umask "$UMASK" && exec timeout "$TIMEOUT" "${run[@]}" "${argv[@]}") \
        </dev/null >>"$WORK/milter.log" 2>&1
    status=$?
    case $prefix in *-*) return 0 ;; esac
    return "$status"
}

# ---------------------------------------------------------------------------------------------
# Start the milter the way the unit does

phase "starting the milter as the unit would"
for name in "${RUNTIME[@]}"; do
    RUNTIME_DIRS+=("/run/$name")
    install -d -o "$RUN_USER" -g "$RUN_GROUP" -m "${RUNTIME_MODE:-0755}" "/run/$name"
done
while IFS= read -r line; do
    if as_service "$line"; then
        e2e_pass "ExecStartPre=$line"
    else
        e2e_fail "ExecStartPre=$line"
        e2e_show "$WORK/milter.log"
    fi
done < <(unit_values ExecStartPre)
START_LINE=$(unit_last ExecStart)
check "the unit has an ExecStart= line" test -n "$START_LINE"

# The socket the MTA connects to: [milter] socket in the config the ExecStart line names.
CONF=/etc/$PKG/ecomm-milter.conf
read -r -a start_argv <<<"$START_LINE"
for ((i = 0; i + 1 < ${#start_argv[@]}; i++)); do
    case ${start_argv[i]} in -c | --config) CONF=${start_argv[i + 1]} ;; esac
done
milter_key() {   # milter_key KEY: the value of KEY in [milter] of $CONF
    sed -n '/^\[milter\]/,/^\[/p' "$CONF" | sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" |
        sed 's/[[:space:]]\+;.*$//; s/[[:space:]]*$//' | tail -n 1
}
SOCKET=$(milter_key socket)
SOCKET=${SOCKET:-unix:/run/ecomm-milter/ecomm-milter.sock}
e2e_note "config $CONF, socket $SOCKET"

# Type=notify: systemd waits for READY=1 on $NOTIFY_SOCKET (an abstract socket here, which the
# service user can reach without a folder of ours) and only then starts Postfix or reloads.
# The listener notes each datagram and whether the milter's unix socket existed by then.
NOTIFY_TYPE=$(unit_last Type)
if [ "$NOTIFY_TYPE" = notify ]; then
    NOTIFY_NAME="@ecomm-milter-package-test-$$"
    SERVICE_ENV=(NOTIFY_SOCKET="$NOTIFY_NAME")
    listening_path=
    case $SOCKET in unix:* | local:*) listening_path=${SOCKET#*:} ;; esac
    "$PYTHON" - "$NOTIFY_NAME" "$WORK/notify.out" "$listening_path" "$TIMEOUT" <<'EOF' &
import os, socket, sys
name, out, listening_path, timeout = sys.argv[1:]
with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, open(out, "w") as notes:
    sock.bind("\0" + name[1:])
    notes.write("bound\n")
    notes.flush()
    sock.settimeout(float(timeout))
    try:
        while True:
            state = sock.recv(4096).decode(errors="replace")
            listening = os.path.exists(listening_path) if listening_path else "n/a"
            notes.write("%r listening=%s\n" % (state, listening))
            notes.flush()
            if "READY=1" in state.split("\n"):
                break
    except socket.timeout:
        notes.write("no READY=1 within %ss\n" % timeout)
EOF
    NOTIFY_LISTENER=$!
    deadline=$((SECONDS + TIMEOUT))
    until grep -q bound "$WORK/notify.out" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.1; done
fi

as_service -b "$START_LINE"
e2e_note "ExecStart=$START_LINE: pid $MILTER_PID"

# answers: the milter answers an SMFIC_OPTNEG packet with its own, as seen by user postfix
# (what Postfix's smtpd runs as), or by root when there is no Postfix.
answers() {
    local as=()
    getent passwd postfix >/dev/null && as=(setpriv --reuid=postfix --regid=postfix --init-groups --)
    "${as[@]}" "$PYTHON" - "$SOCKET" <<'EOF'
import socket, struct, sys

spec = sys.argv[1]
kind, _, where = spec.partition(":")
if kind in ("unix", "local"):
    sock, address = socket.socket(socket.AF_UNIX), where
else:
    port, _, host = where.partition("@")
    family = socket.AF_INET6 if kind == "inet6" else socket.AF_INET
    sock, address = socket.socket(family), (host or "localhost", int(port))
sock.settimeout(10)
sock.connect(address)

def read_exactly(n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            sys.exit("the milter closed the connection after %d of %d bytes" % (len(data), n))
        data += chunk
    return data

def send(command, data=b""):
    sock.sendall(struct.pack(">I", len(data) + 1) + command + data)

# Protocol version 6, every action and protocol step an MTA may offer (as Postfix does).
send(b"O", struct.pack(">III", 6, 0x1FF, 0x1FFFFF))
(length,) = struct.unpack(">I", read_exactly(4))
if not 13 <= length <= 65536:
    sys.exit("a reply of length %d is no SMFIC_OPTNEG answer" % length)
reply = read_exactly(length)
if reply[:1] != b"O":
    sys.exit("the reply is %r, not 'O'" % reply[:1])
version, actions, steps = struct.unpack(">III", reply[1:13])
print("    SMFIC_OPTNEG answered: version %d, actions 0x%x, protocol 0x%x" % (version, actions, steps))
send(b"Q")
sock.close()
EOF
}

socket_ready() {
    kill -0 "$MILTER_PID" 2>/dev/null || return 2
    case $SOCKET in
        unix:* | local:*) [ -S "${SOCKET#*:}" ] ;;
        *) answers >/dev/null 2>&1 ;;
    esac
}
deadline=$((SECONDS + TIMEOUT))
until socket_ready; do
    if ! kill -0 "$MILTER_PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then break; fi
    sleep 0.2
done
if socket_ready; then
    e2e_pass "the milter is up and listening on $SOCKET"
else
    e2e_fail "the milter is up and listening on $SOCKET within ${TIMEOUT}s"
    e2e_show "$WORK/milter.log"
fi
case $SOCKET in
    unix:* | local:*)
        want_group=$(milter_key socket_group)
        want_mode=$(milter_key socket_mode)
        equals "the socket's owner, group and mode ([milter] socket_group, socket_mode)" \
            "$(stat -c '%U:%G %a' "${SOCKET#*:}" 2>&1)" \
            "$RUN_USER:${want_group:-$RUN_GROUP} $(printf '%o' "0${want_mode:-0660}")"
        ;;
esac
check "the milter answers the milter protocol on $SOCKET" answers
if [ "$NOTIFY_TYPE" = notify ]; then
    wait "$NOTIFY_LISTENER"
    case $listening_path in
        "") want_ready="'READY=1' listening=n/a" ;;
        *) want_ready="'READY=1' listening=True" ;;
    esac
    assert_contains "$WORK/notify.out" "$want_ready" \
        "Type=notify: the milter sends READY=1 on \$NOTIFY_SOCKET once its socket listens"
else
    e2e_note "Type=${NOTIFY_TYPE:-simple}: no readiness notice to check"
fi
check "the counter table is in /var/lib/$PKG, owned by $RUN_USER" \
    test "$(stat -c %U "/var/lib/$PKG/counters" 2>&1)" = "$RUN_USER"
check "ecomm-milter-stats reads the counter table" \
    sh -c "/usr/sbin/ecomm-milter-stats -c '$CONF' >'$WORK/stats.out' 2>&1"

phase "reloading (ExecReload) and stopping (SIGTERM)"
reloaded=yes
while IFS= read -r line; do
    as_service "$line" || { reloaded=no; e2e_fail "ExecReload=$line"; }
done < <(unit_values ExecReload)
if [ "$reloaded" = yes ] && unit_has ExecReload; then
    deadline=$((SECONDS + TIMEOUT))
    until grep -q 'reloaded configuration' "$WORK/milter.log" || [ "$SECONDS" -ge "$deadline" ]; do
        sleep 0.2
    done
    assert_contains "$WORK/milter.log" "reloaded configuration" \
        "the unit's ExecReload= lines reload the configuration"
    check "the milter still answers after the reload" answers
else
    e2e_fail "the unit reloads the milter (ExecReload=)"
fi

kill -TERM "$MILTER_PID" 2>/dev/null
deadline=$((SECONDS + TIMEOUT))
while kill -0 "$MILTER_PID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
if kill -0 "$MILTER_PID" 2>/dev/null; then
    e2e_fail "the milter stops within ${TIMEOUT}s of SIGTERM"
    stop_milter
else
    wait "$MILTER_PID"
    equals "the milter exits 0 on SIGTERM" "$?" 0
    MILTER_PID=
fi
case $SOCKET in
    unix:* | local:*) check "the milter removed its socket" absent "${SOCKET#*:}" ;;
esac
for dir in "${RUNTIME_DIRS[@]:-}"; do [ -n "$dir" ] && rm -rf "$dir"; done   # as systemd at stop
RUNTIME_DIRS=()

# ---------------------------------------------------------------------------------------------
# Purge

phase "apt-get purge $PKG"
if apt_get purge -y "$PKG" >"$WORK/purge.log" 2>&1 && ! known_to_dpkg; then
    e2e_pass "apt-get purge $PKG"
    INSTALLED=no
else
    e2e_fail "apt-get purge $PKG"
    e2e_show "$WORK/purge.log"
fi
check "purge removes the user $PKG" sh -c "! getent passwd $PKG >/dev/null"
check "purge removes the group $PKG" sh -c "! getent group $PKG >/dev/null"
for path in /var/lib/$PKG /etc/$PKG /usr/sbin/ecomm-milter /usr/sbin/ecomm-milter-stats "$UNIT"; do
    check "purge removes $path" absent "$path"
done
left=$(find /etc/systemd /var/lib/systemd/deb-systemd-helper-enabled -name "*$PKG*" 2>/dev/null)
check "purge removes the unit's enablement links${left:+ (left: $left)}" test -z "$left"

phase "done"
e2e_summary
