/* db_migrate.c - the schema migrations applied at start-up (see saga_db_migrate in
 * db.h). */
#include "saga/db.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"
#include "saga/file.h"
#include "saga/log.h"

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_migration_name(const char *name)
{
    size_t n = strlen(name);
    return n > 8 && name[0] >= '0' && name[0] <= '9' && name[1] >= '0' && name[1] <= '9' &&
           name[2] >= '0' && name[2] <= '9' && name[3] == '_' &&
           strcmp(name + n - 4, ".sql") == 0;
}

/* Applies the pending migrations of one directory. A missing directory is fine. */
static int migrate_dir(saga_db *db, const char *dir, const char *sub, char *err, size_t errlen)
{
    char path[1024];
    char **names = NULL;
    size_t n = 0, cap = 0;
    DIR *d;
    struct dirent *de;
    int rc = SAGA_OK;

    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    d = opendir(path);
    if (!d)
        return SAGA_OK;
    while ((de = readdir(d))) {
        if (!is_migration_name(de->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = realloc(names, cap * sizeof(*names));
            if (!grown) {
                rc = SAGA_ERR_NOMEM;
                goto out;
            }
            names = grown;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = SAGA_ERR_NOMEM;
            goto out;
        }
        n++;
    }
    if (n)
        qsort(names, n, sizeof(*names), name_cmp);

    for (size_t i = 0; i < n; i++) {
        char id[512];
        long long seen = 0;
        snprintf(id, sizeof(id), "%s/%s", sub, names[i]);
        saga_param p[] = {SAGA_P_STR(id)};
        rc = saga_db_query_i64(db, "SELECT COUNT(*) FROM schema_migrations WHERE name = ?", p, 1,
                               &seen);
        if (rc)
            goto db_error;
        if (seen)
            continue;
        snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, names[i]);
        char *sql = NULL;
        size_t sql_len;
        if (saga_file_read(path, 16 * 1024 * 1024, &sql, &sql_len) != SAGA_OK) {
            snprintf(err, errlen, "cannot read migration %s: %s", path, strerror(errno));
            rc = SAGA_ERR_INVALID;
            goto out;
        }
        /* said before it runs: converting a grown table takes minutes, and whoever
         * waits for the service (deploy/local/up.sh) reads this to keep waiting */
        LOG_INFO("db.migrating", "applying migration %s", id);
        rc = saga_db_exec_script(db, sql);
        free(sql);
        if (rc) {
            snprintf(err, errlen, "migration %s failed: %s", id, saga_db_error(db));
            goto out;
        }
        rc = saga_db_exec(db, "INSERT INTO schema_migrations (name) VALUES (?)", p, 1, NULL,
                          NULL);
        if (rc)
            goto db_error;
        LOG_INFO("db.migrated", "applied migration %s", id);
    }
    goto out;
db_error:
    snprintf(err, errlen, "recording migrations failed: %s", saga_db_error(db));
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

int saga_db_migrate(saga_db *db, const char *dir, const char *service, char *err, size_t errlen)
{
    long long locked = 0;
    int rc;

    rc = saga_db_exec_script(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                 " name VARCHAR(255) NOT NULL PRIMARY KEY,"
                                 " applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)"
                                 ") ENGINE=InnoDB");
    if (rc) {
        snprintf(err, errlen, "cannot create schema_migrations: %s", saga_db_error(db));
        return rc;
    }
    /* two instances starting together must not apply the same file twice */
    rc = saga_db_query_i64(db, "SELECT GET_LOCK(CONCAT(DATABASE(), '.migrate'), 60)", NULL, 0,
                           &locked);
    if (rc || locked != 1) {
        snprintf(err, errlen, "cannot take the migration lock: %s",
                 rc ? saga_db_error(db) : "timeout");
        return rc ? rc : SAGA_ERR_UNAVAILABLE;
    }
    rc = migrate_dir(db, dir, "common", err, errlen);
    if (rc == SAGA_OK)
        rc = migrate_dir(db, dir, service, err, errlen);
    saga_db_query_i64(db, "SELECT RELEASE_LOCK(CONCAT(DATABASE(), '.migrate'))", NULL, 0,
                      &locked);
    return rc;
}
