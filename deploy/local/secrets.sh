# shellcheck shell=bash
# deploy/local/secrets.sh - the local stack's secrets, made on first run and kept in
# .local/secrets/ (mode 0700; nothing here is ever committed):
#
#   jwt-private.pem             ES256 signing key (0600): deploy/local/token.sh mints with it
#   jwt-public.pem              what the services verify with (SAGA_JWT_KEY_FILE)
#   mysql-<service>.password    the MariaDB password of saga_<service>, the service's
#                               runtime user (0600, like every file here)
#   mysql-<service>-migrate.password   of saga_<service>_migrate, which applies its migrations
#   mysql-audit.password        of saga_audit, the audit's read-only user
#   mysql-console-<service>.password   of saga_console_<service>, saga-console's
#                               read-only user on that service's database
#   redis.password              Redis's (requirepass; the services' SAGA_REDIS_PASSWORD)
#
# Source it (after lib.sh); it only defines functions (prefix saga_secrets_) and
# changes no shell options. up.sh calls saga_secrets_init once the build is done,
# uses saga_secrets_password (saga_secrets_mysql_password) for the users and the services, and
# saga_secrets_service_stale to restart a service that runs with other secrets.

# saga_secrets_init DIR TOKEN_BINARY: creates DIR (0700) with whatever of the key
# pair and the passwords is missing; keeps what exists.
saga_secrets_init() {
    local dir=$1 token_bin=$2 name file
    (umask 077 && mkdir -p "$dir") || return 1
    chmod 0700 "$dir"
    if [[ ! -s $dir/jwt-private.pem || ! -s $dir/jwt-public.pem ]]; then
        if [[ ! -x $token_bin ]]; then
            saga_err "$token_bin is not built: cannot make the JWT key pair"
            return 1
        fi
        # a lone half of a pair is useless: start the pair over
        rm -f "$dir/jwt-private.pem" "$dir/jwt-public.pem"
        "$token_bin" keygen "$dir" || return 1
        saga_say "secrets: new ES256 key pair in $dir"
    fi
    for name in mysql-{order,payment,inventory,notification}{,-migrate} mysql-audit redis \
        mysql-console-{order,payment,inventory,notification}; do
        file=$dir/$name.password
        [[ -s $file ]] && continue
        # 24 random bytes as hex: nothing to quote in SQL, a config file or the shell
        (umask 077 && od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$file.tmp" &&
            mv -f "$file.tmp" "$file") || return 1
        saga_say "secrets: new password in $file"
    done
}

# saga_secrets_password DIR NAME: prints the password in DIR/NAME.password (NAME:
# mysql-order, mysql-order-migrate, mysql-audit, redis, ...).
saga_secrets_password() {
    local file=$1/$2.password pw
    read -r pw <"$file" || [[ -n ${pw:-} ]] || {
        saga_err "no password in $file (run deploy/local/up.sh)"
        return 1
    }
    printf '%s\n' "$pw"
}

# saga_secrets_mysql_password DIR SERVICE: prints saga_SERVICE's MariaDB password.
saga_secrets_mysql_password() {
    saga_secrets_password "$1" "mysql-$2"
}

# saga_secrets_service_stale PIDFILE VAR=VALUE...: true if the process in PIDFILE
# runs without one of these exact environment settings (it was started with older
# secrets, or against another broker), so it must be restarted.
saga_secrets_service_stale() {
    local pidfile=$1 environ setting
    shift
    environ=$(tr '\0' '\n' <"/proc/$(saga_pid_read "$pidfile")/environ" 2>/dev/null) || return 0
    for setting in "$@"; do
        grep -qxF -- "$setting" <<<"$environ" || return 0
    done
    return 1
}
