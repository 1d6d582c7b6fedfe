/* file.h - reading a whole file. */
#ifndef SAGA_FILE_H
#define SAGA_FILE_H

#include <stddef.h>

/* Reads the regular file at path, at most max bytes, into a malloc'd buffer with a
 * terminating NUL (not counted in *len). Caller frees *buf with free(). Returns
 * SAGA_OK; SAGA_ERR_NOT_FOUND if it cannot be opened (errno tells why);
 * SAGA_ERR_INVALID if it is not a regular file or a read fails; SAGA_ERR_TOO_LARGE
 * over max; SAGA_ERR_NOMEM. */
int saga_file_read(const char *path, size_t max, char **buf, size_t *len);

#endif
