/* db_lock.c - named locks held by a connection, for one leader among instances
 * (see db.h). */
#include "saga/db.h"

#include "saga/err.h"

bool saga_db_lock_hold(saga_db *db, saga_db_lock *lock, bool *taken)
{
    long long got = 0;
    unsigned long conn = saga_db_connection_id(db);

    *taken = false;
    if (conn != 0 && conn == lock->conn_id)
        return true;
    lock->conn_id = 0; /* a new connection: the lock went with the old one */
    saga_param name = SAGA_P_STR(lock->name);
    if (saga_db_query_i64(db, "SELECT GET_LOCK(CONCAT(DATABASE(), '.', ?), 0)", &name, 1, &got) !=
            SAGA_OK ||
        got != 1)
        return false;
    lock->conn_id = saga_db_connection_id(db);
    *taken = true;
    return true;
}

bool saga_db_lock_held(saga_db *db, const saga_db_lock *lock)
{
    return lock->conn_id != 0 && saga_db_connection_id(db) == lock->conn_id;
}
