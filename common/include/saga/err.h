/* err.h - the one result code every function of the library returns. */
#ifndef SAGA_ERR_H
#define SAGA_ERR_H

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

#endif
