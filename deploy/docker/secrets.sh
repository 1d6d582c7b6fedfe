#!/bin/bash
# deploy/docker/secrets.sh - installed in the image as saga-secrets: the one-shot
# that gives the docker-compose deployment its passwords and its token secret, so
# that `docker-compose up` needs no preparation and no secret is committed or typed.
#
#   saga-secrets            (docker-compose.yml's `secrets` service runs it as root)
#
# On the first run it makes every value at random (od over /dev/urandom: hex, safe
# in SQL, in redis.conf and in a shell); later runs keep them. The masters live in
# SAGA_SECRETS_DIR/master (a volume only this service mounts); each consumer gets
# only its own copies, in its own directory (a volume only that container mounts,
# read-only there), rewritten on every run:
#
#   mysql/          root, saga_<svc>, saga_<svc>_migrate, saga_audit: the passwords
#                   the MySQL container's init script creates the users with
#                   (deploy/docker/mysql-init/), root via MYSQL_ROOT_PASSWORD_FILE
#   redis/          password, redis.conf (requirepass)
#   <svc>/          mysql-password, mysql-migrate-password, redis-password, jwt-secret
#                   (the service's SAGA_*_FILE settings), for order, payment,
#                   inventory and notification
#   audit/          mysql-password (saga_audit, read-only)
#   token/          jwt-secret (saga-token signs with it)
#
# A value may be given instead (docker-compose passes these from an optional .env):
# MYSQL_ROOT_PASSWORD, SAGA_<SVC>_DB_PASSWORD, SAGA_<SVC>_DB_MIGRATE_PASSWORD (SVC =
# ORDER, PAYMENT, INVENTORY, NOTIFICATION), SAGA_AUDIT_DB_PASSWORD, SAGA_REDIS_PASSWORD
# and SAGA_JWT_SECRET. A MySQL password cannot change once made: MySQL keeps the one
# it was set up with in its data volume, so a different value is refused (start over
# with `docker-compose down -v`). A bad value is refused naming the variable and
# what it must be; then nothing else starts (every service waits for this one).
#
# Exit status: 0 done, 1 a value refused or a file not written.
set -euo pipefail
umask 022

DIR=${SAGA_SECRETS_DIR:-/run/saga}
SERVICES=(order payment inventory notification)
# what a password given in the environment may hold: it goes into SQL and redis.conf
PASSWORD_RE='^[A-Za-z0-9._~+/=@%:,-]{12,127}$'
PASSWORD_RULE="12 to 127 characters from letters, digits and ._~+/=@%:,-"

die() {
    printf 'saga-secrets: %s\n' "$*" >&2
    exit 1
}

# random_hex BYTES: BYTES random bytes as hex.
random_hex() {
    od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'
}

# write FILE VALUE: FILE holds VALUE and a newline (mode 0444: its directory is a
# volume only its consumer mounts), replaced atomically.
write() {
    printf '%s\n' "$2" >"$1.tmp.$$" || die "cannot write $1"
    chmod 0444 "$1.tmp.$$"
    mv -f "$1.tmp.$$" "$1"
}

# master NAME VAR KIND: the master value NAME, made on the first run or taken from the
# environment variable VAR when set. KIND: mysql (fixed once made), password or jwt.
# Prints nothing; the value is in the file DIR/master/NAME.
master() {
    local name=$1 var=$2 kind=$3 file=$DIR/master/$1 given=${!2:-}
    if [[ -n $given ]]; then
        case $kind in
            jwt)
                ((${#given} >= 32 && ${#given} <= 4096)) && [[ $given != *$'\n'* ]] ||
                    die "$var must be 32 to 4096 bytes on one line (it is ${#given} bytes);" \
                        "make one with: openssl rand -hex 32"
                ;;
            *)
                [[ $given =~ $PASSWORD_RE ]] || die "$var must be $PASSWORD_RULE"
                ;;
        esac
        if [[ $kind == mysql && -s $file && $(<"$file") != "$given" ]]; then
            die "$var differs from the password MySQL was set up with on the first start" \
                "(kept in the mysql-data volume): change it in MySQL too, or start over" \
                "with: docker-compose down -v"
        fi
        [[ -s $file && $(<"$file") == "$given" ]] || write "$file" "$given"
        echo "saga-secrets: $name from $var"
    elif [[ ! -s $file ]]; then
        if [[ $kind == jwt ]]; then
            write "$file" "$(random_hex 32)"
        else
            write "$file" "$(random_hex 24)"
        fi
        echo "saga-secrets: $name made"
    fi
}

# copy NAME DEST: the master NAME to the consumer's file DEST.
copy() {
    write "$2" "$(<"$DIR/master/$1")"
}

mkdir -p "$DIR/master" "$DIR/mysql" "$DIR/redis" "$DIR/audit" "$DIR/token"
chmod 0700 "$DIR/master"

master mysql-root MYSQL_ROOT_PASSWORD mysql
for svc in "${SERVICES[@]}"; do
    master "mysql-saga_$svc" "SAGA_${svc^^}_DB_PASSWORD" mysql
    master "mysql-saga_${svc}_migrate" "SAGA_${svc^^}_DB_MIGRATE_PASSWORD" mysql
done
master mysql-saga_audit SAGA_AUDIT_DB_PASSWORD mysql
for svc in "${SERVICES[@]}"; do # saga-console's read-only users
    master "mysql-saga_console_$svc" "SAGA_CONSOLE_${svc^^}_DB_PASSWORD" mysql
done
master redis SAGA_REDIS_PASSWORD password
master jwt-secret SAGA_JWT_SECRET jwt

copy mysql-root "$DIR/mysql/root"
users=(saga_audit)
for svc in "${SERVICES[@]}"; do
    users+=("saga_$svc" "saga_${svc}_migrate" "saga_console_$svc")
done
for user in "${users[@]}"; do
    copy "mysql-$user" "$DIR/mysql/$user"
done
copy redis "$DIR/redis/password"
write "$DIR/redis/redis.conf" "requirepass $(<"$DIR/master/redis")"
for svc in "${SERVICES[@]}"; do
    mkdir -p "$DIR/$svc"
    copy "mysql-saga_$svc" "$DIR/$svc/mysql-password"
    copy "mysql-saga_${svc}_migrate" "$DIR/$svc/mysql-migrate-password"
    copy redis "$DIR/$svc/redis-password"
    copy jwt-secret "$DIR/$svc/jwt-secret"
done
copy mysql-saga_audit "$DIR/audit/mysql-password"
copy jwt-secret "$DIR/token/jwt-secret"
mkdir -p "$DIR/console"
for svc in "${SERVICES[@]}"; do
    copy "mysql-saga_console_$svc" "$DIR/console/mysql-password-$svc"
done
copy jwt-secret "$DIR/console/jwt-secret"
echo "saga-secrets: done (in $DIR: mysql, redis, ${SERVICES[*]}, audit, token, console)"
