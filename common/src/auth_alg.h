/* auth_alg.h - the JWT algorithms we sign and verify with, shared by auth.c and
 * auth_mint.c. */
#ifndef SAGA_AUTH_ALG_H
#define SAGA_AUTH_ALG_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <string.h>

/* The OpenSSL key type name's algorithm needs (0: a shared secret); false for an
 * algorithm we do not accept. */
static inline bool auth_alg_key_type(const char *name, int *key_type)
{
    if (!name)
        return false;
    if (strcmp(name, "ES256") == 0)
        *key_type = EVP_PKEY_EC;
    else if (strcmp(name, "RS256") == 0)
        *key_type = EVP_PKEY_RSA;
    else if (strcmp(name, "HS256") == 0)
        *key_type = 0;
    else
        return false;
    return true;
}

#endif
