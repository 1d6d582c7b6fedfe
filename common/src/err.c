/* err.c - names of the library's result codes; error texts. */
#include "saga/err.h"

#include <stdarg.h>
#include <stdio.h>

const char *saga_rc_str(int rc)
{
    switch (rc) {
    case SAGA_OK: return "ok";
    case SAGA_ERR_INVALID: return "invalid";
    case SAGA_ERR_NOT_FOUND: return "not found";
    case SAGA_ERR_CONFLICT: return "conflict";
    case SAGA_ERR_DUPLICATE: return "duplicate";
    case SAGA_ERR_TOO_LARGE: return "too large";
    case SAGA_ERR_UNSUPPORTED: return "unsupported";
    case SAGA_ERR_TRANSIENT: return "transient";
    case SAGA_ERR_UNAVAILABLE: return "unavailable";
    case SAGA_ERR_NOMEM: return "out of memory";
    case SAGA_ERR_INTERNAL: return "internal error";
    default: return "unknown error";
    }
}

void saga_err_format(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
