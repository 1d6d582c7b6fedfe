/* auth_alg.h - the JWT algorithms we sign and verify with, and their keys, shared
 * by auth.c (verifying) and auth_mint.c (signing). */
#ifndef SAGA_AUTH_ALG_H
#define SAGA_AUTH_ALG_H

#include <openssl/evp.h>
#include <openssl/pem.h>
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

/* The key of the given type pem holds: the public half for a verifier, the private
 * one for a minter (a PEM of the other half, or of another type, gives NULL). */
static inline EVP_PKEY *auth_key_read(const char *pem, size_t len, int key_type, bool private_key)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio)
        return NULL;
    EVP_PKEY *pkey = private_key ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
                                 : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (pkey && EVP_PKEY_base_id(pkey) != key_type) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    return pkey;
}

#endif
