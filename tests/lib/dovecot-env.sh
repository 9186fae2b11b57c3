# shellcheck shell=bash
# tests/lib/dovecot-env.sh: a throwaway Dovecot POP3 server for captures and tests.
#
# Source this file (bash), then:
#   dovecot_env_start DIR PORT [ADDR]   write DIR/dovecot.conf, start dovecot -c DIR/dovecot.conf
#                                       listening on ADDR (default 127.0.0.1) port PORT, wait
#                                       until it answers with a POP3 greeting
#   dovecot_env_add_message DIR USER FILE
#                                       deliver FILE (an RFC 5322 message, LF or CRLF line ends)
#                                       into USER's INBOX (doveadm save), served by POP3 in order
#   dovecot_env_stop DIR                stop that instance (only it: pid from DIR/run/master.pid)
#   dovecot_env_check_log DIR           print error/fatal/panic/warning lines of DIR/log/dovecot.log;
#                                       returns 1 if there are errors, fatals or panics
#   dovecot_env_password USER           print the throwaway password of USER (alice or bob)
#
# What the instance is:
#   * protocols = pop3 only; STLS with a throwaway self-signed certificate (openssl) in DIR/ssl;
#     no pop3s listener; ssl = yes with disable_plaintext_auth = no, so USER/PASS works in clear;
#     login_trusted_networks = loopback
#   * auth_mechanisms = plain login cram-md5 apop (APOP puts a <timestamp> in the greeting);
#     passwd-file DIR/passwd with {PLAIN} passwords, which every mechanism can use
#   * users alice and bob (virtual, userdb static), mail in maildir DIR/home/USER/Maildir,
#     owned by the system user "popflowmail" (created if missing); dovecot's internal/login users
#     are "dovecot"/"dovenull" (created if missing, as Debian's package does)
#   * base_dir, state_dir and logs under DIR; /etc/dovecot and any other running dovecot are
#     never touched. Refuses to start if ADDR:PORT is already listening.
# Needs: root, dovecot-core, dovecot-pop3d, openssl, iproute2 (ss), python3.
#
# Environment knobs:
#   DOVECOT_ENV_NO_PROBE=1   only wait for the listening socket; do not open a POP3 connection
#                            (the probe connection would appear in a capture already running)
#   DOVECOT_ENV_TIMEOUT=N    seconds to wait for start/stop (default 20)

DOVECOT_ENV_MAILUSER=${DOVECOT_ENV_MAILUSER:-popflowmail}
DOVECOT_ENV_USERS="alice bob"

dovecot_env_password() {
    case "$1" in
        alice) printf '%s\n' 'alice-pop3-test' ;;
        bob)   printf '%s\n' 'bob-pop3-test' ;;
        *) echo "dovecot-env: unknown user '$1'" >&2; return 1 ;;
    esac
}

_dovecot_env_err() { echo "dovecot-env: $*" >&2; }

_dovecot_env_ensure_user() {   # NAME [HOME]
    local name=$1
    if ! id -u "$name" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin --user-group "$name" ||
            { _dovecot_env_err "cannot create user $name"; return 1; }
    fi
}

_dovecot_env_listening() {     # ADDR PORT -> 0 if something listens there
    local addr=$1 port=$2
    ss -Hltn "sport = :$port" 2>/dev/null |
        awk -v a="$addr" -v p="$port" '
            { split($4, x, ":"); n = $4; sub(/:[0-9]+$/, "", n); gsub(/[\[\]]/, "", n)
              if (n == a || n == "*" || n == "0.0.0.0" || n == "::") f = 1 }
            END { exit f ? 0 : 1 }'
}

_dovecot_env_probe() {         # ADDR PORT -> 0 if a POP3 greeting "+OK" arrives
    python3 - "$1" "$2" <<'PY'
import socket, sys
addr, port = sys.argv[1], int(sys.argv[2])
try:
    s = socket.create_connection((addr, port), timeout=5)
    f = s.makefile("rb")
    line = f.readline()
    s.sendall(b"QUIT\r\n")
    f.readline()
    s.close()
except OSError:
    sys.exit(1)
sys.exit(0 if line.startswith(b"+OK") else 1)
PY
}

dovecot_env_start() {
    local dir=${1:?usage: dovecot_env_start DIR PORT [ADDR]} port=${2:?PORT missing}
    local addr=${3:-127.0.0.1} timeout=${DOVECOT_ENV_TIMEOUT:-20}
    local u i

    if [ "$(id -u)" -ne 0 ]; then _dovecot_env_err "must run as root"; return 1; fi
    for i in dovecot doveadm openssl ss python3; do
        command -v "$i" >/dev/null 2>&1 || { _dovecot_env_err "missing command: $i"; return 1; }
    done
    if [ ! -x /usr/lib/dovecot/pop3 ] && [ ! -x /usr/libexec/dovecot/pop3 ]; then
        _dovecot_env_err "dovecot pop3 binary missing (apt-get install -y dovecot-pop3d)"; return 1
    fi
    if _dovecot_env_listening "$addr" "$port"; then
        _dovecot_env_err "$addr:$port is already in use; not starting"; return 1
    fi
    _dovecot_env_ensure_user dovecot || return 1
    _dovecot_env_ensure_user dovenull || return 1
    _dovecot_env_ensure_user "$DOVECOT_ENV_MAILUSER" || return 1

    mkdir -p "$dir" || return 1
    dir=$(cd "$dir" && pwd) || return 1
    chmod 755 "$dir"
    mkdir -p "$dir/run" "$dir/state" "$dir/log" "$dir/ssl" "$dir/home"
    chmod 755 "$dir/run" "$dir/state" "$dir/log" "$dir/home"
    chmod 700 "$dir/ssl"
    : > "$dir/log/dovecot.log"

    if [ ! -s "$dir/ssl/cert.pem" ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
            -subj "/CN=pop3.popflow.test" \
            -keyout "$dir/ssl/key.pem" -out "$dir/ssl/cert.pem" >/dev/null 2>&1 ||
            { _dovecot_env_err "openssl could not make a certificate"; return 1; }
        chmod 600 "$dir/ssl/key.pem"
    fi

    : > "$dir/passwd"
    for u in $DOVECOT_ENV_USERS; do
        printf '%s:{PLAIN}%s\n' "$u" "$(dovecot_env_password "$u")" >> "$dir/passwd"
        mkdir -p "$dir/home/$u/Maildir/cur" "$dir/home/$u/Maildir/new" "$dir/home/$u/Maildir/tmp"
    done
    chown -R "$DOVECOT_ENV_MAILUSER:" "$dir/home"
    chown root:dovecot "$dir/passwd"
    chmod 640 "$dir/passwd"

    local muid mgid
    muid=$(id -u "$DOVECOT_ENV_MAILUSER") mgid=$(id -g "$DOVECOT_ENV_MAILUSER")
    cat > "$dir/dovecot.conf" <<EOF
# Generated by tests/lib/dovecot-env.sh: throwaway POP3 server, do not use elsewhere.
base_dir = $dir/run
state_dir = $dir/state
instance_name = popflow-$port
log_path = $dir/log/dovecot.log
info_log_path = $dir/log/dovecot.log
debug_log_path = $dir/log/dovecot.log
protocols = pop3
listen = $addr
shutdown_clients = yes

default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull

ssl = yes
ssl_cert = <$dir/ssl/cert.pem
ssl_key = <$dir/ssl/key.pem
disable_plaintext_auth = no
login_trusted_networks = 127.0.0.0/8 ::1/128

auth_mechanisms = plain login cram-md5 apop
auth_verbose = yes
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $dir/passwd
}
userdb {
  driver = static
  args = uid=$muid gid=$mgid home=$dir/home/%n
}
first_valid_uid = $muid
last_valid_uid = $muid
first_valid_gid = $mgid
last_valid_gid = $mgid
mail_location = maildir:~/Maildir

service pop3-login {
  inet_listener pop3 {
    address = $addr
    port = $port
  }
  inet_listener pop3s {
    port = 0
  }
}
protocol pop3 {
  pop3_uidl_format = %08Xu%08Xv
}
EOF
    doveconf -c "$dir/dovecot.conf" -n >/dev/null 2>"$dir/log/doveconf.err" ||
        { _dovecot_env_err "config rejected:"; cat "$dir/log/doveconf.err" >&2; return 1; }

    dovecot -c "$dir/dovecot.conf" ||
        { _dovecot_env_err "dovecot did not start"; dovecot_env_check_log "$dir"; return 1; }

    i=0
    until _dovecot_env_listening "$addr" "$port"; do
        i=$((i + 1))
        if [ "$i" -gt $((timeout * 10)) ] || [ ! -s "$dir/run/master.pid" ]; then
            _dovecot_env_err "dovecot is not listening on $addr:$port"
            dovecot_env_check_log "$dir"; dovecot_env_stop "$dir"; return 1
        fi
        sleep 0.1
    done
    if [ "${DOVECOT_ENV_NO_PROBE:-0}" != 1 ]; then
        i=0
        until _dovecot_env_probe "$addr" "$port"; do
            i=$((i + 1))
            if [ "$i" -gt "$timeout" ]; then
                _dovecot_env_err "no POP3 greeting from $addr:$port"
                dovecot_env_check_log "$dir"; dovecot_env_stop "$dir"; return 1
            fi
            sleep 1
        done
    fi
    if ! dovecot_env_check_log "$dir"; then dovecot_env_stop "$dir"; return 1; fi
    return 0
}

dovecot_env_add_message() {
    local dir=${1:?usage: dovecot_env_add_message DIR USER FILE} user=${2:?USER} file=${3:?FILE}
    [ -r "$file" ] || { _dovecot_env_err "cannot read $file"; return 1; }
    doveadm -c "$dir/dovecot.conf" save -u "$user" -m INBOX < "$file" ||
        { _dovecot_env_err "doveadm save of $file for $user failed"; return 1; }
}

dovecot_env_stop() {
    local dir=${1:?usage: dovecot_env_stop DIR} pid i timeout=${DOVECOT_ENV_TIMEOUT:-20}
    [ -s "$dir/run/master.pid" ] || return 0
    pid=$(cat "$dir/run/master.pid")
    # only our master: its command line names our config file
    if [ -r "/proc/$pid/cmdline" ] &&
       tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$dir/dovecot.conf"; then
        kill -TERM "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null; do
            i=$((i + 1))
            if [ "$i" -gt $((timeout * 10)) ]; then
                _dovecot_env_err "dovecot master $pid did not stop"; return 1
            fi
            sleep 0.1
        done
    fi
    rm -f "$dir/run/master.pid"
    return 0
}

dovecot_env_check_log() {
    local dir=${1:?usage: dovecot_env_check_log DIR} log
    log="$dir/log/dovecot.log"
    [ -f "$log" ] || return 0
    # the master's "Killed with signal 15" warning is our own dovecot_env_stop
    if grep -E '(Error|Fatal|Panic|Warning):' "$log" | grep -v 'master: Warning: Killed with signal 15' >&2; then
        if grep -qE '(Error|Fatal|Panic):' "$log"; then return 1; fi
    fi
    return 0
}
