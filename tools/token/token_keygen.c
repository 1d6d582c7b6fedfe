/* token_keygen.c - a fresh ES256 key pair (saga_auth_keypair), written to files.
 *
 * Each file is written to a temporary name in DIR (mkstemp: created 0600, so the
 * private key is never readable by others, not even for a moment), flushed to disk,
 * and then hard-linked to its final name: link() fails if the name exists, so an
 * existing key is never overwritten and a reader never sees half a key. */
#include "token.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "saga/auth.h"

/* Writes the PEM text pem to dir/name with the given mode. Returns 0, or -1 with err
 * filled and nothing left behind. */
static int write_pem(const char *dir, const char *name, const char *pem, mode_t mode, char *err,
                     size_t errlen)
{
    char path[4096], tmp[4096];
    FILE *f = NULL;
    int fd = -1, rc = -1;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp)) {
        snprintf(err, errlen, "%s: path too long", dir);
        return -1;
    }
    if ((fd = mkstemp(tmp)) < 0) {
        snprintf(err, errlen, "cannot create a file in %s: %s", dir, strerror(errno));
        return -1;
    }
    if (fchmod(fd, mode) != 0 || !(f = fdopen(fd, "w"))) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1; /* now owned by f */
    if (fputs(pem, f) == EOF || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        snprintf(err, errlen, "writing %s: %s", path, strerror(errno));
        goto out;
    }
    if (link(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
                 errno == EEXIST ? " (not overwriting a key)" : "");
        goto out;
    }
    rc = 0;
out:
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return rc;
}

int token_keygen(const char *dir, char *err, size_t errlen)
{
    const char *names[] = {TOKEN_PRIVATE_KEY_NAME, TOKEN_PUBLIC_KEY_NAME};
    char *private_pem = NULL, *public_pem = NULL;
    struct stat st;
    int rc = -1;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a directory", dir);
        return -1;
    }
    /* Refuse before generating anything: one old half of a pair next to a new
     * other half would never verify. */
    for (size_t i = 0; i < 2; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (access(path, F_OK) == 0) {
            snprintf(err, errlen, "%s exists (not overwriting a key)", path);
            return -1;
        }
    }
    if (saga_auth_keypair("ES256", &private_pem, &public_pem, err, errlen))
        return -1;
    if (write_pem(dir, TOKEN_PRIVATE_KEY_NAME, private_pem, 0600, err, errlen))
        goto out;
    if (write_pem(dir, TOKEN_PUBLIC_KEY_NAME, public_pem, 0644, err, errlen)) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, TOKEN_PRIVATE_KEY_NAME);
        unlink(path); /* no private key without its public half */
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(private_pem, strlen(private_pem));
    free(private_pem);
    free(public_pem);
    return rc;
}
