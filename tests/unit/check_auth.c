/* check_auth.c - bearer JWTs (saga/auth.h): minting and verifying with ES256, RS256
 * and HS256; the attacks a verifier must refuse (alg none, algorithm confusion,
 * another key, a flipped signature byte); time claims with their leeway; subjects;
 * and the settings saga_auth_new and saga_auth_from_env refuse.
 *
 * The key pairs are generated once in main() with OpenSSL's EVP API, before the
 * (forked) tests run. Tokens with claims saga_auth_mint cannot write are signed
 * with libjwt directly; tokens with a hand-made header are assembled here. Our
 * minted tokens are also read and verified by libjwt, which does not share our
 * signing code. */
#include <check.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "saga/auth.h"

#define ISS "saga-test"
#define AUD "saga-api"
#define LEEWAY 30
#define HS_SECRET "0123456789abcdef0123456789abcdef-test" /* 38 bytes */

/* PEMs, NUL-terminated; generated in main() and freed there after the run. */
static char *es_priv, *es_pub, *es2_priv, *es2_pub;
static char *rs_priv, *rs_pub, *rs2_priv;

/* --- keys and token helpers --- */

/* Generates a key pair into *priv and *pub (either may be NULL). */
static void keypair(int rsa, char **priv, char **pub)
{
    char err[256], *p = NULL, *q = NULL;

    if (saga_auth_keypair(rsa ? "RS256" : "ES256", &p, &q, err, sizeof(err))) {
        fprintf(stderr, "check_auth: %s\n", err);
        exit(1);
    }
    if (priv)
        *priv = p;
    else
        free(p);
    if (pub)
        *pub = q;
    else
        free(q);
}

static saga_auth *verifier(const char *alg, const char *key)
{
    char err[256] = "";
    saga_auth_opts o = {.alg = alg,
                        .key = key,
                        .key_len = strlen(key),
                        .issuer = ISS,
                        .audience = AUD,
                        .leeway_s = LEEWAY};
    saga_auth *a = saga_auth_new(&o, err, sizeof(err));
    ck_assert_msg(a != NULL, "saga_auth_new(%s): %s", alg, err);
    return a;
}

/* A token from saga_auth_mint; caller frees. */
static char *mint(const char *alg, const char *key, const char *sub, int admin, long ttl, long nbf)
{
    char err[256] = "";
    saga_mint_opts m = {.alg = alg,
                        .key = key,
                        .key_len = strlen(key),
                        .claims = {.issuer = ISS,
                                   .audience = AUD,
                                   .subject = sub,
                                   .admin = admin,
                                   .ttl_s = ttl,
                                   .not_before_s = nbf}};
    char *t = saga_auth_mint(&m, err, sizeof(err));
    ck_assert_msg(t != NULL, "saga_auth_mint(%s): %s", alg, err);
    return t;
}

/* A token with exactly these claims (JSON), signed by libjwt; caller frees. */
static char *sign_claims(const char *alg, const char *key, const char *claims)
{
    jwt_t *jwt = NULL;
    ck_assert_int_eq(jwt_new(&jwt), 0);
    ck_assert_int_eq(jwt_add_grants_json(jwt, claims), 0);
    ck_assert_int_eq(
        jwt_set_alg(jwt, jwt_str_alg(alg), (const unsigned char *)key, (int)strlen(key)), 0);
    char *t = jwt_encode_str(jwt);
    jwt_free(jwt);
    ck_assert_ptr_nonnull(t);
    return t;
}

/* base64url without padding; caller frees. */
static char *b64url(const unsigned char *in, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    ck_assert_ptr_nonnull(out);
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

/* header.payload, base64url-encoded, from two JSON texts; caller frees. */
static char *signing_input(const char *header, const char *claims)
{
    char *h = b64url((const unsigned char *)header, strlen(header));
    char *c = b64url((const unsigned char *)claims, strlen(claims));
    size_t n = strlen(h) + strlen(c) + 2;
    char *out = malloc(n);
    ck_assert_ptr_nonnull(out);
    snprintf(out, n, "%s.%s", h, c);
    free(h);
    free(c);
    return out;
}

/* A token with a hand-made header, signed with HMAC-SHA256 under key (or with an
 * empty signature when key is NULL); caller frees. */
static char *hand_token(const char *header, const char *claims, const char *key)
{
    char *input = signing_input(header, claims);
    char *sig = NULL;
    if (key) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, (int)strlen(key),
                                   (const unsigned char *)input, strlen(input), md, &mdlen));
        sig = b64url(md, mdlen);
    }
    size_t n = strlen(input) + (sig ? strlen(sig) : 0) + 2;
    char *out = malloc(n);
    ck_assert_ptr_nonnull(out);
    snprintf(out, n, "%s.%s", input, sig ? sig : "");
    free(input);
    free(sig);
    return out;
}

/* Standard valid claims with the given extra JSON members (no braces). */
static char *claims_with(const char *sub_json, const char *extra)
{
    char *out = malloc(1024);
    ck_assert_ptr_nonnull(out);
    snprintf(out, 1024, "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":%s,\"exp\":%ld%s%s}", ISS, AUD,
             sub_json, (long)time(NULL) + 600, extra && *extra ? "," : "", extra ? extra : "");
    return out;
}

/* Verifies "Bearer <token>"; returns the result and fills *p and why. */
static saga_auth_result check_token(const saga_auth *a, const char *token, saga_principal *p,
                                    char *why, size_t whylen)
{
    char header[16384];
    snprintf(header, sizeof(header), "Bearer %s", token);
    why[0] = '\0';
    return saga_auth_verify(a, header, p, why, whylen);
}

static void expect(const saga_auth *a, const char *token, saga_auth_result want, const char *what)
{
    saga_principal p;
    char why[256];
    saga_auth_result r = check_token(a, token, &p, why, sizeof(why));
    ck_assert_msg(r == want, "%s: result %d, expected %d (%s)", what, r, want, why);
    if (want != SAGA_AUTH_OK) {
        ck_assert_msg(why[0] != '\0', "%s: no reason given", what);
        ck_assert_msg(strstr(why, token) == NULL, "%s: the reason quotes the token", what);
    }
}

/* --- core --- */

/* libjwt, which we do not sign with, must read our token and verify its signature:
 * a check that does not share our code's mistakes. */
static void libjwt_accepts(const char *token, const char *verify_key, const char *sub,
                           const char *role, long ttl)
{
    jwt_t *jwt = NULL;
    ck_assert_int_eq(
        jwt_decode(&jwt, token, (const unsigned char *)verify_key, (int)strlen(verify_key)), 0);
    ck_assert_str_eq(jwt_get_grant(jwt, "sub"), sub);
    ck_assert_str_eq(jwt_get_grant(jwt, "role"), role);
    ck_assert_str_eq(jwt_get_grant(jwt, "iss"), ISS);
    ck_assert_str_eq(jwt_get_grant(jwt, "aud"), AUD);
    long iat = jwt_get_grant_int(jwt, "iat");
    ck_assert_int_eq(jwt_get_grant_int(jwt, "exp"), iat + ttl);
    ck_assert_int_eq(jwt_get_grant_int(jwt, "nbf"), iat);
    ck_assert_int_le(labs(iat - (long)time(NULL)), 5);
    jwt_free(jwt);
}

static void round_trip(const char *alg, const char *sign_key, const char *verify_key)
{
    saga_auth *a = verifier(alg, verify_key);
    saga_principal p;
    char why[256];
    char *t = mint(alg, sign_key, "cust-1", 0, 60, 0);
    ck_assert_int_eq(check_token(a, t, &p, why, sizeof(why)), SAGA_AUTH_OK);
    ck_assert_str_eq(p.subject, "cust-1");
    ck_assert(!p.admin);
    libjwt_accepts(t, verify_key, "cust-1", "customer", 60);
    free(t);
    t = mint(alg, sign_key, "ops", 1, 60, 0);
    ck_assert_int_eq(check_token(a, t, &p, why, sizeof(why)), SAGA_AUTH_OK);
    ck_assert_str_eq(p.subject, "ops");
    ck_assert(p.admin);
    free(t);
    saga_auth_free(a);
}

START_TEST(test_round_trip_es256)
{
    round_trip("ES256", es_priv, es_pub);
}
END_TEST

START_TEST(test_round_trip_rs256)
{
    round_trip("RS256", rs_priv, rs_pub);
}
END_TEST

START_TEST(test_round_trip_hs256)
{
    round_trip("HS256", HS_SECRET, HS_SECRET);
}
END_TEST

/* The round trips above use saga_auth_keypair's keys; here, what it gives and refuses. */
START_TEST(test_keypair)
{
    char err[128] = "", *priv = (char *)1, *pub = (char *)1;

    ck_assert_int_eq(saga_auth_keypair("HS256", &priv, &pub, err, sizeof(err)), -1);
    ck_assert_ptr_null(priv);
    ck_assert_ptr_null(pub);
    ck_assert_str_eq(err, "no key pair for algorithm HS256");
    ck_assert_int_eq(saga_auth_keypair("ES256", &priv, &pub, err, sizeof(err)), 0);
    ck_assert(strncmp(priv, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
    ck_assert(strncmp(pub, "-----BEGIN PUBLIC KEY-----\n", 27) == 0);
    /* a new pair each time, and its halves belong together (another key's signature
     * is refused: test_another_key) */
    round_trip("ES256", priv, pub);
    ck_assert_str_ne(pub, es_pub);
    free(priv);
    free(pub);
}
END_TEST

START_TEST(test_roles_and_audience)
{
    saga_auth *a = verifier("ES256", es_pub);
    saga_principal p;
    char why[256];
    char *c, *t;

    /* no role: a customer */
    c = claims_with("\"c2\"", NULL);
    t = sign_claims("ES256", es_priv, c);
    ck_assert_int_eq(check_token(a, t, &p, why, sizeof(why)), SAGA_AUTH_OK);
    ck_assert(!p.admin);
    free(t);
    free(c);
    /* role customer, explicitly */
    c = claims_with("\"c2\"", "\"role\":\"customer\"");
    t = sign_claims("ES256", es_priv, c);
    ck_assert_int_eq(check_token(a, t, &p, why, sizeof(why)), SAGA_AUTH_OK);
    ck_assert(!p.admin);
    free(t);
    free(c);
    /* an unknown role is refused, not taken for a customer */
    c = claims_with("\"c2\"", "\"role\":\"superuser\"");
    t = sign_claims("ES256", es_priv, c);
    expect(a, t, SAGA_AUTH_INVALID, "role superuser");
    free(t);
    free(c);
    /* aud as an array holding ours */
    char claims[512];
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"%s\",\"aud\":[\"other-api\",\"%s\"],\"sub\":\"c3\",\"role\":\"admin\","
             "\"exp\":%ld}",
             ISS, AUD, (long)time(NULL) + 60);
    t = sign_claims("ES256", es_priv, claims);
    ck_assert_int_eq(check_token(a, t, &p, why, sizeof(why)), SAGA_AUTH_OK);
    ck_assert_str_eq(p.subject, "c3");
    ck_assert(p.admin);
    free(t);
    /* aud as an array without ours */
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"%s\",\"aud\":[\"other-api\",\"saga-ap\"],\"sub\":\"c3\",\"exp\":%ld}", ISS,
             (long)time(NULL) + 60);
    t = sign_claims("ES256", es_priv, claims);
    expect(a, t, SAGA_AUTH_INVALID, "aud array without ours");
    free(t);
    /* aud missing, or not a string */
    snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"sub\":\"c3\",\"exp\":%ld}", ISS,
             (long)time(NULL) + 60);
    t = sign_claims("ES256", es_priv, claims);
    expect(a, t, SAGA_AUTH_INVALID, "no aud");
    free(t);
    snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"aud\":7,\"sub\":\"c3\",\"exp\":%ld}", ISS,
             (long)time(NULL) + 60);
    t = sign_claims("ES256", es_priv, claims);
    expect(a, t, SAGA_AUTH_INVALID, "aud a number");
    free(t);
    saga_auth_free(a);
}
END_TEST

START_TEST(test_missing)
{
    saga_auth *a = verifier("HS256", HS_SECRET);
    saga_principal p;
    char why[256];
    const char *missing[] = {NULL,     "",        "   ",         "Basic dXNlcjpwYXNz",
                             "Bearer", "Bearer ", "Bearertoken", "Token abc.def.ghi"};
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        why[0] = '\0';
        ck_assert_msg(saga_auth_verify(a, missing[i], &p, why, sizeof(why)) == SAGA_AUTH_MISSING,
                      "header '%s' is not MISSING", missing[i] ? missing[i] : "(null)");
        ck_assert(why[0] != '\0');
    }
    /* the scheme is case-insensitive (RFC 7235) */
    char *t = mint("HS256", HS_SECRET, "c1", 0, 60, 0);
    char header[2048];
    snprintf(header, sizeof(header), "bearer %s", t);
    ck_assert_int_eq(saga_auth_verify(a, header, &p, why, sizeof(why)), SAGA_AUTH_OK);
    free(t);
    saga_auth_free(a);
}
END_TEST

/* --- attacks --- */

START_TEST(test_wrong_issuer_audience)
{
    saga_auth *a = verifier("ES256", es_pub);
    char err[256];
    saga_mint_opts m = {
        .alg = "ES256",
        .key = es_priv,
        .key_len = strlen(es_priv),
        .claims = {.issuer = "evil-issuer", .audience = AUD, .subject = "c1", .ttl_s = 60}};
    char *t = saga_auth_mint(&m, err, sizeof(err));
    ck_assert_ptr_nonnull(t);
    expect(a, t, SAGA_AUTH_INVALID, "wrong issuer");
    free(t);
    m.claims.issuer = ISS;
    m.claims.audience = "another-api";
    t = saga_auth_mint(&m, err, sizeof(err));
    ck_assert_ptr_nonnull(t);
    expect(a, t, SAGA_AUTH_INVALID, "wrong audience");
    free(t);
    saga_auth_free(a);
}
END_TEST

/* Flips one bit of one byte of the decoded signature: a character in the middle
 * of the signature part changes to another valid one. */
static void flip_signature(char *token)
{
    char *sig = strrchr(token, '.') + 1;
    size_t n = strlen(sig);
    ck_assert_uint_gt(n, 8);
    char *c = &sig[n / 2];
    *c = *c == 'A' ? 'B' : 'A';
}

static void bad_signature(const char *alg, const char *sign_key, const char *verify_key)
{
    saga_auth *a = verifier(alg, verify_key);
    char *t = mint(alg, sign_key, "c1", 0, 60, 0);
    expect(a, t, SAGA_AUTH_OK, "untouched");
    flip_signature(t);
    expect(a, t, SAGA_AUTH_INVALID, "flipped signature");
    /* no signature at all */
    *(strrchr(t, '.') + 1) = '\0';
    expect(a, t, SAGA_AUTH_INVALID, "empty signature");
    free(t);
    saga_auth_free(a);
}

START_TEST(test_bad_signature)
{
    bad_signature("ES256", es_priv, es_pub);
    bad_signature("RS256", rs_priv, rs_pub);
    bad_signature("HS256", HS_SECRET, HS_SECRET);
}
END_TEST

START_TEST(test_another_key)
{
    saga_auth *a = verifier("ES256", es_pub);
    char *t = mint("ES256", es2_priv, "c1", 1, 60, 0);
    expect(a, t, SAGA_AUTH_INVALID, "ES256 by another key");
    free(t);
    saga_auth_free(a);

    a = verifier("RS256", rs_pub);
    t = mint("RS256", rs2_priv, "c1", 1, 60, 0);
    expect(a, t, SAGA_AUTH_INVALID, "RS256 by another key");
    free(t);
    saga_auth_free(a);

    a = verifier("HS256", HS_SECRET);
    t = mint("HS256", "another secret of at least 32 bytes!", "c1", 1, 60, 0);
    expect(a, t, SAGA_AUTH_INVALID, "HS256 with another secret");
    free(t);
    saga_auth_free(a);

    /* right key, wrong kind: an ES256 verifier given an RS256 token */
    a = verifier("ES256", es_pub);
    t = mint("RS256", rs_priv, "c1", 1, 60, 0);
    expect(a, t, SAGA_AUTH_INVALID, "RS256 token to an ES256 verifier");
    free(t);
    saga_auth_free(a);
}
END_TEST

START_TEST(test_alg_none)
{
    const char *verify_keys[][2] = {{"ES256", NULL}, {"RS256", NULL}, {"HS256", HS_SECRET}};
    verify_keys[0][1] = es_pub;
    verify_keys[1][1] = rs_pub;
    char *c = claims_with("\"c1\"", "\"role\":\"admin\"");
    const char *headers[] = {"{\"alg\":\"none\"}", "{\"alg\":\"none\",\"typ\":\"JWT\"}",
                             "{\"alg\":\"None\",\"typ\":\"JWT\"}", "{\"typ\":\"JWT\"}",
                             "{\"alg\":\"NONE\"}"};
    for (size_t k = 0; k < 3; k++) {
        saga_auth *a = verifier(verify_keys[k][0], verify_keys[k][1]);
        for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
            char *t = hand_token(headers[i], c, NULL);
            expect(a, t, SAGA_AUTH_INVALID, headers[i]);
            free(t);
        }
        saga_auth_free(a);
    }
    free(c);
}
END_TEST

/* HS256 tokens whose HMAC key is the verifier's public key PEM: a verifier that
 * lets the header pick the algorithm would check them with the PEM as a secret. */
START_TEST(test_alg_confusion)
{
    const char *pubs[][2] = {{"ES256", NULL}, {"RS256", NULL}};
    pubs[0][1] = es_pub;
    pubs[1][1] = rs_pub;
    char *c = claims_with("\"victim\"", "\"role\":\"admin\"");
    for (size_t k = 0; k < 2; k++) {
        saga_auth *a = verifier(pubs[k][0], pubs[k][1]);
        /* minted by libjwt with the PEM as the HS256 secret */
        char *t = mint("HS256", pubs[k][1], "victim", 1, 60, 0);
        expect(a, t, SAGA_AUTH_INVALID, "HS256 with the public key");
        free(t);
        /* the same by hand */
        t = hand_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", c, pubs[k][1]);
        expect(a, t, SAGA_AUTH_INVALID, "hand-made HS256 with the public key");
        free(t);
        /* a header naming alg twice: our header check reads the first, a JSON
         * parser taking the last would pick HS256 */
        char header[64];
        snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                 pubs[k][0]);
        t = hand_token(header, c, pubs[k][1]);
        expect(a, t, SAGA_AUTH_INVALID, "duplicate alg, HS256 last");
        free(t);
        snprintf(header, sizeof(header), "{\"alg\":\"HS256\",\"alg\":\"%s\",\"typ\":\"JWT\"}",
                 pubs[k][0]);
        t = hand_token(header, c, pubs[k][1]);
        expect(a, t, SAGA_AUTH_INVALID, "duplicate alg, HS256 first");
        free(t);
        saga_auth_free(a);
    }
    free(c);
}
END_TEST

START_TEST(test_malformed)
{
    saga_auth *a = verifier("ES256", es_pub);
    const char *bad[] = {"abc",
                         "a.b",
                         "a.b.c",
                         "..",
                         "...",
                         "e30.e30.",
                         "!!!.###.$$$",
                         "eyJhbGciOiJFUzI1NiJ9",
                         "eyJhbGciOiJFUzI1NiJ9..",
                         "e30"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect(a, bad[i], SAGA_AUTH_INVALID, bad[i]);
    /* a header that is JSON but not an object, and a non-string alg */
    char *c = claims_with("\"c1\"", NULL);
    char *t = hand_token("[\"ES256\"]", c, NULL);
    expect(a, t, SAGA_AUTH_INVALID, "header an array");
    free(t);
    t = hand_token("{\"alg\":256}", c, NULL);
    expect(a, t, SAGA_AUTH_INVALID, "alg a number");
    free(t);
    free(c);
    /* too long to look at */
    size_t n = 20000;
    char *huge = malloc(n + 1);
    ck_assert_ptr_nonnull(huge);
    memset(huge, 'A', n);
    huge[n] = '\0';
    huge[100] = '.';
    huge[200] = '.';
    expect(a, huge, SAGA_AUTH_INVALID, "20000-byte token");
    free(huge);
    saga_auth_free(a);
}
END_TEST

/* --- time claims and subjects --- */

START_TEST(test_expiry)
{
    saga_auth *a = verifier("ES256", es_pub);
    char *t = mint("ES256", es_priv, "c1", 0, -(LEEWAY + 60), 0);
    expect(a, t, SAGA_AUTH_EXPIRED, "expired beyond the leeway");
    free(t);
    t = mint("ES256", es_priv, "c1", 0, -(LEEWAY / 3), 0);
    expect(a, t, SAGA_AUTH_OK, "expired within the leeway");
    free(t);
    t = mint("ES256", es_priv, "c1", 0, 3600, LEEWAY + 60);
    expect(a, t, SAGA_AUTH_EXPIRED, "nbf beyond the leeway");
    free(t);
    t = mint("ES256", es_priv, "c1", 0, 3600, LEEWAY / 3);
    expect(a, t, SAGA_AUTH_OK, "nbf within the leeway");
    free(t);

    /* no exp at all */
    char claims[512];
    snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"c1\"}", ISS, AUD);
    t = sign_claims("ES256", es_priv, claims);
    expect(a, t, SAGA_AUTH_INVALID, "no exp");
    free(t);
    /* exp that is not a number */
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"c1\",\"exp\":\"tomorrow\"}", ISS, AUD);
    t = sign_claims("ES256", es_priv, claims);
    expect(a, t, SAGA_AUTH_INVALID, "exp a string");
    free(t);
    /* nbf that is not a number is not ignored */
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"c1\",\"exp\":%ld,\"nbf\":\"later\"}", ISS,
             AUD, (long)time(NULL) + 600);
    t = sign_claims("ES256", es_priv, claims);
    expect(a, t, SAGA_AUTH_INVALID, "nbf a string");
    free(t);
    /* the largest exp JSON can carry must not overflow the leeway arithmetic */
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"c1\",\"exp\":9223372036854775807}", ISS,
             AUD);
    t = sign_claims("ES256", es_priv, claims);
    expect(a, t, SAGA_AUTH_OK, "exp at LONG_MAX");
    free(t);
    snprintf(claims, sizeof(claims),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"sub\":\"c1\",\"exp\":%ld,"
             "\"nbf\":-9223372036854775807}",
             ISS, AUD, (long)time(NULL) + 600);
    t = sign_claims("ES256", es_priv, claims);
    expect(a, t, SAGA_AUTH_OK, "nbf at -LONG_MAX");
    free(t);
    saga_auth_free(a);
}
END_TEST

START_TEST(test_subjects)
{
    saga_auth *a = verifier("HS256", HS_SECRET);
    saga_principal p;
    char why[256];
    const char *bad[] = {"\"\"",
                         "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
                         "\"c\\u0001d\"",
                         "\"tab\\there\"",
                         "\"nl\\n\"",
                         "\"\\u0085c1\"",
                         "\"bob \"",          /* not bob: one spelling per customer */
                         "\" bob\"",
                         "\"b\\u00e9b\"",     /* ASCII only */
                         "42",
                         "null",
                         "[\"c1\"]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *c = claims_with(bad[i], NULL);
        char *t = sign_claims("HS256", HS_SECRET, c);
        expect(a, t, SAGA_AUTH_INVALID, bad[i]);
        free(t);
        free(c);
    }
    /* no sub at all */
    char claims[256];
    snprintf(claims, sizeof(claims), "{\"iss\":\"%s\",\"aud\":\"%s\",\"exp\":%ld}", ISS, AUD,
             (long)time(NULL) + 60);
    char *t = sign_claims("HS256", HS_SECRET, claims);
    expect(a, t, SAGA_AUTH_INVALID, "no sub");
    free(t);

    /* a NUL inside a claim or the header: refused whole, never read as the text before
     * it ("bob", "admin", "HS256") */
    const char *hs = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    struct {
        const char *header, *sub, *extra, *what;
    } nul[] = {
        {hs, "\"bob\\u0000x\"", NULL, "sub with a NUL"},
        {hs, "\"bob\"", "\"role\":\"admin\\u0000x\"", "role with a NUL"},
        {hs, "\"bob\"", "\"x\\u0000y\":1", "a member name with a NUL"},
        {"{\"alg\":\"HS256\\u0000x\",\"typ\":\"JWT\"}", "\"bob\"", NULL, "alg with a NUL"},
    };
    for (size_t i = 0; i < sizeof(nul) / sizeof(nul[0]); i++) {
        char *c = claims_with(nul[i].sub, nul[i].extra);
        t = hand_token(nul[i].header, c, HS_SECRET);
        expect(a, t, SAGA_AUTH_INVALID, nul[i].what);
        free(t);
        free(c);
    }
    /* and an escaped backslash before u0000 is just text: no NUL */
    char *c = claims_with("\"bob\"", "\"note\":\"\\\\u0000\"");
    t = hand_token(hs, c, HS_SECRET);
    expect(a, t, SAGA_AUTH_OK, "an escaped backslash, then u0000");
    free(t);
    free(c);

    char sub64[65];
    memset(sub64, 'x', 64);
    sub64[64] = '\0';
    t = mint("HS256", HS_SECRET, sub64, 0, 60, 0);
    ck_assert_int_eq(check_token(a, t, &p, why, sizeof(why)), SAGA_AUTH_OK);
    ck_assert_str_eq(p.subject, sub64);
    free(t);
    saga_auth_free(a);
}
END_TEST

/* --- settings --- */

static void expect_new_fails(const char *alg, const char *key, const char *what)
{
    char err[256] = "";
    saga_auth_opts o = {.alg = alg,
                        .key = key,
                        .key_len = key ? strlen(key) : 0,
                        .issuer = ISS,
                        .audience = AUD,
                        .leeway_s = LEEWAY};
    saga_auth *a = saga_auth_new(&o, err, sizeof(err));
    ck_assert_msg(a == NULL, "saga_auth_new accepted %s", what);
    ck_assert_msg(err[0] != '\0', "%s: no reason", what);
}

START_TEST(test_new_refuses)
{
    expect_new_fails("ES256", es_priv, "an EC private key");
    expect_new_fails("RS256", rs_priv, "an RSA private key");
    expect_new_fails("ES256", rs_pub, "an RSA public key for ES256");
    expect_new_fails("RS256", es_pub, "an EC public key for RS256");
    expect_new_fails("ES256", "not a pem at all", "garbage");
    expect_new_fails("ES256", "", "an empty key");
    expect_new_fails("ES256", NULL, "no key");
    expect_new_fails("HS256", "0123456789abcdef0123456789abcde", "a 31-byte secret");
    expect_new_fails("none", HS_SECRET, "alg none");
    expect_new_fails("HS512", HS_SECRET, "alg HS512");
    expect_new_fails("es256", es_pub, "lower-case es256");
    expect_new_fails(NULL, es_pub, "no alg");
    /* a 32-byte secret is enough */
    saga_auth *a = verifier("HS256", "0123456789abcdef0123456789abcdef");
    saga_auth_free(a);
    /* empty issuer/audience */
    char err[256] = "";
    saga_auth_opts o = {
        .alg = "ES256", .key = es_pub, .key_len = strlen(es_pub), .issuer = "", .audience = AUD};
    ck_assert_ptr_null(saga_auth_new(&o, err, sizeof(err)));
    saga_auth_free(NULL);
}
END_TEST

static const char *const jwt_vars[] = {"SAGA_JWT_ALG",      "SAGA_JWT_KEY_FILE",
                                       "SAGA_JWT_SECRET",   "SAGA_JWT_SECRET_FILE",
                                       "SAGA_JWT_ISSUER",   "SAGA_JWT_AUDIENCE",
                                       "SAGA_JWT_LEEWAY_S"};

static void clear_env(void)
{
    for (size_t i = 0; i < sizeof(jwt_vars) / sizeof(jwt_vars[0]); i++)
        unsetenv(jwt_vars[i]);
}

static void expect_env_fails(const char *var)
{
    char err[512] = "";
    saga_auth *a = saga_auth_from_env(err, sizeof(err));
    ck_assert_msg(a == NULL, "saga_auth_from_env accepted a bad %s", var);
    saga_auth_free(a);
    ck_assert_msg(strstr(err, var) != NULL, "message '%s' does not name %s", err, var);
}

/* Writes text to a fresh temporary file; returns its path (static buffer). */
static const char *temp_file(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/check_auth_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

START_TEST(test_from_env)
{
    char err[512] = "";
    clear_env();
    expect_env_fails("SAGA_JWT_KEY_FILE"); /* no key at all */
    setenv("SAGA_JWT_KEY_FILE", "/nonexistent/jwt-public.pem", 1);
    expect_env_fails("SAGA_JWT_KEY_FILE");
    setenv("SAGA_JWT_ALG", "XS256", 1);
    expect_env_fails("SAGA_JWT_ALG");
    setenv("SAGA_JWT_ALG", "none", 1);
    expect_env_fails("SAGA_JWT_ALG");

    clear_env();
    setenv("SAGA_JWT_SECRET", HS_SECRET, 1); /* default alg ES256 */
    expect_env_fails("SAGA_JWT_SECRET");
    setenv("SAGA_JWT_ALG", "ES256", 1);
    expect_env_fails("SAGA_JWT_SECRET");
    setenv("SAGA_JWT_ALG", "HS256", 1);
    setenv("SAGA_JWT_SECRET", "short", 1);
    expect_env_fails("SAGA_JWT_SECRET");

    /* a private key where the public one belongs */
    clear_env();
    const char *priv = temp_file(es_priv);
    setenv("SAGA_JWT_KEY_FILE", priv, 1);
    expect_env_fails("SAGA_JWT_KEY_FILE");
    unlink(priv);

    /* a good public key; bad leeway; both sources set */
    clear_env();
    char pub[64];
    snprintf(pub, sizeof(pub), "%s", temp_file(es_pub));
    setenv("SAGA_JWT_KEY_FILE", pub, 1);
    setenv("SAGA_JWT_LEEWAY_S", "forever", 1);
    expect_env_fails("SAGA_JWT_LEEWAY_S");
    setenv("SAGA_JWT_LEEWAY_S", "601", 1);
    expect_env_fails("SAGA_JWT_LEEWAY_S");
    unsetenv("SAGA_JWT_LEEWAY_S");
    setenv("SAGA_JWT_SECRET", HS_SECRET, 1);
    expect_env_fails("SAGA_JWT_SECRET");
    unsetenv("SAGA_JWT_SECRET");

    /* defaults: ES256, issuer saga-local, audience saga-api */
    saga_auth *a = saga_auth_from_env(err, sizeof(err));
    ck_assert_msg(a != NULL, "from_env: %s", err);
    saga_mint_opts m = {
        .alg = "ES256",
        .key = es_priv,
        .key_len = strlen(es_priv),
        .claims = {.issuer = "saga-local", .audience = "saga-api", .subject = "c1", .ttl_s = 60}};
    char *t = saga_auth_mint(&m, err, sizeof(err));
    ck_assert_ptr_nonnull(t);
    expect(a, t, SAGA_AUTH_OK, "env verifier, defaults");
    free(t);
    m.claims.issuer = ISS;
    t = saga_auth_mint(&m, err, sizeof(err));
    expect(a, t, SAGA_AUTH_INVALID, "env verifier, other issuer");
    free(t);
    saga_auth_free(a);
    unlink(pub);

    /* HS256 from a secret file ending in a newline */
    clear_env();
    const char *secret_file = temp_file(HS_SECRET "\n");
    setenv("SAGA_JWT_ALG", "HS256", 1);
    setenv("SAGA_JWT_KEY_FILE", secret_file, 1);
    setenv("SAGA_JWT_ISSUER", ISS, 1);
    a = saga_auth_from_env(err, sizeof(err));
    ck_assert_msg(a != NULL, "from_env HS256 file: %s", err);
    t = mint("HS256", HS_SECRET, "c1", 0, 60, 0);
    expect(a, t, SAGA_AUTH_OK, "HS256 secret file with a newline");
    free(t);
    saga_auth_free(a);

    /* SAGA_JWT_SECRET_FILE: the same secret; with SAGA_JWT_SECRET too, refused */
    unsetenv("SAGA_JWT_KEY_FILE");
    setenv("SAGA_JWT_SECRET_FILE", secret_file, 1);
    a = saga_auth_from_env(err, sizeof(err));
    ck_assert_msg(a != NULL, "from_env SAGA_JWT_SECRET_FILE: %s", err);
    t = mint("HS256", HS_SECRET, "c1", 0, 60, 0);
    expect(a, t, SAGA_AUTH_OK, "SAGA_JWT_SECRET_FILE");
    free(t);
    saga_auth_free(a);
    setenv("SAGA_JWT_SECRET", HS_SECRET, 1);
    expect_env_fails("SAGA_JWT_SECRET_FILE");
    ck_assert_ptr_null(saga_auth_from_env(err, sizeof(err)));
    ck_assert_msg(strstr(err, "SAGA_JWT_SECRET and SAGA_JWT_SECRET_FILE are both set"), "%s", err);
    unsetenv("SAGA_JWT_SECRET");
    unlink(secret_file);
    expect_env_fails("SAGA_JWT_SECRET_FILE"); /* the file is gone */
    clear_env();
}
END_TEST

/* One minter, its key read once, signs any number of tokens, each its own. */
START_TEST(test_minter_signs_many)
{
    char err[256] = "", why[256], sub[16];
    saga_minter *m = saga_minter_new("ES256", es_priv, strlen(es_priv), err, sizeof(err));
    ck_assert_msg(m != NULL, "saga_minter_new: %s", err);
    saga_auth *a = verifier("ES256", es_pub);
    for (int i = 0; i < 20; i++) {
        snprintf(sub, sizeof(sub), "cust-%d", i);
        saga_token_claims c = {
            .issuer = ISS, .audience = AUD, .subject = sub, .admin = i % 2, .ttl_s = 600 + i};
        char *t = saga_minter_sign(m, &c, err, sizeof(err));
        ck_assert_msg(t != NULL, "saga_minter_sign: %s", err);
        saga_principal p;
        ck_assert_int_eq(check_token(a, t, &p, why, sizeof(why)), SAGA_AUTH_OK);
        ck_assert_str_eq(p.subject, sub);
        ck_assert(p.admin == (i % 2));
        libjwt_accepts(t, es_pub, sub, i % 2 ? "admin" : "customer", 600 + i);
        free(t);
    }
    saga_auth_free(a);
    saga_minter_free(m);
    /* a key of another kind than the algorithm's is refused when the minter is made */
    ck_assert_ptr_null(saga_minter_new("RS256", es_priv, strlen(es_priv), err, sizeof(err)));
    ck_assert_ptr_null(saga_minter_new("ES256", rs_priv, strlen(rs_priv), err, sizeof(err)));
    ck_assert_ptr_null(saga_minter_new("ES256", "", 0, err, sizeof(err)));
}
END_TEST

START_TEST(test_mint_refuses)
{
    char err[256] = "";
    saga_mint_opts m = {.alg = "ES256",
                        .key = es_pub,
                        .key_len = strlen(es_pub),
                        .claims = {.issuer = ISS, .audience = AUD, .subject = "c1", .ttl_s = 60}};
    ck_assert_ptr_null(saga_auth_mint(&m, err, sizeof(err))); /* a public key cannot sign */
    ck_assert(err[0] != '\0');
    m.alg = "none";
    err[0] = '\0';
    ck_assert_ptr_null(saga_auth_mint(&m, err, sizeof(err)));
    ck_assert(err[0] != '\0');
    m.alg = "ES256";
    m.key = es_priv;
    m.key_len = strlen(es_priv);
    m.claims.subject = NULL;
    ck_assert_ptr_null(saga_auth_mint(&m, err, sizeof(err)));
}
END_TEST

/* --- the verified-token cache --- */

START_TEST(test_cache)
{
    saga_principal p;
    char why[256];
    char err[256];

    /* the same token again: the same answer, from the cache */
    saga_auth *a = verifier("ES256", es_pub);
    char *t = mint("ES256", es_priv, "cached-1", 1, 60, 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(check_token(a, t, &p, why, sizeof(why)), SAGA_AUTH_OK);
        ck_assert_str_eq(p.subject, "cached-1");
        ck_assert(p.admin);
    }
    /* a token remembered by one verifier means nothing to another one */
    saga_auth *b = verifier("ES256", es2_pub);
    expect(b, t, SAGA_AUTH_INVALID, "a token cached by another verifier");
    saga_auth_free(b);
    /* a tampered copy of a remembered token is checked afresh */
    char *bad = strdup(t);
    flip_signature(bad);
    expect(a, bad, SAGA_AUTH_INVALID, "a tampered copy of a cached token");
    free(bad);
    free(t);
    saga_auth_free(a);

    /* a remembered token still expires: no leeway, exp one second away */
    saga_auth_opts o = {.alg = "ES256",
                        .key = es_pub,
                        .key_len = strlen(es_pub),
                        .issuer = ISS,
                        .audience = AUD,
                        .leeway_s = 0};
    a = saga_auth_new(&o, err, sizeof(err));
    ck_assert_msg(a != NULL, "%s", err);
    t = mint("ES256", es_priv, "cached-2", 0, 1, 0);
    expect(a, t, SAGA_AUTH_OK, "fresh");
    sleep(2);
    expect(a, t, SAGA_AUTH_EXPIRED, "remembered, then expired");
    free(t);
    saga_auth_free(a);
}
END_TEST

static Suite *auth_suite(void)
{
    Suite *s = suite_create("auth");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_round_trip_es256);
    tcase_add_test(core, test_round_trip_rs256);
    tcase_add_test(core, test_round_trip_hs256);
    tcase_add_test(core, test_keypair);
    tcase_add_test(core, test_roles_and_audience);
    tcase_add_test(core, test_missing);
    suite_add_tcase(s, core);
    TCase *attacks = tcase_create("attacks");
    tcase_add_test(attacks, test_wrong_issuer_audience);
    tcase_add_test(attacks, test_bad_signature);
    tcase_add_test(attacks, test_another_key);
    tcase_add_test(attacks, test_alg_none);
    tcase_add_test(attacks, test_alg_confusion);
    tcase_add_test(attacks, test_malformed);
    suite_add_tcase(s, attacks);
    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_expiry);
    tcase_add_test(limits, test_subjects);
    tcase_add_test(limits, test_new_refuses);
    tcase_add_test(limits, test_from_env);
    tcase_add_test(limits, test_mint_refuses);
    tcase_add_test(limits, test_minter_signs_many);
    tcase_add_test(limits, test_cache);
    suite_add_tcase(s, limits);
    return s;
}

int main(void)
{
    keypair(0, &es_priv, &es_pub);
    keypair(0, &es2_priv, &es2_pub);
    keypair(1, &rs_priv, &rs_pub);
    keypair(1, &rs2_priv, NULL);
    SRunner *sr = srunner_create(auth_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(es_priv);
    free(es_pub);
    free(es2_priv);
    free(es2_pub);
    free(rs_priv);
    free(rs_pub);
    free(rs2_priv);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
