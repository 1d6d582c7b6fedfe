#!/bin/bash
# deploy/docker/mysql-init/01-saga-databases.sh - run once by the mysql:8.0 image's
# entrypoint on an empty data directory (mounted at /docker-entrypoint-initdb.d).
#
# Creates the four service databases and, per service, two least-privilege users:
#   saga_<svc>_migrate  the schema: every privilege on its own database only (the
#                       service runs its migrations with it, SAGA_MYSQL_MIGRATE_USER)
#   saga_<svc>          the running service: SELECT, INSERT, UPDATE, DELETE on its
#                       own database only (SAGA_MYSQL_USER)
# plus saga_audit with SELECT on the four databases (tools/audit). Nobody else gets
# anything; nothing ON *.*.
#
# The passwords are files in SAGA_MYSQL_SECRETS_DIR (default /run/saga/secrets, the
# secrets-mysql volume that the `secrets` service fills, deploy/docker/secrets.sh),
# one per user, named after it; never in this file or in the environment. Root
# comes from MYSQL_ROOT_PASSWORD, which the image's entrypoint reads from
# MYSQL_ROOT_PASSWORD_FILE. The tables are created by each service's migrations.
#
# Plain `IDENTIFIED BY`, valid on MySQL 8 and MariaDB (CI runs this script against
# MariaDB, tests/compose/image.sh): docker-compose.yml starts MySQL with
# mysql_native_password as the default plugin, so the services' client library
# (MariaDB Connector/C) needs neither TLS nor the server's RSA key.
set -euo pipefail

SECRETS=${SAGA_MYSQL_SECRETS_DIR:-/run/saga/secrets}
SERVICES=(order payment inventory notification)

# sql_string VALUE: VALUE as a single-quoted SQL string literal.
sql_string() {
    local v=${1//\\/\\\\}
    v=${v//\'/\'\'}
    printf "'%s'" "$v"
}

# password USER: USER's password, from its file (one line).
password() {
    local file=$SECRETS/$1 pw
    if [[ ! -s $file ]]; then
        echo "01-saga-databases.sh: $file is missing or empty: the password of MySQL user $1" \
            "(made by the secrets service; SAGA_MYSQL_SECRETS_DIR=$SECRETS)" >&2
        exit 1
    fi
    pw=$(<"$file")
    sql_string "$pw"
}

statements=""
# add SQL: appends SQL (one statement) to the statements.
add() {
    statements+="$1"$'\n'
}

# user NAME: adds CREATE USER for NAME with its password.
user() {
    local pw
    pw=$(password "$1") || exit 1
    add "CREATE USER IF NOT EXISTS '$1'@'%' IDENTIFIED BY $pw;"
}

for svc in "${SERVICES[@]}"; do
    add "CREATE DATABASE IF NOT EXISTS \`saga_$svc\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;"
    user "saga_${svc}_migrate"
    add "GRANT ALL PRIVILEGES ON \`saga_$svc\`.* TO 'saga_${svc}_migrate'@'%';"
    user "saga_$svc"
    add "GRANT SELECT, INSERT, UPDATE, DELETE ON \`saga_$svc\`.* TO 'saga_$svc'@'%';"
done
user saga_audit
for svc in "${SERVICES[@]}"; do
    add "GRANT SELECT ON \`saga_$svc\`.* TO 'saga_audit'@'%';"
done
# saga-console: one read-only user per database, SELECT on it and nothing else
for svc in "${SERVICES[@]}"; do
    user "saga_console_$svc"
    add "GRANT SELECT ON \`saga_$svc\`.* TO 'saga_console_$svc'@'%';"
done
add "FLUSH PRIVILEGES;"

# The entrypoint's temporary server listens on its socket only during init.
MYSQL_PWD=${MYSQL_ROOT_PASSWORD:-} mysql --protocol=socket -uroot <<<"$statements"
echo "01-saga-databases.sh: created saga_order, saga_payment, saga_inventory," \
    "saga_notification, their migrate and runtime users, saga_audit and saga-console's" \
    "saga_console_<service> (read-only)"
