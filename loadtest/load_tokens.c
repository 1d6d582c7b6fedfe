/* load_tokens.c - bearer tokens for the load customers, minted once and cached. */
#include "load_tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "saga/auth.h"
#include "saga/file.h"
#include "load_plan.h"

#define AUTH_PREFIX "Authorization: Bearer "
#define KEY_FILE_MAX (64 * 1024)
#define TOKENS_FILE_MAX ((size_t)1 << 30)

struct load_tokens {
    const load_opts *opts;
    char *key; /* NULL: tokens disabled */
    size_t key_len;
    saga_minter *minter; /* made from key on the first mint */
    char **rich; /* [customers + 1], index = customer number */
    char *poor[LOAD_POOR_CUSTOMERS + 1];
    char *admin;
    unsigned long minted, loaded;
};

static int key_load(load_tokens *t, char *err, size_t errlen)
{
    const load_opts *o = t->opts;
    bool hs = !strcmp(o->jwt_alg, "HS256");
    const char *path = hs ? o->jwt_secret_file : o->jwt_private_key_file;
    int rc;

    if (hs && !path && o->jwt_secret) {
        if (!(t->key = strdup(o->jwt_secret))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        t->key_len = strlen(t->key);
        return 0;
    }
    if (!path)
        return 0; /* disabled */
    rc = saga_file_read(path, KEY_FILE_MAX, &t->key, &t->key_len);
    if (rc) {
        snprintf(err, errlen, "cannot read the JWT key %s: %s", path,
                 errno ? strerror(errno) : "not a readable regular file of at most 64 KiB");
        return -1;
    }
    if (hs) /* a secret file written by echo ends with a newline that is not the secret's */
        while (t->key_len && (t->key[t->key_len - 1] == '\n' || t->key[t->key_len - 1] == '\r'))
            t->key[--t->key_len] = '\0';
    if (t->key_len == 0) {
        snprintf(err, errlen, "the JWT key file %s is empty", path);
        return -1;
    }
    return 0;
}

/* "load-c-000042" -> (RICH, 42); false for any other id or a number out of range. */
static bool customer_parse(const load_tokens *t, const char *id, int *cls, unsigned long *n)
{
    const char *digits;
    char *end = NULL;
    size_t width;

    if (!strncmp(id, "load-c-", 7)) {
        *cls = LOAD_CUSTOMER_RICH;
        digits = id + 7;
        width = 6;
    } else if (!strncmp(id, "load-poor-", 10)) {
        *cls = LOAD_CUSTOMER_POOR;
        digits = id + 10;
        width = 3;
    } else {
        return false;
    }
    if (strlen(digits) != width || digits[0] < '0' || digits[0] > '9')
        return false;
    *n = strtoul(digits, &end, 10);
    if (*end)
        return false;
    return *n >= 1 && *n <= (*cls == LOAD_CUSTOMER_POOR ? LOAD_POOR_CUSTOMERS : t->opts->customers);
}

/* Fills the cache from a {"<customer>": "<jwt>", ...} file. */
static int tokens_file_load(load_tokens *t, const char *path, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    cJSON *doc = NULL, *item;
    int rc = -1;

    if (saga_file_read(path, TOKENS_FILE_MAX, &text, &len)) {
        snprintf(err, errlen, "cannot read the tokens file %s: %s", path,
                 errno ? strerror(errno) : "not a readable regular file of at most 1 GiB");
        goto out;
    }
    if (!(doc = cJSON_ParseWithLength(text, len)) || !cJSON_IsObject(doc)) {
        snprintf(err, errlen, "the tokens file %s is not a JSON object", path);
        goto out;
    }
    cJSON_ArrayForEach(item, doc)
    {
        int cls;
        unsigned long n;
        char **slot, *line;
        size_t size;

        if (!cJSON_IsString(item) || !customer_parse(t, item->string, &cls, &n))
            continue;
        slot = cls == LOAD_CUSTOMER_POOR ? &t->poor[n] : &t->rich[n];
        size = sizeof(AUTH_PREFIX) + strlen(item->valuestring);
        if (!(line = malloc(size))) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        snprintf(line, size, AUTH_PREFIX "%s", item->valuestring);
        free(*slot);
        *slot = line;
        t->loaded++;
    }
    rc = 0;
out:
    cJSON_Delete(doc);
    free(text);
    return rc;
}

load_tokens *load_tokens_new(const load_opts *opts, char *err, size_t errlen)
{
    load_tokens *t = calloc(1, sizeof(*t));

    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->opts = opts;
    if (key_load(t, err, errlen))
        goto fail;
    if (!(t->rich = calloc(opts->customers + 1, sizeof(*t->rich)))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (opts->tokens_file && tokens_file_load(t, opts->tokens_file, err, errlen))
        goto fail;
    return t;
fail:
    load_tokens_free(t);
    return NULL;
}

void load_tokens_free(load_tokens *t)
{
    if (!t)
        return;
    if (t->rich)
        for (unsigned long i = 0; i <= t->opts->customers; i++)
            free(t->rich[i]);
    free(t->rich);
    for (int i = 0; i <= LOAD_POOR_CUSTOMERS; i++)
        free(t->poor[i]);
    free(t->admin);
    saga_minter_free(t->minter);
    if (t->key) /* a secret: do not leave it in freed memory */
        memset(t->key, 0, t->key_len);
    free(t->key);
    free(t);
}

bool load_tokens_enabled(const load_tokens *t)
{
    return t && (t->key || t->opts->tokens_file);
}

bool load_tokens_can_mint(const load_tokens *t)
{
    return t && t->key;
}

unsigned long load_tokens_minted(const load_tokens *t)
{
    return t->minted;
}

unsigned long load_tokens_loaded(const load_tokens *t)
{
    return t->loaded;
}

/* Mints a token for subject and returns "Authorization: Bearer <jwt>" (malloc'd). */
static char *mint_header(load_tokens *t, const char *subject, bool admin, char *err, size_t errlen)
{
    const load_opts *o = t->opts;
    saga_token_claims claims = {
        .issuer = o->jwt_issuer,
        .audience = o->jwt_audience,
        .subject = subject,
        .admin = admin,
        .ttl_s = o->token_ttl_s,
        .not_before_s = 0,
    };
    char *jwt, *line;
    size_t n;

    if (!t->key) {
        snprintf(err, errlen, "no token for %s in %s, and no key to mint one", subject,
                 o->tokens_file ? o->tokens_file : "(no tokens file)");
        return NULL;
    }
    if (!t->minter && !(t->minter = saga_minter_new(o->jwt_alg, t->key, t->key_len, err, errlen)))
        return NULL;
    if (!(jwt = saga_minter_sign(t->minter, &claims, err, errlen)))
        return NULL;
    t->minted++;
    n = sizeof(AUTH_PREFIX) + strlen(jwt);
    if ((line = malloc(n)))
        snprintf(line, n, AUTH_PREFIX "%s", jwt);
    else
        snprintf(err, errlen, "out of memory");
    free(jwt);
    return line;
}

const char *load_tokens_customer(load_tokens *t, int cls, unsigned long n, char *err, size_t errlen)
{
    char **slot, subject[LOAD_ID_MAX];

    if (!load_tokens_enabled(t))
        return NULL;
    if (cls == LOAD_CUSTOMER_POOR ? n < 1 || n > LOAD_POOR_CUSTOMERS
                                  : n < 1 || n > t->opts->customers) {
        snprintf(err, errlen, "no such load customer: %lu", n);
        return NULL;
    }
    slot = cls == LOAD_CUSTOMER_POOR ? &t->poor[n] : &t->rich[n];
    if (!*slot) {
        load_customer_id(cls, n, subject);
        *slot = mint_header(t, subject, false, err, errlen);
    }
    return *slot;
}

const char *load_tokens_admin(load_tokens *t, char *err, size_t errlen)
{
    if (!load_tokens_enabled(t))
        return NULL;
    if (!t->admin)
        t->admin = mint_header(t, "saga-load", true, err, errlen);
    return t->admin;
}

static int write_class(load_tokens *t, FILE *f, int cls, unsigned long count, bool *first,
                       char *err, size_t errlen)
{
    char id[LOAD_ID_MAX];

    for (unsigned long n = 1; n <= count; n++) {
        const char *line = load_tokens_customer(t, cls, n, err, errlen);
        if (!line)
            return -1;
        load_customer_id(cls, n, id);
        fprintf(f, "%s\n  \"%s\": \"%s\"", *first ? "" : ",", id, line + strlen(AUTH_PREFIX));
        *first = false;
    }
    return 0;
}

int load_tokens_write(load_tokens *t, const char *path, char *err, size_t errlen)
{
    size_t n = strlen(path) + sizeof(".tmp");
    char *tmp = malloc(n);
    FILE *f = NULL;
    bool first = true, created = false;
    int rc = -1, fd, werr;

    if (!t->key) {
        snprintf(err, errlen,
                 "no JWT key configured (--jwt-private-key-file, "
                 "SAGA_JWT_PRIVATE_KEY_FILE, or SAGA_JWT_SECRET with HS256)");
        goto out;
    }
    if (!tmp) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    snprintf(tmp, n, "%s.tmp", path);
    /* tokens are credentials: readable by their owner only */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    created = true;
    fputc('{', f);
    if (write_class(t, f, LOAD_CUSTOMER_RICH, t->opts->customers, &first, err, errlen) ||
        write_class(t, f, LOAD_CUSTOMER_POOR, LOAD_POOR_CUSTOMERS, &first, err, errlen))
        goto out;
    fputs("\n}\n", f);
    werr = ferror(f);
    if (fclose(f) || werr) {
        f = NULL;
        snprintf(err, errlen, "cannot write %s", tmp);
        goto out;
    }
    f = NULL;
    if (rename(tmp, path)) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (f)
        fclose(f);
    if (rc && created)
        remove(tmp);
    free(tmp);
    return rc;
}
