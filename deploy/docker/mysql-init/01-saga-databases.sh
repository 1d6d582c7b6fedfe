#!/bin/bash
# deploy/docker/mysql-init/01-saga-databases.sh - run once by the mysql:8.0 image's
# entrypoint on an empty data directory (mounted at /docker-entrypoint-initdb.d).
#
# Creates the four service databases and one least-privilege user per service (ALL
# on its own database only, nothing else), plus saga_audit with SELECT on all
# four for tools/audit, and saga-console's read-only users saga_console_<service>
# (SELECT on that service's database only). Passwords come from the container's
# environment (set from .env by docker-compose.yml), never from this file:
#   SAGA_ORDER_DB_PASSWORD, SAGA_PAYMENT_DB_PASSWORD, SAGA_INVENTORY_DB_PASSWORD,
#   SAGA_NOTIFICATION_DB_PASSWORD, SAGA_AUDIT_DB_PASSWORD, SAGA_CONSOLE_DB_PASSWORD
# The tables are created by each service's own migrations at start-up.
#
# The users authenticate with mysql_native_password: the services' client library
# (MariaDB Connector/C) then needs neither TLS nor the server's RSA key.
set -euo pipefail

# sql_string VALUE: VALUE as a single-quoted SQL string literal.
sql_string() {
    local v=${1//\\/\\\\}
    v=${v//\'/\'\'}
    printf "'%s'" "$v"
}

need() {
    if [[ -z ${!1:-} ]]; then
        echo "01-saga-databases.sh: $1 is not set (see .env.example)" >&2
        exit 1
    fi
}

statements=""
for svc in order payment inventory notification; do
    var=SAGA_${svc^^}_DB_PASSWORD
    need "$var"
    pw=$(sql_string "${!var}")
    statements+="
CREATE DATABASE IF NOT EXISTS \`saga_$svc\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER IF NOT EXISTS 'saga_$svc'@'%' IDENTIFIED WITH mysql_native_password BY $pw;
GRANT ALL PRIVILEGES ON \`saga_$svc\`.* TO 'saga_$svc'@'%';"
done

need SAGA_AUDIT_DB_PASSWORD
pw=$(sql_string "$SAGA_AUDIT_DB_PASSWORD")
statements+="
CREATE USER IF NOT EXISTS 'saga_audit'@'%' IDENTIFIED WITH mysql_native_password BY $pw;"
for svc in order payment inventory notification; do
    statements+="
GRANT SELECT ON \`saga_$svc\`.* TO 'saga_audit'@'%';"
done
# saga-console: one read-only user per database (one password for the four)
need SAGA_CONSOLE_DB_PASSWORD
pw=$(sql_string "$SAGA_CONSOLE_DB_PASSWORD")
for svc in order payment inventory notification; do
    statements+="
CREATE USER IF NOT EXISTS 'saga_console_$svc'@'%' IDENTIFIED WITH mysql_native_password BY $pw;
GRANT SELECT ON \`saga_$svc\`.* TO 'saga_console_$svc'@'%';"
done
statements+="
FLUSH PRIVILEGES;"

# The entrypoint's temporary server listens on its socket only during init.
MYSQL_PWD=${MYSQL_ROOT_PASSWORD} mysql --protocol=socket -uroot <<<"$statements"
echo "01-saga-databases.sh: created saga_order, saga_payment, saga_inventory," \
    "saga_notification, their users, saga_audit and saga_console_<service> (read-only)"
