/* inbox.h - duplicate event ids skipped inside the caller's transaction. */
#ifndef SAGA_INBOX_H
#define SAGA_INBOX_H

#include "saga/db.h"

/* Records event_id as consumed, in db's open transaction. Returns SAGA_OK the
 * first time (apply the event), SAGA_ERR_DUPLICATE if it was recorded before
 * (skip it), or a database error. */
int saga_inbox_claim(saga_db *db, const char *event_id, const char *event_type);

#endif
