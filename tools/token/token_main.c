/* saga-token: mints bearer tokens and makes the key pair (see token.h, --help). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/auth.h"
#include "saga/err.h"
#include "saga/file.h"
#include "saga/version.h"
#include "token.h"

#define TOKEN_KEY_MAX (64 * 1024) /* a PEM of any sane key is a few KiB */
#define TOKEN_HS256_MIN 32        /* bytes: the services refuse a shorter secret */

/* Signs the token opts describe and prints it. Returns an exit status. */
static int mint(const token_opts *opts)
{
    char err[512] = "";
    char *key = NULL, *token = NULL;
    size_t key_len = 0;
    int status = TOKEN_EXIT_FAILED;

    if (opts->key_file) {
        int rc = saga_file_read(opts->key_file, TOKEN_KEY_MAX, &key, &key_len);
        if (rc) {
            fprintf(stderr, "saga-token: cannot read the key %s: %s\n", opts->key_file,
                    saga_rc_str(rc));
            goto out;
        }
        /* A secret file written by `echo` or an editor ends in a newline that is no
         * part of the secret (PEM parsers do not mind it either way). */
        if (!strcmp(opts->alg, "HS256"))
            while (key_len > 0 && (key[key_len - 1] == '\n' || key[key_len - 1] == '\r'))
                key[--key_len] = '\0';
    }
    const char *k = key ? key : opts->secret;
    size_t klen = key ? key_len : strlen(opts->secret);
    if (klen == 0) {
        fprintf(stderr, "saga-token: the key %s is empty\n",
                opts->key_file ? opts->key_file : "in SAGA_JWT_SECRET");
        goto out;
    }
    if (!strcmp(opts->alg, "HS256") && klen < TOKEN_HS256_MIN) {
        fprintf(stderr,
                "saga-token: the HS256 secret is %zu bytes; the services need at least %d\n", klen,
                TOKEN_HS256_MIN);
        goto out;
    }
    saga_mint_opts m = {
        .alg = opts->alg,
        .key = k,
        .key_len = klen,
        .claims = {.issuer = opts->issuer,
                   .audience = opts->audience,
                   .subject = opts->subject,
                   .admin = opts->admin,
                   .ttl_s = opts->ttl_s,
                   .not_before_s = opts->not_before_s},
    };
    if (!(token = saga_auth_mint(&m, err, sizeof(err)))) {
        fprintf(stderr, "saga-token: cannot sign: %s\n", err);
        goto out;
    }
    if (printf("%s\n", token) < 0 || fflush(stdout) != 0) {
        perror("saga-token: stdout");
        goto out;
    }
    status = TOKEN_EXIT_OK;
out:
    free(token);
    free(key);
    return status;
}

int main(int argc, char **argv)
{
    token_opts opts;
    char err[512] = "";

    if (saga_version_requested(argc, argv, "saga-token"))
        return 0;
    if (token_opts_parse(&opts, argc, argv, err, sizeof(err))) {
        fprintf(stderr, "saga-token: %s\n(saga-token --help for usage)\n", err);
        return TOKEN_EXIT_USAGE;
    }
    switch (opts.cmd) {
    case TOKEN_KEYGEN:
        if (token_keygen(opts.dir, err, sizeof(err))) {
            fprintf(stderr, "saga-token: keygen: %s\n", err);
            return TOKEN_EXIT_FAILED;
        }
        return TOKEN_EXIT_OK;
    case TOKEN_MINT:
        return mint(&opts);
    default:
        fputs(token_usage, stdout);
        return TOKEN_EXIT_OK;
    }
}
