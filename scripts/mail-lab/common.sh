# Shared settings for scripts/mail-lab/start and stop (sourced, not executed).

LAB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE=${SMTP_INSPECTOR_MAIL_LAB:-/var/tmp/smtp-inspector-mail-lab}
LAB_HOST=127.0.0.1
PF_CONF=$STATE/postfix/etc          # the lab's own Postfix instance (postfix -c)
PF_QUEUE=$STATE/postfix/spool
PF_LOG=$STATE/postfix.log
DV_CONF=$STATE/dovecot/dovecot.conf # the lab's own Dovecot (dovecot -c)
DV_RUN=$STATE/dovecot/run
DV_LOG=$STATE/dovecot.log
PG_DIR=$STATE/postgrey             # the lab's postgrey (greylisting policy on 127.0.0.1:10591)

die() {
    echo "mail-lab: ERROR: $*" >&2
    exit 1
}

# The state directory ends up inside Postfix and Dovecot configuration files.
case $STATE in
    /*) ;;
    *) die "SMTP_INSPECTOR_MAIL_LAB must be an absolute path (got '$STATE')" ;;
esac
[[ $STATE =~ ^[A-Za-z0-9/._+-]+$ ]] ||
    die "SMTP_INSPECTOR_MAIL_LAB may only contain letters, digits and / . _ + - (got '$STATE')"
STATE=${STATE%/}

require_root() {
    [ "$(id -u)" = 0 ] || die "must run as root (it runs Postfix and Dovecot daemons)"
}

# True if process $1 exists and is not a zombie (PID 1 on some CI machines does
# not reap orphans, and kill -0 succeeds on zombies).
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# Prints the pid recorded in pid file $1 if that process is alive and its
# command name is $2 (guards against stale pid files and reused pids).
pid_from() {
    local pid
    pid=$(tr -d ' \n' 2>/dev/null <"$1") || return 1
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" &&
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && echo "$pid"
}

postfix_pid() { pid_from "$PF_QUEUE/pid/master.pid" master; }
dovecot_pid() { pid_from "$DV_RUN/master.pid" dovecot; }
postfix_running() { postfix_pid >/dev/null; }
dovecot_running() { dovecot_pid >/dev/null; }
# postgrey (Perl) renames its process: its command name starts with "postgrey".
postgrey_pid() {
    local pid
    pid=$(tr -d ' \n' 2>/dev/null <"$PG_DIR/postgrey.pid") || return 1
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" &&
        [[ $(cat "/proc/$pid/comm" 2>/dev/null) == postgrey* ]] && echo "$pid"
}
postgrey_running() { postgrey_pid >/dev/null; }
