/* auth_mint.c - signing bearer JWTs (see auth.h), with OpenSSL and a key read once.
 *
 * libjwt 1.10 reads the PEM key again for every token it signs, which with OpenSSL 3
 * costs several times the signature: the load generator, minting a token for each
 * of 100,000 customers as it first uses them, spent about 40 % of its CPU there. A
 * minter parses its key once; a token is then its JSON, base64url and one signature.
 * The tokens are the compact JWS form that auth.c verifies (and libjwt reads). */
#include "saga/auth.h"

#include <cjson/cJSON.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_alg.h"
#include "saga/json.h"

#define MINT_SIGNATURE_MAX 1024 /* bytes: RSA up to 8192 bits */

struct saga_minter {
    int key_type;          /* EVP_PKEY_EC (ES256), EVP_PKEY_RSA (RS256), 0 (HS256) */
    EVP_PKEY *pkey;        /* the private key (ES256, RS256) */
    unsigned char *secret; /* the HS256 secret */
    size_t secret_len;
    char header[64]; /* the JOSE header, base64url-encoded */
};

/* Writes base64url (no padding) of in[0..len) to out, which has room for
 * 4 * ceil(len / 3) + 1 bytes; returns the characters written. */
static size_t mint_base64url(const unsigned char *in, size_t len, char *out)
{
    size_t n = (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    return n;
}

static size_t mint_base64url_size(size_t len)
{
    return 4 * ((len + 2) / 3) + 1;
}

saga_minter *saga_minter_new(const char *alg, const char *key, size_t key_len, char *err,
                             size_t errlen)
{
    int key_type;
    if (!auth_alg_key_type(alg, &key_type)) {
        snprintf(err, errlen, "unsupported JWT algorithm %s", alg ? alg : "(none)");
        return NULL;
    }
    if (!key || key_len == 0) {
        snprintf(err, errlen, "the signing key is empty");
        return NULL;
    }
    saga_minter *m = calloc(1, sizeof(*m));
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->key_type = key_type;
    if (key_type != 0 && !(m->pkey = auth_key_read(key, key_len, key_type, true))) {
        snprintf(err, errlen, "the key is not a PEM private key for %s", alg);
        goto fail;
    }
    if (key_type == 0) {
        if (!(m->secret = malloc(key_len))) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        memcpy(m->secret, key, key_len);
        m->secret_len = key_len;
    }
    char header[48];
    int n = snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
    mint_base64url((const unsigned char *)header, (size_t)n, m->header);
    return m;
fail:
    saga_minter_free(m);
    return NULL;
}

void saga_minter_free(saga_minter *m)
{
    if (!m)
        return;
    EVP_PKEY_free(m->pkey);
    if (m->secret) {
        OPENSSL_cleanse(m->secret, m->secret_len);
        free(m->secret);
    }
    free(m);
}

/* The claims as compact JSON (cJSON_free it), or NULL. */
static char *mint_claims_json(const saga_token_claims *c)
{
    long now = (long)time(NULL);
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "iss", c->issuer) &&
              cJSON_AddStringToObject(o, "aud", c->audience) &&
              cJSON_AddStringToObject(o, "sub", c->subject) &&
              cJSON_AddStringToObject(o, "role", c->admin ? "admin" : "customer") &&
              saga_json_add_int(o, "iat", now) &&
              saga_json_add_int(o, "nbf", now + c->not_before_s) &&
              saga_json_add_int(o, "exp", now + c->ttl_s);
    char *json = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return json;
}

/* The JWS signature of data[0..len) into sig; returns its length, 0 on failure. An
 * ES256 signature is R and S, 32 bytes each, where OpenSSL writes DER. */
static size_t mint_signature(const saga_minter *m, const char *data, size_t len,
                             unsigned char sig[MINT_SIGNATURE_MAX])
{
    if (m->key_type == 0) {
        unsigned int n = 0;
        return HMAC(EVP_sha256(), m->secret, (int)m->secret_len, (const unsigned char *)data, len,
                    sig, &n)
                   ? n
                   : 0;
    }
    size_t n = MINT_SIGNATURE_MAX;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, m->pkey) == 1 &&
              EVP_DigestSign(ctx, sig, &n, (const unsigned char *)data, len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return 0;
    if (m->key_type != EVP_PKEY_EC)
        return n;
    const unsigned char *der = sig;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &der, (long)n);
    const BIGNUM *r = NULL, *s = NULL;
    if (es)
        ECDSA_SIG_get0(es, &r, &s);
    ok = es && BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) == 32;
    ECDSA_SIG_free(es);
    return ok ? 64 : 0;
}

char *saga_minter_sign(const saga_minter *m, const saga_token_claims *c, char *err, size_t errlen)
{
    if (!c->subject || !c->issuer || !c->audience) {
        snprintf(err, errlen, "subject, issuer and audience are required");
        return NULL;
    }
    char *claims = mint_claims_json(c), *token = NULL;
    if (!claims) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t claims_len = strlen(claims), header_len = strlen(m->header);
    size_t size = header_len + 1 + mint_base64url_size(claims_len) + 1 +
                  mint_base64url_size(MINT_SIGNATURE_MAX);
    if (!(token = malloc(size))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    memcpy(token, m->header, header_len);
    size_t n = header_len;
    token[n++] = '.';
    n += mint_base64url((const unsigned char *)claims, claims_len, token + n);
    unsigned char sig[MINT_SIGNATURE_MAX];
    size_t sig_len = mint_signature(m, token, n, sig);
    if (sig_len == 0) {
        snprintf(err, errlen, "cannot sign the token");
        free(token);
        token = NULL;
        goto out;
    }
    token[n++] = '.';
    mint_base64url(sig, sig_len, token + n);
out:
    cJSON_free(claims);
    return token;
}

char *saga_auth_mint(const saga_mint_opts *o, char *err, size_t errlen)
{
    saga_minter *m = saga_minter_new(o->alg, o->key, o->key_len, err, errlen);
    if (!m)
        return NULL;
    char *token = saga_minter_sign(m, &o->claims, err, errlen);
    saga_minter_free(m);
    return token;
}

/* The private (PKCS#8) or public (SubjectPublicKeyInfo) PEM of key; NULL on failure. */
static char *mint_pem_of(EVP_PKEY *key, bool private_part)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *out = NULL;
    long len;

    if (!bio)
        return NULL;
    if (private_part ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
                     : PEM_write_bio_PUBKEY(bio, key)) {
        len = BIO_get_mem_data(bio, &data);
        out = len > 0 ? strndup(data, (size_t)len) : NULL;
    }
    BIO_free(bio);
    return out;
}

int saga_auth_keypair(const char *alg, char **private_pem, char **public_pem, char *err,
                      size_t errlen)
{
    EVP_PKEY *key = NULL;
    unsigned long e;

    *private_pem = *public_pem = NULL;
    if (alg && strcmp(alg, "ES256") == 0)
        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else if (alg && strcmp(alg, "RS256") == 0)
        key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    else {
        snprintf(err, errlen, "no key pair for algorithm %s", alg ? alg : "(none)");
        return -1;
    }
    if (key) {
        *private_pem = mint_pem_of(key, true);
        *public_pem = mint_pem_of(key, false);
        EVP_PKEY_free(key);
    }
    if (*private_pem && *public_pem)
        return 0;
    e = ERR_get_error();
    snprintf(err, errlen, "generating a %s key pair: %s", alg,
             e && ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "OpenSSL failed");
    free(*private_pem);
    free(*public_pem);
    *private_pem = *public_pem = NULL;
    return -1;
}
