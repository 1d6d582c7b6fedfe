# shellcheck shell=bash
# deploy/local/lib.sh - start/stop/wait helpers shared by deploy/local/up.sh,
# deploy/local/down.sh and tests/harness/servers.sh. Source it; it only defines
# functions (prefix saga_) and changes no shell options.
#
# Process model: every daemon runs in its own session (setsid), stdin from
# /dev/null, stdout+stderr appended to its log file, and its pid in a pid file
# written by the process itself just before it execs the daemon, so the pid is
# exact. "Alive" means the pid exists, is not a zombie, and (when a name is
# given) its command line mentions that name, so a recycled pid is never signalled.

# Prints a progress line on stdout.
saga_say() {
    printf '==> %s\n' "$*"
}

# Prints an error on stderr.
saga_err() {
    printf 'error: %s\n' "$*" >&2
}

# saga_tail_log LOGFILE: the last 40 lines of a log on stderr, framed.
saga_tail_log() {
    local log=$1
    if [[ -s $log ]]; then
        printf -- '---- last lines of %s ----\n' "$log" >&2
        tail -n 40 "$log" >&2
        printf -- '---- end of %s ----\n' "$log" >&2
    else
        printf -- '(%s is empty or missing)\n' "$log" >&2
    fi
}

# saga_pid_read PIDFILE: prints the pid in PIDFILE; fails if there is none.
saga_pid_read() {
    local pidfile=$1 pid
    [[ -s $pidfile ]] || return 1
    read -r pid <"$pidfile" || [[ -n ${pid:-} ]] || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    printf '%s\n' "$pid"
}

# saga_pid_running PID [NAME]: true if PID is a live (non-zombie) process whose
# command line contains NAME (when given).
saga_pid_running() {
    local pid=$1 name=${2:-} state cmdline
    [[ -r /proc/$pid/stat ]] || return 1
    # Field 3 of /proc/PID/stat, after the parenthesised command name.
    state=$(sed -e 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [[ -n $state && $state != Z && $state != X ]] || return 1
    if [[ -n $name ]]; then
        cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
        [[ $cmdline == *"$name"* ]] || return 1
    fi
    return 0
}

# saga_pid_alive PIDFILE [NAME]: true if PIDFILE names a live process (see above).
saga_pid_alive() {
    local pid
    pid=$(saga_pid_read "$1") || return 1
    saga_pid_running "$pid" "${2:-}"
}

# saga_port_in_use PORT: true if something accepts TCP connections on 127.0.0.1:PORT.
saga_port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# saga_start PIDFILE LOGFILE CMD [ARGS...]: starts CMD in a new session in the
# background with the current directory and environment, and waits (up to 5 s)
# until its pid file exists. Any previous PIDFILE is replaced.
saga_start() {
    local pidfile=$1 log=$2 i
    shift 2
    rm -f "$pidfile" "$pidfile.tmp"
    mkdir -p "$(dirname "$pidfile")" "$(dirname "$log")"
    # The inner shell writes its own pid and then execs the daemon, so the pid
    # file holds the daemon's pid whether or not setsid had to fork.
    # shellcheck disable=SC2016
    setsid bash -c 'echo "$$" >"$0.tmp" && mv -f "$0.tmp" "$0" && exec "$@"' \
        "$pidfile" "$@" </dev/null >>"$log" 2>&1 &
    for ((i = 0; i < 50; i++)); do
        [[ -s $pidfile ]] && return 0
        sleep 0.1
    done
    saga_err "could not start $1 (no pid file $pidfile after 5 s)"
    saga_tail_log "$log"
    return 1
}

# saga_wait_until WHAT TIMEOUT_S PIDFILE LOGFILE CMD [ARGS...]: runs CMD every
# 0.2 s until it succeeds. Fails (with the log's tail) on timeout, or at once if
# the process in PIDFILE dies meanwhile (PIDFILE may be "" to skip that check).
# The timeout starts again while LOGFILE's last line says a migration is running
# (db.migrating).
saga_wait_until() {
    local what=$1 timeout=$2 pidfile=$3 log=$4 deadline told=""
    shift 4
    deadline=$((SECONDS + timeout))
    while ! "$@" >/dev/null 2>&1; do
        if [[ -n $pidfile ]] && ! saga_pid_alive "$pidfile"; then
            saga_err "$what exited during start-up"
            saga_tail_log "$log"
            return 1
        fi
        # a service says so before each migration, and one that converts a grown
        # database takes minutes: no time limit while it does
        if [[ -n $log ]] && tail -n 1 "$log" 2>/dev/null | grep -q '"event":"db.migrating"'; then
            [[ -n $told ]] || saga_say "$what: applying a migration (minutes on a grown database)"
            told=1
            deadline=$((SECONDS + timeout))
            sleep 1
            continue
        fi
        if ((SECONDS >= deadline)); then
            saga_err "$what not ready after ${timeout} s"
            saga_tail_log "$log"
            return 1
        fi
        sleep 0.2
    done
}

# saga_wait_exit PID TIMEOUT_S: waits until PID is gone (or a zombie).
saga_wait_exit() {
    local pid=$1 deadline=$((SECONDS + $2))
    while saga_pid_running "$pid"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# saga_stop WHAT PIDFILE [NAME] [TIMEOUT_S]: SIGTERM to the process in PIDFILE,
# SIGKILL (to its whole session's process group) if it is still there after
# TIMEOUT_S (default 15); removes PIDFILE. A stale or missing pid file is fine.
saga_stop() {
    local what=$1 pidfile=$2 name=${3:-} timeout=${4:-15} pid
    if ! pid=$(saga_pid_read "$pidfile"); then
        rm -f "$pidfile"
        return 0
    fi
    if ! saga_pid_running "$pid" "$name"; then
        saga_say "$what: not running (stale pid file removed)"
        rm -f "$pidfile"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    if ! saga_wait_exit "$pid" "$timeout"; then
        saga_say "$what: still running after ${timeout} s, sending SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        saga_wait_exit "$pid" 5 || saga_err "$what (pid $pid) survived SIGKILL"
    fi
    saga_say "$what: stopped (pid $pid)"
    rm -f "$pidfile"
}

# saga_http_ok URL: true if GET URL answers 2xx within 2 s.
saga_http_ok() {
    curl -fsS -o /dev/null --max-time 2 "$1"
}

# ---- MariaDB ------------------------------------------------------------------

# The server's administrator: the operating-system user running the stack (root, or
# whoever runs it), authenticated by the unix socket's peer credentials only, never a
# password and never over TCP (saga_mysql_init, saga_mysql_secure).
saga_mysql_admin_user() {
    id -un
}

# saga_mysql SOCKET [ARGS...]: the mariadb client as the administrator over the socket.
saga_mysql() {
    local sock=$1
    shift
    mariadb --no-defaults --protocol=socket --socket="$sock" -u"$(saga_mysql_admin_user)" "$@"
}

# saga_mysql_pool_status SOCKET dump|load: MariaDB's Innodb_buffer_pool_<dump|load>_status
# ("Buffer pool(s) load completed at <time>", "Loaded 123/456 pages", ...)
saga_mysql_pool_status() {
    saga_mysql "$1" -N -B -e "SHOW STATUS LIKE 'Innodb_buffer_pool_$2_status'" | cut -f2
}

# saga_mysql_admin SOCKET [ARGS...]: mariadb-admin as the administrator over the socket.
saga_mysql_admin() {
    local sock=$1
    shift
    mariadb-admin --no-defaults --protocol=socket --socket="$sock" \
        -u"$(saga_mysql_admin_user)" "$@"
}

# saga_mysql_ping SOCKET: true once the server answers over the socket.
saga_mysql_ping() {
    saga_mysql_admin "$1" --connect-timeout=2 ping
}

# saga_mysql_init DATADIR LOGFILE [MARIADBD_OPTIONS...]: creates the system tables
# in DATADIR unless they exist: root@localhost (and the administrator, when another
# user runs the stack) by unix-socket authentication only, no other account, no test
# database. Options that shape the files (e.g. --innodb-log-file-size) must be the
# same as at start.
saga_mysql_init() {
    local datadir=$1 log=$2
    shift 2
    [[ -d $datadir/mysql ]] && return 0
    mkdir -p "$datadir" "$(dirname "$log")"
    if ! mariadb-install-db --no-defaults --datadir="$datadir" --user=root \
        --auth-root-authentication-method=socket \
        --auth-root-socket-user="$(saga_mysql_admin_user)" --skip-test-db --skip-name-resolve \
        "$@" >>"$log" 2>&1; then
        saga_err "mariadb-install-db failed for $datadir"
        saga_tail_log "$log"
        rm -rf "$datadir"
        return 1
    fi
}

# saga_mysql_secure SOCKET: makes a running server's accounts what saga_mysql_init
# makes, for data directories made before (when root had no password, also over
# TCP): the administrator and root@localhost by unix-socket authentication only;
# every other root account, every anonymous account and every account without a
# password that TCP can reach dropped. Idempotent.
saga_mysql_secure() {
    local sock=$1 admin accounts account sql=""
    admin=$(saga_mysql_admin_user)
    if ! saga_mysql "$sock" -e 'SELECT 1' >/dev/null 2>&1; then
        # a data directory from before, where only a password-less root gets in
        sql+="CREATE USER IF NOT EXISTS '$admin'@'localhost' IDENTIFIED VIA unix_socket;"
        sql+="GRANT ALL PRIVILEGES ON *.* TO '$admin'@'localhost' WITH GRANT OPTION;"
        mariadb --no-defaults --protocol=socket --socket="$sock" -uroot <<<"$sql" || {
            saga_err "cannot log in to MariaDB at $sock as $admin (unix socket) nor as root"
            return 1
        }
        sql=""
    fi
    accounts=$(saga_mysql "$sock" -N -B -e "
        SELECT CONCAT(QUOTE(user), '@', QUOTE(host)) FROM mysql.user
        WHERE (user IN ('root', '') AND host <> 'localhost') OR user = ''
           OR (host <> 'localhost' AND authentication_string = ''
               AND plugin IN ('', 'mysql_native_password', 'mysql_old_password')
               AND is_role = 'N' AND user <> 'mariadb.sys')") || return 1
    for account in $accounts; do
        sql+="DROP USER $account;"
    done
    sql+="ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket;"
    [[ $admin == root ]] || sql+="ALTER USER '$admin'@'localhost' IDENTIFIED VIA unix_socket;"
    saga_mysql "$sock" <<<"$sql"
}

# saga_mysql_service_users_sql DB USER PASSWORD MIGRATE_USER MIGRATE_PASSWORD HOST...:
# prints the SQL that creates database DB if it is missing and, at each HOST, its two
# accounts: USER, the service at run time, with SELECT, INSERT, UPDATE, DELETE on DB
# and nothing else (its named locks and SELECT ... FOR UPDATE need no more); and
# MIGRATE_USER, which applies the migrations at start (SAGA_MYSQL_MIGRATE_USER): the
# same plus CREATE, ALTER, DROP, INDEX, REFERENCES on DB. Passwords are set again and
# every other privilege revoked, so a run on an older stack ends with exactly these
# grants. Passwords must need no quoting (the secrets are hex). Feed it to saga_mysql
# on stdin, which keeps the passwords out of the process list.
saga_mysql_service_users_sql() {
    local db=$1 user=$2 pw=$3 muser=$4 mpw=$5 host
    shift 5
    # `_` is a wildcard in a GRANT's database name
    local gdb=${db//_/\\_}
    printf 'CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;\n' "$db"
    for host in "$@"; do
        printf "CREATE USER IF NOT EXISTS '%s'@'%s' IDENTIFIED BY '%s';\n" "$user" "$host" "$pw"
        printf "ALTER USER '%s'@'%s' IDENTIFIED BY '%s';\n" "$user" "$host" "$pw"
        printf "REVOKE ALL PRIVILEGES, GRANT OPTION FROM '%s'@'%s';\n" "$user" "$host"
        printf "GRANT SELECT, INSERT, UPDATE, DELETE ON \`%s\`.* TO '%s'@'%s';\n" \
            "$gdb" "$user" "$host"
        printf "CREATE USER IF NOT EXISTS '%s'@'%s' IDENTIFIED BY '%s';\n" "$muser" "$host" "$mpw"
        printf "ALTER USER '%s'@'%s' IDENTIFIED BY '%s';\n" "$muser" "$host" "$mpw"
        printf "REVOKE ALL PRIVILEGES, GRANT OPTION FROM '%s'@'%s';\n" "$muser" "$host"
        printf "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES"
        printf " ON \`%s\`.* TO '%s'@'%s';\n" "$gdb" "$muser" "$host"
    done
}

# saga_mysql_start PIDFILE LOGFILE DATADIR SOCKET PORT [MARIADBD_OPTIONS...]:
# starts mariadbd on 127.0.0.1:PORT and SOCKET and waits (60 s) until it answers;
# the socket is then made 0600 (keep its directory private too: the server creates it
# world-writable).
saga_mysql_start() {
    local pidfile=$1 log=$2 datadir=$3 sock=$4 port=$5
    shift 5
    if saga_port_in_use "$port"; then
        saga_err "port $port is already in use: cannot start MariaDB there"
        return 1
    fi
    saga_start "$pidfile" "$log" mariadbd --no-defaults --datadir="$datadir" \
        --socket="$sock" --port="$port" --bind-address=127.0.0.1 --user=root \
        --pid-file="$datadir/mariadbd.pid" --log-error="$log" --skip-name-resolve \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_bin \
        "$@" || return 1
    saga_wait_until "MariaDB on port $port" 60 "$pidfile" "$log" saga_mysql_ping "$sock" ||
        return 1
    # mariadbd makes its socket world-writable: only the stack's own user may use it
    chmod 0600 "$sock"
}

# saga_mysql_stop PIDFILE SOCKET [TIMEOUT_S]: a clean shutdown over the socket,
# falling back to SIGTERM/SIGKILL; removes PIDFILE.
saga_mysql_stop() {
    local pidfile=$1 sock=$2 timeout=${3:-15} pid
    if pid=$(saga_pid_read "$pidfile") && saga_pid_running "$pid" mariadbd &&
        saga_mysql_admin "$sock" --connect-timeout=2 shutdown >/dev/null 2>&1 &&
        saga_wait_exit "$pid" "$timeout"; then
        saga_say "MariaDB: stopped (pid $pid)"
        rm -f "$pidfile"
        return 0
    fi
    # No answer over the socket, or still there: signals.
    saga_stop MariaDB "$pidfile" mariadbd "$timeout"
}

# ---- Redis --------------------------------------------------------------------

# saga_redis_cli PORT [PASSWORD_FILE] [ARGS...]: redis-cli on 127.0.0.1:PORT,
# authenticated with the password in PASSWORD_FILE ("" for none) through the
# environment, not the command line.
saga_redis_cli() {
    local port=$1 pwfile=${2:-}
    shift 2 || shift $#
    if [[ -n $pwfile ]]; then
        REDISCLI_AUTH=$(<"$pwfile") redis-cli --no-auth-warning -h 127.0.0.1 -p "$port" "$@"
    else
        redis-cli -h 127.0.0.1 -p "$port" "$@"
    fi
}

# saga_redis_ping PORT [PASSWORD_FILE]: true once Redis on 127.0.0.1:PORT answers PONG
# (to that password).
saga_redis_ping() {
    [[ $(saga_redis_cli "$1" "${2:-}" ping 2>/dev/null) == PONG ]]
}

# saga_redis_start PIDFILE LOGFILE DIR PORT [PASSWORD_FILE]: an in-memory Redis (no
# RDB, no AOF) on 127.0.0.1:PORT, working directory DIR; with PASSWORD_FILE, every
# client must AUTH with the password in it (requirepass, written to DIR/redis.conf,
# mode 0600, not on the command line). Waits (30 s) until it answers.
saga_redis_start() {
    local pidfile=$1 log=$2 dir=$3 port=$4 pwfile=${5:-} conf=$3/redis.conf
    if saga_port_in_use "$port"; then
        saga_err "port $port is already in use: cannot start Redis there"
        return 1
    fi
    mkdir -p "$dir"
    (umask 077 && : >"$conf") || return 1
    [[ -z $pwfile ]] || printf 'requirepass %s\n' "$(<"$pwfile")" >"$conf"
    saga_start "$pidfile" "$log" redis-server "$conf" --port "$port" --bind 127.0.0.1 \
        --dir "$dir" --daemonize no --save '' --appendonly no || return 1
    saga_wait_until "Redis on port $port" 30 "$pidfile" "$log" saga_redis_ping "$port" "$pwfile"
}

# ---- broker -------------------------------------------------------------------

# saga_broker_start PIDFILE LOGFILE BINARY BOOTSTRAP_FILE CONTROL_PORT [ARGS...]:
# starts saga-broker and waits (30 s) until it has written BOOTSTRAP_FILE (it does
# so after its topics exist and its control API listens).
saga_broker_start() {
    local pidfile=$1 log=$2 bin=$3 bsfile=$4 port=$5
    shift 5
    if [[ ! -x $bin ]]; then
        saga_err "broker binary $bin not found or not executable"
        return 1
    fi
    if saga_port_in_use "$port"; then
        saga_err "port $port is already in use: cannot start the broker's control API there"
        return 1
    fi
    rm -f "$bsfile"
    saga_start "$pidfile" "$log" "$bin" --bootstrap-file "$bsfile" \
        --control-port "$port" "$@" || return 1
    saga_wait_until "broker" 30 "$pidfile" "$log" test -s "$bsfile"
}
