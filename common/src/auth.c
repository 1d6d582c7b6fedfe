/* auth.c - bearer JWTs over libjwt (see auth.h).
 *
 * The algorithm in the token's header is checked against the configured one
 * before libjwt sees the token: libjwt 1.10 would otherwise pick the algorithm
 * from the header, which is how `alg: none` and HS256-with-the-public-key
 * (algorithm confusion) tokens get through in careless verifiers.
 *
 * The signature is checked here, with OpenSSL and the configured algorithm, against
 * the key read once when the verifier is made; libjwt then only parses the claims.
 * libjwt 1.10 would read the PEM key again for every token, which with OpenSSL 3
 * costs several times the signature check itself. */
#include "saga/auth.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "saga/config.h"
#include "saga/err.h"
#include "saga/file.h"
#include "saga/jsonscan.h"
#include "saga/text.h"
#include "auth_alg.h"

#define AUTH_TOKEN_MAX 8192      /* bytes; a header longer than this is refused */
#define AUTH_HEADER_JSON_MAX 1024 /* bytes of the decoded JOSE header */
#define AUTH_KEY_FILE_MAX (64 * 1024)
/* The longest SAGA_JWT_SECRET (bytes): far more than HS256 can use */
#define AUTH_SECRET_MAX 4096
#define AUTH_LEEWAY_MAX 600

/* --- verified tokens, remembered ---
 *
 * A signature check costs tens of microseconds, and a customer's client sends the same
 * token with many requests. A token that verified is remembered by its SHA-256,
 * with what it said; a hit skips the signature and the claims and checks only the
 * times again. Only successes are remembered, in a direct-mapped table of the
 * verifier's, under a mutex held for a comparison and a copy. */
#define AUTH_CACHE_SLOTS 1024

typedef struct auth_cache_entry {
    bool used;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    long exp;
    long nbf;
    bool has_nbf;
    saga_principal principal;
} auth_cache_entry;

struct saga_auth {
    int key_type; /* EVP_PKEY_EC (ES256), EVP_PKEY_RSA (RS256), 0 (HS256) */
    char alg_name[8];
    unsigned char *key; /* the HS256 secret, or the public key's PEM */
    size_t key_len;
    EVP_PKEY *pkey; /* the public key, read once (ES256, RS256) */
    char *issuer;
    char *audience;
    int leeway_s;
    pthread_mutex_t cache_mu;
    auth_cache_entry *cache; /* AUTH_CACHE_SLOTS */
};

/* The remembered entry for digest, copied into *hit; false if none. */
static bool auth_cache_get(const saga_auth *a, const unsigned char *digest, auth_cache_entry *hit)
{
    saga_auth *m = (saga_auth *)a; /* the cache is not part of what a verifier says */
    size_t h;
    memcpy(&h, digest, sizeof(h));
    pthread_mutex_lock(&m->cache_mu);
    const auth_cache_entry *e = &m->cache[h % AUTH_CACHE_SLOTS];
    bool found = e->used && memcmp(e->digest, digest, SHA256_DIGEST_LENGTH) == 0;
    if (found)
        *hit = *e;
    pthread_mutex_unlock(&m->cache_mu);
    return found;
}

static void auth_cache_put(const saga_auth *a, const auth_cache_entry *entry)
{
    saga_auth *m = (saga_auth *)a;
    size_t h;
    memcpy(&h, entry->digest, sizeof(h));
    pthread_mutex_lock(&m->cache_mu);
    m->cache[h % AUTH_CACHE_SLOTS] = *entry;
    pthread_mutex_unlock(&m->cache_mu);
}

/* --- making a verifier --- */

saga_auth *saga_auth_new(const saga_auth_opts *opts, char *err, size_t errlen)
{
    int key_type;

    if (!auth_alg_key_type(opts->alg, &key_type)) {
        snprintf(err, errlen, "unsupported JWT algorithm %s (use ES256, RS256 or HS256)",
                 opts->alg ? opts->alg : "(none)");
        return NULL;
    }
    if (!opts->key || opts->key_len == 0) {
        snprintf(err, errlen, "the JWT key is empty");
        return NULL;
    }
    if (key_type == 0 && opts->key_len < 32) {
        snprintf(err, errlen, "the HS256 secret must be at least 32 bytes");
        return NULL;
    }
    if (!opts->issuer || !*opts->issuer || !opts->audience || !*opts->audience) {
        snprintf(err, errlen, "the JWT issuer and audience must not be empty");
        return NULL;
    }
    EVP_PKEY *pkey = NULL;
    if (key_type != 0 && !(pkey = auth_key_read(opts->key, opts->key_len, key_type, false))) {
        snprintf(err, errlen, "the JWT key is not a PEM public key for %s", opts->alg);
        return NULL;
    }

    saga_auth *a = calloc(1, sizeof(*a));
    if (!a) {
        EVP_PKEY_free(pkey);
        goto nomem;
    }
    a->pkey = pkey;
    a->key_type = key_type;
    snprintf(a->alg_name, sizeof(a->alg_name), "%s", opts->alg);
    a->key = malloc(opts->key_len + 1); /* +1: PEM text stays NUL-terminated */
    a->issuer = strdup(opts->issuer);
    a->audience = strdup(opts->audience);
    if (!a->key || !a->issuer || !a->audience)
        goto nomem;
    memcpy(a->key, opts->key, opts->key_len);
    a->key[opts->key_len] = '\0';
    a->key_len = opts->key_len;
    a->leeway_s = opts->leeway_s < 0 ? 0 : opts->leeway_s;
    if (!(a->cache = calloc(AUTH_CACHE_SLOTS, sizeof(*a->cache))))
        goto nomem;
    pthread_mutex_init(&a->cache_mu, NULL);
    return a;
nomem:
    saga_auth_free(a);
    snprintf(err, errlen, "out of memory");
    return NULL;
}

void saga_auth_free(saga_auth *a)
{
    if (!a)
        return;
    if (a->key) {
        OPENSSL_cleanse(a->key, a->key_len);
        free(a->key);
    }
    EVP_PKEY_free(a->pkey);
    free(a->issuer);
    free(a->audience);
    if (a->cache) { /* the mutex exists once the cache does */
        pthread_mutex_destroy(&a->cache_mu);
        free(a->cache);
    }
    free(a);
}

/* --- verification --- */

/* Decodes base64url (no padding) into out; returns the length or -1. */
static long auth_base64url_decode(const char *in, size_t inlen, unsigned char *out, size_t outmax)
{
    unsigned long acc = 0;
    int bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < inlen; i++) {
        char c = in[i];
        int v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '-')
            v = 62;
        else if (c == '_')
            v = 63;
        else
            return -1;
        acc = (acc << 6) | (unsigned long)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= outmax)
                return -1;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1ul << bits) - 1;
        }
    }
    return (long)n;
}

/* True if the token's JOSE header names exactly alg_name. */
static bool auth_header_alg_is(const char *token, const char *alg_name)
{
    const char *dot = strchr(token, '.');
    unsigned char json[AUTH_HEADER_JSON_MAX + 1];
    if (!dot)
        return false;
    long n = auth_base64url_decode(token, (size_t)(dot - token), json, AUTH_HEADER_JSON_MAX);
    if (n <= 0)
        return false;
    json[n] = '\0';
    if (saga_json_find_nul((const char *)json, (size_t)n, NULL, 0))
        return false; /* "ES256\u0000..." would read as ES256 */
    cJSON *head = cJSON_ParseWithLength((const char *)json, (size_t)n);
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(head, "alg");
    bool ok = cJSON_IsString(alg) && strcmp(alg->valuestring, alg_name) == 0;
    cJSON_Delete(head);
    return ok;
}

/* True if the token's claims (its second part) hold a NUL in a string: libjwt would
 * read "bob\u0000x" as "bob", and "admin\u0000x" as "admin". */
static bool auth_claims_have_nul(const char *token, size_t len)
{
    const char *a = memchr(token, '.', len);
    const char *b = a ? memchr(a + 1, '.', len - (size_t)(a + 1 - token)) : NULL;
    if (!b)
        return true; /* not three parts: refused anyway */
    size_t inlen = (size_t)(b - (a + 1));
    size_t max = inlen / 4 * 3 + 3;
    unsigned char *json = malloc(max + 1);
    long n = json ? auth_base64url_decode(a + 1, inlen, json, max) : -1;
    bool nul = n < 0 || saga_json_find_nul((const char *)json, (size_t)n, NULL, 0);
    free(json);
    return nul;
}

/* An ES256 signature is R and S, 32 bytes each; OpenSSL wants them DER-encoded.
 * Returns the DER's length (0 on failure) and *der, to be OPENSSL_free'd. */
static int auth_es256_der(const unsigned char *sig, size_t len, unsigned char **der)
{
    *der = NULL;
    if (len != 64)
        return 0;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    int n = 0;
    if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* es owns them now */
        n = i2d_ECDSA_SIG(es, der);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return n > 0 ? n : 0;
}

/* True if the token's signature (its third part) is a's algorithm's signature of
 * its first two parts, by a's key. */
static bool auth_signature_ok(const saga_auth *a, const char *token, size_t len)
{
    const char *first = memchr(token, '.', len), *last = memrchr(token, '.', len);
    unsigned char sig[1024], mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;

    if (!first || first == last)
        return false;
    size_t signed_len = (size_t)(last - token);
    long siglen = auth_base64url_decode(last + 1, len - signed_len - 1, sig, sizeof(sig));
    if (siglen <= 0)
        return false;
    const unsigned char *signed_part = (const unsigned char *)token;
    if (a->key_type == 0) {
        if (!HMAC(EVP_sha256(), a->key, (int)a->key_len, signed_part, signed_len, mac, &maclen))
            return false;
        return (size_t)siglen == maclen && CRYPTO_memcmp(sig, mac, maclen) == 0;
    }

    unsigned char *der = NULL;
    const unsigned char *check = sig;
    size_t check_len = (size_t)siglen;
    if (a->key_type == EVP_PKEY_EC) {
        int n = auth_es256_der(sig, (size_t)siglen, &der);
        if (n == 0)
            return false;
        check = der;
        check_len = (size_t)n;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, a->pkey) == 1;
    ok = ok && EVP_DigestVerify(ctx, check, check_len, signed_part, signed_len) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return ok;
}

/* True if the `aud` claim is the audience, or an array holding it. */
static bool auth_audience_ok(jwt_t *jwt, const char *audience)
{
    const char *aud = jwt_get_grant(jwt, "aud");
    if (aud)
        return strcmp(aud, audience) == 0;
    char *json = jwt_get_grants_json(jwt, "aud");
    if (!json)
        return false;
    cJSON *arr = cJSON_Parse(json);
    free(json);
    bool ok = false;
    const cJSON *item;
    if (cJSON_IsArray(arr)) {
        cJSON_ArrayForEach(item, arr)
        {
            if (cJSON_IsString(item) && strcmp(item->valuestring, audience) == 0)
                ok = true;
        }
    }
    cJSON_Delete(arr);
    return ok;
}

/* A NumericDate claim: 1 and *out if present and an integer, 0 if absent, -1 if
 * present but not an integer. Read from the claim's JSON text: libjwt 1.10's
 * jwt_get_grant_int reads a string or a real as 0 without an error, which made
 * `"exp": "x"` an expired token rather than a malformed one and `"nbf": "x"` no
 * nbf at all. */
static int auth_claim_time(jwt_t *jwt, const char *name, long *out)
{
    char *json = jwt_get_grants_json(jwt, name);
    if (!json)
        return 0;
    char *end = NULL;
    errno = 0;
    long v = strtol(json, &end, 10);
    bool ok = errno == 0 && end != json && *end == '\0' &&
              (json[0] == '-' || isdigit((unsigned char)json[0]));
    free(json);
    if (!ok)
        return -1;
    *out = v;
    return 1;
}

/* "Bearer <token>" -> the token (borrowed), or NULL. */
static const char *auth_bearer_token(const char *authorization)
{
    static const char scheme[] = "Bearer";
    if (!authorization)
        return NULL;
    authorization += strspn(authorization, " \t");
    if (strncasecmp(authorization, scheme, sizeof(scheme) - 1) != 0)
        return NULL;
    const char *p = authorization + sizeof(scheme) - 1;
    if (*p != ' ')
        return NULL;
    p += strspn(p, " ");
    return *p ? p : NULL;
}

static saga_auth_result auth_fail(saga_auth_result r, char *why, size_t whylen, const char *msg)
{
    snprintf(why, whylen, "%s", msg);
    return r;
}

saga_auth_result saga_auth_verify(const saga_auth *a, const char *authorization,
                                  saga_principal *out, char *why, size_t whylen)
{
    const char *token = auth_bearer_token(authorization);
    if (!token)
        return auth_fail(SAGA_AUTH_MISSING, why, whylen,
                         "a bearer token is required (Authorization: Bearer <token>)");
    size_t len = strlen(token);
    while (len > 0 && (token[len - 1] == ' ' || token[len - 1] == '\t'))
        len--;
    if (len > AUTH_TOKEN_MAX)
        return auth_fail(SAGA_AUTH_INVALID, why, whylen, "the token is too long");
    saga_auth_result r = SAGA_AUTH_INVALID;
    jwt_t *jwt = NULL;
    char *copy = NULL; /* NUL-terminated, for libjwt: made only when not remembered */
    long now = (long)time(NULL), exp = 0, nbf = 0;
    int has_nbf = 0;
    auth_cache_entry seen = {.used = true};
    SHA256((const unsigned char *)token, len, seen.digest);
    if (auth_cache_get(a, seen.digest, &seen)) {
        exp = seen.exp;
        nbf = seen.nbf;
        has_nbf = seen.has_nbf;
        *out = seen.principal;
        goto check_times;
    }
    if (!(copy = strndup(token, len))) {
        snprintf(why, whylen, "cannot read the token");
        goto out;
    }
    if (!auth_header_alg_is(copy, a->alg_name)) {
        snprintf(why, whylen, "the token must be signed with %s", a->alg_name);
        goto out;
    }
    /* the signature, by the configured algorithm whatever the header says; then
     * libjwt parses what was signed (given no key, it checks nothing again) */
    if (!auth_signature_ok(a, copy, len) || jwt_decode(&jwt, copy, NULL, 0) != 0 || !jwt) {
        snprintf(why, whylen, "the token's signature does not verify");
        goto out;
    }
    if (auth_claims_have_nul(copy, len)) {
        snprintf(why, whylen, "the token's claims hold a NUL character");
        goto out;
    }

    const char *iss = jwt_get_grant(jwt, "iss");
    if (!iss || strcmp(iss, a->issuer) != 0) {
        snprintf(why, whylen, "the token's issuer is not %s", a->issuer);
        goto out;
    }
    if (!auth_audience_ok(jwt, a->audience)) {
        snprintf(why, whylen, "the token's audience does not include %s", a->audience);
        goto out;
    }
    if (auth_claim_time(jwt, "exp", &exp) != 1) {
        snprintf(why, whylen, "the token has no expiry (exp, an integer)");
        goto out;
    }
    has_nbf = auth_claim_time(jwt, "nbf", &nbf);
    if (has_nbf < 0) {
        snprintf(why, whylen, "the token's nbf is not an integer");
        goto out;
    }
    const char *sub = jwt_get_grant(jwt, "sub");
    if (!saga_text_is_customer_id(sub)) {
        snprintf(why, whylen, "the token's subject is missing or not a valid id");
        goto out;
    }
    const char *role = jwt_get_grant(jwt, "role");
    if (role && strcmp(role, "admin") != 0 && strcmp(role, "customer") != 0) {
        snprintf(why, whylen, "the token's role is not admin or customer");
        goto out;
    }
    snprintf(out->subject, sizeof(out->subject), "%s", sub);
    out->admin = role && strcmp(role, "admin") == 0;
    seen.exp = exp;
    seen.nbf = nbf;
    seen.has_nbf = has_nbf > 0;
    seen.principal = *out;
    auth_cache_put(a, &seen);
check_times:
    /* checked on every use, remembered or not */
    if (exp < now - a->leeway_s) { /* not exp + leeway: exp may be LONG_MAX */
        r = SAGA_AUTH_EXPIRED;
        snprintf(why, whylen, "the token has expired");
        goto out;
    }
    if (has_nbf && nbf > now + a->leeway_s) {
        r = SAGA_AUTH_EXPIRED;
        snprintf(why, whylen, "the token is not valid yet (nbf)");
        goto out;
    }
    r = SAGA_AUTH_OK;
    if (whylen)
        why[0] = '\0';
out:
    jwt_free(jwt);
    free(copy);
    return r;
}

/* --- configuration --- */

saga_auth *saga_auth_from_env(char *err, size_t errlen)
{
    const char *alg = getenv("SAGA_JWT_ALG");
    const char *key_file = getenv("SAGA_JWT_KEY_FILE");
    const char *secret = NULL;
    const char *issuer = getenv("SAGA_JWT_ISSUER");
    const char *audience = getenv("SAGA_JWT_AUDIENCE");
    const char *leeway = getenv("SAGA_JWT_LEEWAY_S");
    char secret_buf[AUTH_SECRET_MAX + 1];
    char *key = NULL;
    size_t key_len = 0;
    saga_auth *a = NULL;

    /* SAGA_JWT_SECRET or SAGA_JWT_SECRET_FILE (config.h) */
    if (saga_config_secret("SAGA_JWT_SECRET", "", secret_buf, sizeof(secret_buf), err, errlen) !=
        SAGA_OK)
        goto out;
    if (secret_buf[0])
        secret = secret_buf;
    if (!alg || !*alg)
        alg = "ES256";
    int key_type;
    if (!auth_alg_key_type(alg, &key_type)) {
        snprintf(err, errlen, "SAGA_JWT_ALG must be ES256, RS256 or HS256, not %s", alg);
        goto out;
    }
    if (key_file && !*key_file)
        key_file = NULL;
    if (!key_file && !secret) {
        snprintf(err, errlen,
                 "SAGA_JWT_KEY_FILE is not set: a key to verify bearer tokens is required "
                 "(or SAGA_JWT_SECRET or SAGA_JWT_SECRET_FILE for HS256)");
        goto out;
    }
    if (key_file && secret) {
        snprintf(err, errlen, "SAGA_JWT_KEY_FILE and SAGA_JWT_SECRET are both set; set one");
        goto out;
    }
    if (secret && strcmp(alg, "HS256") != 0) {
        snprintf(err, errlen, "SAGA_JWT_SECRET is only for SAGA_JWT_ALG=HS256, not %s", alg);
        goto out;
    }
    long leeway_s = 30;
    if (leeway && *leeway) {
        char *end;
        errno = 0;
        leeway_s = strtol(leeway, &end, 10);
        if (errno || *end || leeway_s < 0 || leeway_s > AUTH_LEEWAY_MAX) {
            snprintf(err, errlen, "SAGA_JWT_LEEWAY_S must be 0..%d seconds, not %s",
                     AUTH_LEEWAY_MAX, leeway);
            goto out;
        }
    }
    if (key_file) {
        if (saga_file_read(key_file, AUTH_KEY_FILE_MAX, &key, &key_len) != SAGA_OK) {
            snprintf(err, errlen, "SAGA_JWT_KEY_FILE: cannot read %s: %s", key_file,
                     strerror(errno));
            goto out;
        }
        /* A secret file may end with a newline; it is not part of the secret. */
        if (strcmp(alg, "HS256") == 0)
            while (key_len > 0 && (key[key_len - 1] == '\n' || key[key_len - 1] == '\r'))
                key[--key_len] = '\0';
    }
    saga_auth_opts opts = {
        .alg = alg,
        .key = key ? key : secret,
        .key_len = key ? key_len : strlen(secret),
        .issuer = issuer && *issuer ? issuer : "saga-local",
        .audience = audience && *audience ? audience : "saga-api",
        .leeway_s = (int)leeway_s,
    };
    char why[256];
    a = saga_auth_new(&opts, why, sizeof(why));
    if (!a)
        snprintf(err, errlen, "%s: %s", key_file ? "SAGA_JWT_KEY_FILE" : "SAGA_JWT_SECRET", why);
out:
    if (key) {
        OPENSSL_cleanse(key, key_len);
        free(key);
    }
    OPENSSL_cleanse(secret_buf, sizeof(secret_buf));
    return a;
}
