/* err.h - the one result code every function of the library returns, and the
 * caller's error text beside it. */
#ifndef SAGA_ERR_H
#define SAGA_ERR_H

#include <stddef.h>

typedef enum saga_rc {
    SAGA_OK = 0,
    SAGA_ERR_INVALID,     /* bad input: malformed, fails validation, breaks a rule */
    SAGA_ERR_NOT_FOUND,   /* no such thing */
    SAGA_ERR_CONFLICT,    /* the current state does not allow it (unique key, wrong state) */
    SAGA_ERR_DUPLICATE,   /* seen before and already applied (inbox) */
    SAGA_ERR_TOO_LARGE,   /* over a size limit */
    SAGA_ERR_UNSUPPORTED, /* unsupported media type or version */
    SAGA_ERR_TRANSIENT,   /* a retry may succeed: deadlock, lost connection, broker down */
    SAGA_ERR_UNAVAILABLE, /* a dependency is down and the caller should not wait */
    SAGA_ERR_NOMEM,
    SAGA_ERR_INTERNAL,
} saga_rc;

/* A static, lowercase name for rc ("invalid", "not found", ...). Never NULL. */
const char *saga_rc_str(int rc);

/* Writes the message into err, the caller's buffer of errlen bytes (cut to fit);
 * err NULL or errlen 0: nothing, for callers that do not want the text. */
void saga_err_format(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
