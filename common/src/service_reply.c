/* service_reply.c - a route's database connection and its failures as HTTP answers
 * (see service.h). */
#include "saga/service.h"

#include "saga/err.h"
#include "saga/log.h"

saga_db *saga_service_request_db(saga_http_req *req, saga_http_resp *resp)
{
    saga_db *db = saga_service_thread_db(saga_service_from_request(req));
    if (!db)
        saga_http_reply_problem(resp, 503, "the database is not reachable");
    return db;
}

void saga_service_reply_db_error(saga_http_resp *resp, saga_db *db, int rc, const char *what)
{
    LOG_WARN("http.db_error", "%s: %s: %s", what, saga_rc_str(rc), db ? saga_db_error(db) : "");
    if (rc == SAGA_ERR_TRANSIENT || rc == SAGA_ERR_UNAVAILABLE)
        saga_http_reply_problem(resp, 503, "the database is busy or unreachable; retry later");
    else if (rc == SAGA_ERR_NOMEM)
        saga_http_reply_rc(resp, rc, "out of memory");
    else
        saga_http_reply_problem(resp, 500, "database error while %s", what);
}
