/* inbox.c - consumed event ids, recorded in the caller's transaction. */
#include "saga/inbox.h"

#include "saga/err.h"

int saga_inbox_claim(saga_db *db, const char *event_id, const char *event_type)
{
    uint64_t affected = 0;
    saga_param p[] = {SAGA_P_STR(event_id), SAGA_P_STR(event_type)};
    /* INSERT IGNORE: a duplicate id inserts nothing and takes no error path */
    int rc = saga_db_exec(db, "INSERT IGNORE INTO inbox (event_id, event_type) VALUES (?, ?)", p,
                          2, &affected, NULL);
    if (rc)
        return rc;
    return affected == 1 ? SAGA_OK : SAGA_ERR_DUPLICATE;
}
