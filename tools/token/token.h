/* token.h - saga-token: bearer tokens for the local stack, the tests and the load
 * generator, and the ES256 key pair they are signed with.
 *
 *   saga-token [--admin] [--ttl SECONDS] [--nbf SECONDS] [--alg ALG] [--key-file PEM]
 *              [--issuer ISS] [--audience AUD] SUBJECT
 *   saga-token keygen DIR
 *
 * Minting signs with saga_auth_mint() (saga/auth.h) and prints the token and a
 * newline on stdout, nothing else. `keygen` writes a fresh P-256 key pair:
 * DIR/jwt-private.pem (PKCS#8, mode 0600) and DIR/jwt-public.pem (what the
 * services' SAGA_JWT_KEY_FILE names); it never overwrites an existing file.
 *
 * Exit status: 0 done; 1 failed (unreadable key, signing or writing failed);
 * 2 usage error. */
#ifndef SAGA_TOKEN_H
#define SAGA_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_EXIT_OK 0
#define TOKEN_EXIT_FAILED 1
#define TOKEN_EXIT_USAGE 2

#define TOKEN_PRIVATE_KEY_NAME "jwt-private.pem"
#define TOKEN_PUBLIC_KEY_NAME "jwt-public.pem"

typedef enum token_cmd {
    TOKEN_HELP = 0,
    TOKEN_MINT,
    TOKEN_KEYGEN,
} token_cmd;

/* The command line, with the environment's defaults filled in. Every string is
 * borrowed from argv, the environment or a literal: nothing to free. */
typedef struct token_opts {
    token_cmd cmd;
    const char *subject;  /* mint: the `sub` claim */
    bool admin;           /* --admin: role "admin" */
    long ttl_s;           /* --ttl, default 3600; negative mints an expired token */
    long not_before_s;    /* --nbf, default 0 */
    const char *alg;      /* --alg, else SAGA_JWT_ALG, else ES256 */
    const char *key_file; /* --key-file, else SAGA_JWT_PRIVATE_KEY_FILE; NULL: none */
    const char *secret;   /* HS256 without a key file: SAGA_JWT_SECRET(_FILE), in
                           * secret_buf; NULL: none */
    const char *issuer;   /* --issuer, else SAGA_JWT_ISSUER, else saga-local */
    const char *audience; /* --audience, else SAGA_JWT_AUDIENCE, else saga-api */
    const char *dir;      /* keygen: where the key pair goes */
    char secret_buf[4097]; /* SAGA_JWT_SECRET or the content of SAGA_JWT_SECRET_FILE */
} token_opts;

extern const char token_usage[];

/* Parses argv and the environment into *opts. Returns 0, or -1 with a reason in
 * err (a usage error). */
int token_opts_parse(token_opts *opts, int argc, char **argv, char *err, size_t errlen);

/* Writes DIR/jwt-private.pem (0600) and DIR/jwt-public.pem (0644), creating DIR
 * (0700) if it does not exist. Returns 0, or -1 with a reason in err; on failure
 * no half-written key is left behind. */
int token_keygen(const char *dir, char *err, size_t errlen);

#endif
