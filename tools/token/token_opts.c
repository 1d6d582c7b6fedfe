/* token_opts.c - the command line of saga-token, and the environment's defaults. */
#include "token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/config.h"
#include "saga/err.h"

const char token_usage[] =
    "usage: saga-token [--admin] [--ttl SECONDS] [--nbf SECONDS] [--alg ALG]\n"
    "                  [--key-file FILE] [--issuer ISS] [--audience AUD] SUBJECT\n"
    "       saga-token keygen DIR\n"
    "\n"
    "Mints a bearer token for SUBJECT (a customer id, or an admin's name) and prints\n"
    "it on stdout. The services verify it with SAGA_JWT_* (README, Security).\n"
    "\n"
    "Options:\n"
    "  --admin            role \"admin\" (may do everything); default role \"customer\"\n"
    "                     (may act only for SUBJECT)\n"
    "  --ttl SECONDS      expires SECONDS from now (3600); negative: already expired\n"
    "  --nbf SECONDS      not valid before SECONDS from now (0)\n"
    "  --alg ALG          ES256, RS256 or HS256 (default $SAGA_JWT_ALG, else ES256)\n"
    "  --key-file FILE    ES256/RS256: the private key PEM; HS256: a file holding the\n"
    "                     secret (default $SAGA_JWT_PRIVATE_KEY_FILE; for HS256 also\n"
    "                     $SAGA_JWT_SECRET, the secret itself, or\n"
    "                     $SAGA_JWT_SECRET_FILE, a file holding it)\n"
    "  --issuer ISS       the iss claim (default $SAGA_JWT_ISSUER, else saga-local)\n"
    "  --audience AUD     the aud claim (default $SAGA_JWT_AUDIENCE, else saga-api)\n"
    "  -h, --help         this text\n"
    "  -V, --version      the version and the commit of this build\n"
    "\n"
    "keygen DIR writes a new ES256 (P-256) key pair: DIR/jwt-private.pem (mode 0600,\n"
    "for saga-token) and DIR/jwt-public.pem (for the services' SAGA_JWT_KEY_FILE).\n"
    "It creates DIR (0700) if needed and never overwrites a key.\n"
    "\n"
    "Exit status: 0 done, 1 failed (key unreadable, signing or writing failed),\n"
    "2 usage error.\n";

/* Ten years either way: enough for any test, and far from overflowing time_t. */
#define TOKEN_MAX_OFFSET_S 315360000L

static const char *const known_algs[] = {"ES256", "RS256", "HS256"};

/* An environment variable's value, or NULL when unset or empty. */
static const char *env_value(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* The value of option argv[*i], advancing *i; NULL (err filled) if there is none. */
static const char *option_value(int argc, char **argv, int *i, char *err, size_t errlen)
{
    const char *opt = argv[*i];
    if (*i + 1 >= argc || argv[*i + 1][0] == '\0') {
        snprintf(err, errlen, "%s needs a value", opt);
        return NULL;
    }
    return argv[++*i];
}

/* A whole decimal number of seconds in [-TOKEN_MAX_OFFSET_S, TOKEN_MAX_OFFSET_S]. */
static int parse_seconds(const char *opt, const char *s, long *out, char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || s[0] == ' ' || v < -TOKEN_MAX_OFFSET_S ||
        v > TOKEN_MAX_OFFSET_S) {
        snprintf(err, errlen, "%s: '%s' is not a whole number of seconds within %ld", opt, s,
                 TOKEN_MAX_OFFSET_S);
        return -1;
    }
    *out = v;
    return 0;
}

/* Where the signing key comes from, once the algorithm is known. */
static int resolve_key(token_opts *opts, char *err, size_t errlen)
{
    bool hs = !strcmp(opts->alg, "HS256");
    const char *env_file = env_value("SAGA_JWT_PRIVATE_KEY_FILE");
    const char *env_secret = NULL;

    if (opts->key_file)
        return 0; /* given on the command line: it wins over the environment */
    if (!hs) {
        if (!env_file) {
            snprintf(err, errlen,
                     "no private key for %s: give --key-file or set SAGA_JWT_PRIVATE_KEY_FILE",
                     opts->alg);
            return -1;
        }
        opts->key_file = env_file;
        return 0;
    }
    /* SAGA_JWT_SECRET or SAGA_JWT_SECRET_FILE (config.h) */
    if (saga_config_secret("SAGA_JWT_SECRET", "", opts->secret_buf, sizeof(opts->secret_buf), err,
                           errlen) != SAGA_OK)
        return -1;
    if (opts->secret_buf[0])
        env_secret = opts->secret_buf;
    if (env_file && env_secret) {
        snprintf(err, errlen,
                 "both SAGA_JWT_PRIVATE_KEY_FILE and SAGA_JWT_SECRET are set: "
                 "set one, or give --key-file");
        return -1;
    }
    if (!env_file && !env_secret) {
        snprintf(err, errlen, "no secret for HS256: give --key-file or set SAGA_JWT_SECRET "
                              "(or SAGA_JWT_SECRET_FILE)");
        return -1;
    }
    opts->key_file = env_file;
    opts->secret = env_secret;
    return 0;
}

int token_opts_parse(token_opts *opts, int argc, char **argv, char *err, size_t errlen)
{
    memset(opts, 0, sizeof(*opts));
    opts->cmd = TOKEN_MINT;
    opts->ttl_s = 3600;
    opts->alg = env_value("SAGA_JWT_ALG") ? env_value("SAGA_JWT_ALG") : "ES256";
    opts->issuer = env_value("SAGA_JWT_ISSUER") ? env_value("SAGA_JWT_ISSUER") : "saga-local";
    opts->audience = env_value("SAGA_JWT_AUDIENCE") ? env_value("SAGA_JWT_AUDIENCE") : "saga-api";

    if (argc >= 2 && !strcmp(argv[1], "keygen")) {
        if (argc != 3 || argv[2][0] == '\0' || argv[2][0] == '-') {
            snprintf(err, errlen, "keygen takes one argument: the directory for the key pair");
            return -1;
        }
        opts->cmd = TOKEN_KEYGEN;
        opts->dir = argv[2];
        return 0;
    }

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            opts->cmd = TOKEN_HELP;
            return 0;
        } else if (!strcmp(a, "--admin")) {
            opts->admin = true;
        } else if (!strcmp(a, "--ttl") || !strcmp(a, "--nbf")) {
            if (!(v = option_value(argc, argv, &i, err, errlen)))
                return -1;
            if (parse_seconds(a, v, a[2] == 't' ? &opts->ttl_s : &opts->not_before_s, err, errlen))
                return -1;
        } else if (!strcmp(a, "--alg")) {
            if (!(opts->alg = option_value(argc, argv, &i, err, errlen)))
                return -1;
        } else if (!strcmp(a, "--key-file")) {
            if (!(opts->key_file = option_value(argc, argv, &i, err, errlen)))
                return -1;
        } else if (!strcmp(a, "--issuer")) {
            if (!(opts->issuer = option_value(argc, argv, &i, err, errlen)))
                return -1;
        } else if (!strcmp(a, "--audience")) {
            if (!(opts->audience = option_value(argc, argv, &i, err, errlen)))
                return -1;
        } else if (a[0] == '-' && a[1] != '\0') {
            snprintf(err, errlen, "unknown option %s", a);
            return -1;
        } else if (opts->subject) {
            snprintf(err, errlen, "one subject only (got '%s' and '%s')", opts->subject, a);
            return -1;
        } else {
            opts->subject = a;
        }
    }
    if (!opts->subject || !*opts->subject) {
        snprintf(err, errlen, "no subject: name the customer id (or the admin) to mint for");
        return -1;
    }
    bool known = false;
    for (size_t i = 0; i < sizeof(known_algs) / sizeof(known_algs[0]); i++)
        known = known || !strcmp(opts->alg, known_algs[i]);
    if (!known) {
        snprintf(err, errlen, "unknown algorithm '%s' (ES256, RS256 or HS256)", opts->alg);
        return -1;
    }
    return resolve_key(opts, err, errlen);
}
