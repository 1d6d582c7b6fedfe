/* file.c - reading a whole file (see file.h). */
#include "saga/file.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "saga/err.h"

int saga_file_read(const char *path, size_t max, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    char *data = NULL;
    int rc = SAGA_ERR_INVALID;

    if (!f)
        return SAGA_ERR_NOT_FOUND;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
        goto out;
    if ((size_t)st.st_size > max) {
        rc = SAGA_ERR_TOO_LARGE;
        goto out;
    }
    if (!(data = malloc((size_t)st.st_size + 1))) {
        rc = SAGA_ERR_NOMEM;
        goto out;
    }
    if (fread(data, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
        goto out;
    data[st.st_size] = '\0';
    *buf = data;
    *len = (size_t)st.st_size;
    data = NULL;
    rc = SAGA_OK;
out:
    free(data);
    fclose(f);
    return rc;
}
