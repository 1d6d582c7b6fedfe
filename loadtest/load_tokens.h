/* load_tokens.h - bearer tokens for the load customers and the admin, minted once each
 * with a saga_minter (its key read once) and cached for the run. */
#ifndef LOAD_TOKENS_H
#define LOAD_TOKENS_H

#include <stdbool.h>
#include <stddef.h>

#include "load_opts.h"

typedef struct load_tokens load_tokens;

/* Reads the signing key the options name: for ES256/RS256 the private key PEM
 * (--jwt-private-key-file, SAGA_JWT_PRIVATE_KEY_FILE); for HS256 the secret
 * (--jwt-secret-file, without a trailing newline, or SAGA_JWT_SECRET); and the tokens
 * of --tokens FILE (the format load_tokens_write writes; entries for customers out of
 * range are skipped). With neither, tokens are disabled: every header below is NULL.
 * Returns NULL with the reason in err when the key or the file cannot be read or
 * memory runs out. opts is borrowed and must outlive the cache. Free with
 * load_tokens_free. */
load_tokens *load_tokens_new(const load_opts *opts, char *err, size_t errlen);
void load_tokens_free(load_tokens *t); /* NULL is fine */

/* False when there is neither a key nor a tokens file. */
bool load_tokens_enabled(const load_tokens *t);

/* True when a key is configured (tokens can be minted). */
bool load_tokens_can_mint(const load_tokens *t);

/* Tokens minted so far, and tokens read from the file. */
unsigned long load_tokens_minted(const load_tokens *t);
unsigned long load_tokens_loaded(const load_tokens *t);

/* The header line "Authorization: Bearer <jwt>" for customer n of class cls
 * (load_plan.h), from the file or minted on first use; borrowed from the cache. NULL
 * when tokens are disabled, or with err set when it can be neither found nor minted. */
const char *load_tokens_customer(load_tokens *t, int cls, unsigned long n, char *err,
                                 size_t errlen);

/* The same for an administrator (subject "saga-load", role admin); needs a key. */
const char *load_tokens_admin(load_tokens *t, char *err, size_t errlen);

/* Writes {"load-c-000001": "<jwt>", ..., "load-poor-001": "<jwt>", ...} for every
 * rich customer of the options and the 100 poor ones, atomically (a temporary file
 * renamed), readable by the owner only. Returns 0, or -1 with err. */
int load_tokens_write(load_tokens *t, const char *path, char *err, size_t errlen);

#endif
