/* auth.h - bearer JWTs: who is calling (verification) and local tokens (minting).
 *
 * Verification, over libjwt: the token's header must name exactly the configured
 * algorithm (so `alg: none` and HS256-signed-with-the-public-key confusion are
 * refused before the signature is looked at), the signature must verify with the
 * configured key, `iss` and `aud` must match, `exp` is required, `exp` and `nbf`
 * must be integers and are honoured with a small leeway, and `sub` must be a
 * customer id (1 to 64 characters, valid UTF-8, no control characters).
 *
 * Claims we read: `sub` (the customer id, or the admin's name) and `role`
 * ("admin" for an administrator; absent or "customer" for a customer).
 *
 * Minting (auth_mint.c) signs with OpenSSL and a key read once per minter, and
 * writes iss, aud, sub, role, iat, nbf and exp; it also makes the key pairs (the
 * local stack's, the tests', the benchmark's). */
#ifndef SAGA_AUTH_H
#define SAGA_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#define SAGA_AUTH_SUBJECT_MAX (64 * 4 + 1) /* bytes, with the NUL: 64 characters of UTF-8 */

/* Who made the request, as the token says. */
typedef struct saga_principal {
    char subject[SAGA_AUTH_SUBJECT_MAX];
    bool admin;
} saga_principal;

typedef struct saga_auth saga_auth;

typedef struct saga_auth_opts {
    const char *alg;      /* "ES256", "RS256" or "HS256" */
    const char *key;      /* ES256/RS256: public key PEM; HS256: the shared secret */
    size_t key_len;
    const char *issuer;   /* required `iss` */
    const char *audience; /* required in `aud` (a string or an array of strings) */
    int leeway_s;         /* clock skew allowed on exp and nbf */
} saga_auth_opts;

/* Creates a verifier (the options are copied). Returns NULL with a reason in err
 * on a bad algorithm name, an empty key, or a PEM that is not a public key of the
 * algorithm's kind. */
saga_auth *saga_auth_new(const saga_auth_opts *opts, char *err, size_t errlen);
void saga_auth_free(saga_auth *a); /* NULL is fine */

typedef enum saga_auth_result {
    SAGA_AUTH_OK = 0,
    SAGA_AUTH_MISSING,  /* no Authorization header, or not "Bearer <token>" */
    SAGA_AUTH_INVALID,  /* malformed, wrong alg, bad signature, iss/aud/sub wrong */
    SAGA_AUTH_EXPIRED,  /* exp passed (beyond the leeway) or nbf not reached */
} saga_auth_result;

/* Verifies the value of an Authorization header (may be NULL). On SAGA_AUTH_OK
 * fills *out; otherwise writes a short reason for the client into why (never the
 * token itself). Thread-safe. */
saga_auth_result saga_auth_verify(const saga_auth *a, const char *authorization,
                                  saga_principal *out, char *why, size_t whylen);

/* What a minted token says (the local stack, tests, the load generator). */
typedef struct saga_token_claims {
    const char *issuer;
    const char *audience;
    const char *subject;
    bool admin;           /* role "admin" rather than "customer" */
    long ttl_s;           /* exp = now + ttl_s (negative: already expired) */
    long not_before_s;    /* nbf = now + not_before_s (0: now) */
} saga_token_claims;

/* A signer that reads its private key (or HS256 secret) once, for minting many
 * tokens: reading a PEM key costs several times the signature itself. */
typedef struct saga_minter saga_minter;

/* alg is "ES256", "RS256" or "HS256"; key is the private key PEM (ES256, RS256) or
 * the shared secret (HS256), copied. Returns NULL with a reason in err on an unknown
 * algorithm or a key that cannot sign with it (a public key, another kind). */
saga_minter *saga_minter_new(const char *alg, const char *key, size_t key_len, char *err,
                             size_t errlen);
void saga_minter_free(saga_minter *m); /* NULL is fine */

/* Signs a token with these claims. Returns it (caller frees with free()), or NULL
 * with a reason in err. Thread-safe. */
char *saga_minter_sign(const saga_minter *m, const saga_token_claims *claims, char *err,
                       size_t errlen);

/* One token, for a one-off: saga_minter_new, saga_minter_sign, saga_minter_free. */
typedef struct saga_mint_opts {
    const char *alg; /* "ES256", "RS256" or "HS256" */
    const char *key; /* ES256/RS256: private key PEM; HS256: the shared secret */
    size_t key_len;
    saga_token_claims claims;
} saga_mint_opts;

char *saga_auth_mint(const saga_mint_opts *opts, char *err, size_t errlen);

/* A fresh key pair for alg ("ES256": P-256; "RS256": 2048-bit RSA) as PEM text:
 * *private_pem (PKCS#8) and *public_pem (SubjectPublicKeyInfo), each freed by the
 * caller with free(). Returns 0, or -1 with a reason in err and both NULL (HS256
 * has no key pair). */
int saga_auth_keypair(const char *alg, char **private_pem, char **public_pem, char *err,
                      size_t errlen);

/* Reads the verifier's settings from the environment and builds it:
 * SAGA_JWT_ALG (default ES256), SAGA_JWT_KEY_FILE (the public key PEM, or for
 * HS256 a file holding the secret) or SAGA_JWT_SECRET (HS256 only; or
 * SAGA_JWT_SECRET_FILE, a file holding it, config.h),
 * SAGA_JWT_ISSUER (default saga-local), SAGA_JWT_AUDIENCE (default saga-api),
 * SAGA_JWT_LEEWAY_S (default 30). Exactly one key source must be set. Returns
 * NULL with err naming the variable on a bad or missing setting. */
saga_auth *saga_auth_from_env(char *err, size_t errlen);

#endif
