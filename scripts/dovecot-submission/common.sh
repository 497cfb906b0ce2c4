# Shared settings for scripts/dovecot-submission/start and stop (sourced).

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_PROBE=$SRC/../mail-lab/probe.py   # waits for a 220 greeting (plain or implicit TLS)
STATE=${SMTP_INSPECTOR_DOVECOT_SUBMISSION:-/var/tmp/smtp-inspector-dovecot-submission}
STATE=${STATE%/}
CONF=$STATE/dovecot.conf
RUN=$STATE/run
LOG=$STATE/dovecot.log
PORT=1587
TLS_PORT=1465
SERVERNAME=submission.lab.test
USER_NAME=carol@lab.test
USER_PASSWORD=carol-secret-3

die() {
    echo "dovecot-submission: ERROR: $*" >&2
    exit 1
}

[[ $STATE =~ ^/[A-Za-z0-9/._+-]+$ ]] ||
    die "SMTP_INSPECTOR_DOVECOT_SUBMISSION must be an absolute path of letters, digits and / . _ + - (got '$STATE')"

require_root() {
    [ "$(id -u)" = 0 ] || die "must run as root (it runs a Dovecot daemon)"
}

# The pid of this instance's Dovecot master, if it is alive (not a zombie).
dovecot_pid() {
    local pid stat
    pid=$(tr -d ' \n' 2>/dev/null <"$RUN/master.pid") || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dovecot ] && echo "$pid"
}
running() { dovecot_pid >/dev/null; }
