/* load_opts.c - saga-load's command line and environment, and the order mix. */
#include "load_opts.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const kind_names[LOAD_KIND_COUNT] = {
    "confirmed", "out_of_stock", "declined", "cancel", "flash",
};

const char *load_kind_name(int kind)
{
    return kind >= 0 && kind < LOAD_KIND_COUNT ? kind_names[kind] : "unknown";
}

int load_mix_parse(const char *spec, load_mix *out, char *err, size_t errlen)
{
    bool seen[LOAD_KIND_COUNT] = {false};
    const char *p = spec;

    memset(out, 0, sizeof(*out));
    if (!spec || !*spec) {
        snprintf(err, errlen, "--mix is empty");
        return -1;
    }
    while (*p) {
        const char *eq = strchr(p, '='), *end = strchr(p, ',');
        size_t namelen;
        char *num_end = NULL;
        unsigned long w;
        int k;

        if (!end)
            end = p + strlen(p);
        if (!eq || eq > end) {
            snprintf(err, errlen, "--mix: '%.*s' is not kind=weight", (int)(end - p), p);
            return -1;
        }
        namelen = (size_t)(eq - p);
        for (k = 0; k < LOAD_KIND_FLASH; k++)
            if (strlen(kind_names[k]) == namelen && !strncmp(kind_names[k], p, namelen))
                break;
        if (k == LOAD_KIND_FLASH) {
            snprintf(err, errlen,
                     "--mix: unknown kind '%.*s' (confirmed, out_of_stock, declined, cancel)",
                     (int)namelen, p);
            return -1;
        }
        if (seen[k]) {
            snprintf(err, errlen, "--mix: %s given twice", kind_names[k]);
            return -1;
        }
        seen[k] = true;
        errno = 0;
        w = strtoul(eq + 1, &num_end, 10);
        if (errno || num_end == eq + 1 || num_end != end || eq[1] == '-' || w > 1000000) {
            snprintf(err, errlen, "--mix: the weight of %s is not an integer in 0..1000000",
                     kind_names[k]);
            return -1;
        }
        out->weight[k] = (unsigned)w;
        out->total += (unsigned)w;
        p = *end ? end + 1 : end;
        if (*end && !*p) {
            snprintf(err, errlen, "--mix: trailing comma");
            return -1;
        }
    }
    if (out->total == 0) {
        snprintf(err, errlen, "--mix: the weights add up to 0");
        return -1;
    }
    return 0;
}

void load_mix_format(const load_mix *mix, char *out, size_t outlen)
{
    size_t used = 0;

    if (outlen)
        out[0] = '\0';
    for (int k = 0; k < LOAD_KIND_FLASH && used < outlen; k++) {
        int n = snprintf(out + used, outlen - used, "%s%s=%u", used ? "," : "", kind_names[k],
                         mix->weight[k]);
        if (n < 0)
            return;
        used += (size_t)n;
    }
}

static const char usage_text[] =
    "usage: saga-load [options]\n"
    "\n"
    "Offers orders to order-service at a fixed arrival rate (open loop) or as fast as\n"
    "--concurrency allows (--rate 0), follows each accepted order's outcome on\n"
    "order-events, then runs the audit and reports throughput, latencies and outcomes.\n"
    "Exit status: 0 every accepted order got an outcome (and the audit was clean),\n"
    "1 otherwise, 2 bad options.\n"
    "\n"
    "Load:\n"
    "  --rate R              orders per second, scheduled at fixed times; latency is\n"
    "                        measured from the scheduled time (100); 0 = closed loop\n"
    "  --concurrency N       orders in flight with --rate 0 (64)\n"
    "  --duration S          offer orders for S seconds (10 unless --orders is given)\n"
    "  --orders N            offer N orders (with --duration: whichever ends first)\n"
    "  --customers N         customers load-c-000001..N (100000)\n"
    "  --products N          skus load-p-0000001..N (1000000)\n"
    "  --items-per-order N   distinct skus per order, quantity 1 (1; 1..50)\n"
    "  --mix SPEC            confirmed=90,out_of_stock=4,declined=3,cancel=3\n"
    "  --seed N              random seed (default: from the clock; printed)\n"
    "  --flash SKU           flash sale: set SKU's stock (admin PUT), then every order\n"
    "  --flash-stock N       is for SKU, quantity 1; reports oversell\n"
    "  --strict              also fail (exit 1) on an outcome its kind does not expect\n"
    "\n"
    "Where:\n"
    "  --order-url URL       order-service ($SAGA_ORDER_URL, http://127.0.0.1:8081)\n"
    "  --inventory-url URL   inventory-service, for --flash ($SAGA_INVENTORY_URL,\n"
    "                        http://127.0.0.1:8083)\n"
    "  --bootstrap LIST      Kafka bootstrap servers ($SAGA_KAFKA_BOOTSTRAP)\n"
    "  --topic NAME          where outcomes are read (order-events)\n"
    "  --fetch-wait-ms N     the consumer's fetch.wait.max.ms (5: keep it low on the\n"
    "                        local mock broker)\n"
    "  --connections N       keep-alive HTTP connections (64)\n"
    "  --http-timeout S      per request (10)\n"
    "  --drain-timeout S     wait this long after the last send for outcomes (30)\n"
    "\n"
    "Tokens (every request carries Authorization: Bearer <jwt>; flags override env):\n"
    "  --jwt-alg ALG         ES256, RS256 or HS256 ($SAGA_JWT_ALG, ES256)\n"
    "  --jwt-private-key-file F  signing key PEM ($SAGA_JWT_PRIVATE_KEY_FILE)\n"
    "  --jwt-secret-file F   HS256 secret from a file ($SAGA_JWT_SECRET_FILE, or the\n"
    "                        secret itself in $SAGA_JWT_SECRET)\n"
    "  --jwt-issuer S        ($SAGA_JWT_ISSUER, saga-local)\n"
    "  --jwt-audience S      ($SAGA_JWT_AUDIENCE, saga-api)\n"
    "  --token-ttl S         token lifetime (86400)\n"
    "  --write-tokens FILE   write {\"<customer>\": \"<token>\", ...} for the --customers\n"
    "                        customers and load-poor-001..100, then exit (for k6)\n"
    "  --tokens FILE         use the tokens of such a file; others are minted\n"
    "                        (about 50 us of CPU per ES256 token)\n"
    "  With no key configured, requests go without Authorization (a warning says so).\n"
    "\n"
    "Report:\n"
    "  --json FILE           also write the report as JSON\n"
    "  --audit-cmd CMD       run CMD (sh -c) after the run ($SAGA_LOAD_AUDIT_CMD);\n"
    "                        its exit status is part of the result\n"
    "  --audit-settle S      wait S seconds before the audit, for notifications (2)\n"
    "  --no-audit            do not run it\n"
    "  --quiet               no progress lines on stderr\n"
    "  --help\n"
    "  -V, --version         the version and the commit of this build\n";

void load_opts_usage(FILE *out)
{
    fputs(usage_text, out);
}

enum {
    OPT_RATE = 256,
    OPT_CONCURRENCY,
    OPT_DURATION,
    OPT_ORDERS,
    OPT_CUSTOMERS,
    OPT_PRODUCTS,
    OPT_ITEMS,
    OPT_MIX,
    OPT_SEED,
    OPT_FLASH,
    OPT_FLASH_STOCK,
    OPT_STRICT,
    OPT_ORDER_URL,
    OPT_INVENTORY_URL,
    OPT_BOOTSTRAP,
    OPT_TOPIC,
    OPT_FETCH_WAIT,
    OPT_CONNECTIONS,
    OPT_HTTP_TIMEOUT,
    OPT_DRAIN_TIMEOUT,
    OPT_JWT_ALG,
    OPT_JWT_KEY,
    OPT_JWT_SECRET_FILE,
    OPT_JWT_ISSUER,
    OPT_JWT_AUDIENCE,
    OPT_TOKEN_TTL,
    OPT_WRITE_TOKENS,
    OPT_TOKENS,
    OPT_JSON,
    OPT_AUDIT_CMD,
    OPT_AUDIT_SETTLE,
    OPT_NO_AUDIT,
    OPT_QUIET,
    OPT_HELP,
};

static const struct option long_opts[] = {
    {"rate", required_argument, NULL, OPT_RATE},
    {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"orders", required_argument, NULL, OPT_ORDERS},
    {"customers", required_argument, NULL, OPT_CUSTOMERS},
    {"products", required_argument, NULL, OPT_PRODUCTS},
    {"items-per-order", required_argument, NULL, OPT_ITEMS},
    {"mix", required_argument, NULL, OPT_MIX},
    {"seed", required_argument, NULL, OPT_SEED},
    {"flash", required_argument, NULL, OPT_FLASH},
    {"flash-stock", required_argument, NULL, OPT_FLASH_STOCK},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"order-url", required_argument, NULL, OPT_ORDER_URL},
    {"inventory-url", required_argument, NULL, OPT_INVENTORY_URL},
    {"bootstrap", required_argument, NULL, OPT_BOOTSTRAP},
    {"topic", required_argument, NULL, OPT_TOPIC},
    {"fetch-wait-ms", required_argument, NULL, OPT_FETCH_WAIT},
    {"connections", required_argument, NULL, OPT_CONNECTIONS},
    {"http-timeout", required_argument, NULL, OPT_HTTP_TIMEOUT},
    {"drain-timeout", required_argument, NULL, OPT_DRAIN_TIMEOUT},
    {"jwt-alg", required_argument, NULL, OPT_JWT_ALG},
    {"jwt-private-key-file", required_argument, NULL, OPT_JWT_KEY},
    {"jwt-secret-file", required_argument, NULL, OPT_JWT_SECRET_FILE},
    {"jwt-issuer", required_argument, NULL, OPT_JWT_ISSUER},
    {"jwt-audience", required_argument, NULL, OPT_JWT_AUDIENCE},
    {"token-ttl", required_argument, NULL, OPT_TOKEN_TTL},
    {"write-tokens", required_argument, NULL, OPT_WRITE_TOKENS},
    {"tokens", required_argument, NULL, OPT_TOKENS},
    {"json", required_argument, NULL, OPT_JSON},
    {"audit-cmd", required_argument, NULL, OPT_AUDIT_CMD},
    {"audit-settle", required_argument, NULL, OPT_AUDIT_SETTLE},
    {"no-audit", no_argument, NULL, OPT_NO_AUDIT},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* The environment variable's value, or NULL when unset or empty. */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int parse_ulong(const char *opt, const char *val, unsigned long min, unsigned long max,
                       unsigned long *out, char *err, size_t errlen)
{
    char *end = NULL;
    unsigned long v;

    errno = 0;
    v = strtoul(val, &end, 10);
    if (errno || end == val || *end || val[0] == '-' || v < min || v > max) {
        snprintf(err, errlen, "--%s: '%s' is not an integer in %lu..%lu", opt, val, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_double(const char *opt, const char *val, double min, double max, double *out,
                        char *err, size_t errlen)
{
    char *end = NULL;
    double v;

    errno = 0;
    v = strtod(val, &end);
    if (errno || end == val || *end || !isfinite(v) || v < min || v > max) {
        snprintf(err, errlen, "--%s: '%s' is not a number in %g..%g", opt, val, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* A sku as the order API accepts it: ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ */
static bool sku_valid(const char *s)
{
    size_t n = strlen(s);

    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
    }
    return true;
}

static void defaults(load_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->rate = 100;
    o->concurrency = 64;
    o->customers = 100000;
    o->products = 1000000;
    o->items_per_order = 1;
    o->mix.weight[LOAD_KIND_CONFIRMED] = 90;
    o->mix.weight[LOAD_KIND_OUT_OF_STOCK] = 4;
    o->mix.weight[LOAD_KIND_DECLINED] = 3;
    o->mix.weight[LOAD_KIND_CANCEL] = 3;
    o->mix.total = 100;
    o->flash_stock = -1;
    o->order_url = env("SAGA_ORDER_URL") ? env("SAGA_ORDER_URL") : "http://127.0.0.1:8081";
    o->inventory_url =
        env("SAGA_INVENTORY_URL") ? env("SAGA_INVENTORY_URL") : "http://127.0.0.1:8083";
    o->bootstrap = env("SAGA_KAFKA_BOOTSTRAP");
    o->topic = "order-events";
    o->fetch_wait_ms = 5;
    o->connections = 64;
    o->http_timeout_s = 10;
    o->drain_timeout_s = 30;
    o->jwt_alg = env("SAGA_JWT_ALG") ? env("SAGA_JWT_ALG") : "ES256";
    o->jwt_private_key_file = env("SAGA_JWT_PRIVATE_KEY_FILE");
    o->jwt_secret = env("SAGA_JWT_SECRET");
    o->jwt_secret_file = env("SAGA_JWT_SECRET_FILE"); /* --jwt-secret-file wins */
    o->jwt_issuer = env("SAGA_JWT_ISSUER") ? env("SAGA_JWT_ISSUER") : "saga-local";
    o->jwt_audience = env("SAGA_JWT_AUDIENCE") ? env("SAGA_JWT_AUDIENCE") : "saga-api";
    o->token_ttl_s = 86400;
    o->audit_cmd = env("SAGA_LOAD_AUDIT_CMD");
    o->audit_settle_s = 2;
}

/* Checks that go across options, once all are read. */
static int check_combination(load_opts *o, bool duration_given, char *err, size_t errlen)
{
    if (!duration_given && o->orders == 0)
        o->duration_s = 10;
    if (o->rate == 0 && o->concurrency == 0) {
        snprintf(err, errlen, "--rate 0 needs --concurrency of at least 1");
        return -1;
    }
    if (o->items_per_order > o->products) {
        snprintf(err, errlen, "--items-per-order %u is more than --products %lu",
                 o->items_per_order, o->products);
        return -1;
    }
    if (!o->flash_sku != (o->flash_stock < 0)) {
        snprintf(err, errlen, "--flash and --flash-stock go together");
        return -1;
    }
    if (o->flash_sku && !sku_valid(o->flash_sku)) {
        snprintf(err, errlen, "--flash: '%s' is not a valid sku", o->flash_sku);
        return -1;
    }
    if (strcmp(o->jwt_alg, "ES256") && strcmp(o->jwt_alg, "RS256") && strcmp(o->jwt_alg, "HS256")) {
        snprintf(err, errlen, "--jwt-alg: '%s' is not ES256, RS256 or HS256", o->jwt_alg);
        return -1;
    }
    if (env("SAGA_JWT_SECRET") && env("SAGA_JWT_SECRET_FILE")) {
        snprintf(err, errlen, "SAGA_JWT_SECRET and SAGA_JWT_SECRET_FILE are both set: set one");
        return -1;
    }
    if (!o->write_tokens && !o->bootstrap) {
        snprintf(err, errlen, "no Kafka bootstrap servers: --bootstrap or SAGA_KAFKA_BOOTSTRAP");
        return -1;
    }
    if (!o->seed_given) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        o->seed = ((unsigned long long)ts.tv_sec * 1000003ULL) ^ (unsigned long long)ts.tv_nsec ^
                  ((unsigned long long)getpid() << 32);
    }
    return 0;
}

load_opts_result load_opts_parse(int argc, char **argv, load_opts *o, char *err, size_t errlen)
{
    bool duration_given = false;
    unsigned long ul;
    int c;

    defaults(o);
    optind = 0; /* glibc: 0 also resets getopt's internal state */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
        const char *name = NULL;
        for (const struct option *lo = long_opts; lo->name; lo++)
            if (lo->val == c)
                name = lo->name;
        switch (c) {
        case OPT_RATE:
            if (parse_double(name, optarg, 0, 1e6, &o->rate, err, errlen))
                return LOAD_OPTS_BAD;
            break;
        case OPT_CONCURRENCY:
            if (parse_ulong(name, optarg, 1, 100000, &ul, err, errlen))
                return LOAD_OPTS_BAD;
            o->concurrency = (unsigned)ul;
            break;
        case OPT_DURATION:
            if (parse_double(name, optarg, 0.001, 1e7, &o->duration_s, err, errlen))
                return LOAD_OPTS_BAD;
            duration_given = true;
            break;
        case OPT_ORDERS:
            if (parse_ulong(name, optarg, 1, 1000000000UL, &o->orders, err, errlen))
                return LOAD_OPTS_BAD;
            break;
        case OPT_CUSTOMERS:
            if (parse_ulong(name, optarg, 1, 999999, &o->customers, err, errlen))
                return LOAD_OPTS_BAD;
            break;
        case OPT_PRODUCTS:
            if (parse_ulong(name, optarg, 1, 9999999, &o->products, err, errlen))
                return LOAD_OPTS_BAD;
            break;
        case OPT_ITEMS:
            if (parse_ulong(name, optarg, 1, LOAD_ITEMS_MAX, &ul, err, errlen))
                return LOAD_OPTS_BAD;
            o->items_per_order = (unsigned)ul;
            break;
        case OPT_MIX:
            if (load_mix_parse(optarg, &o->mix, err, errlen))
                return LOAD_OPTS_BAD;
            break;
        case OPT_SEED:
            if (parse_ulong(name, optarg, 0, (unsigned long)-1, &ul, err, errlen))
                return LOAD_OPTS_BAD;
            o->seed = ul;
            o->seed_given = true;
            break;
        case OPT_FLASH:
            o->flash_sku = optarg;
            break;
        case OPT_FLASH_STOCK:
            if (parse_ulong(name, optarg, 0, 2147483647UL, &ul, err, errlen))
                return LOAD_OPTS_BAD;
            o->flash_stock = (long)ul;
            break;
        case OPT_STRICT:
            o->strict = true;
            break;
        case OPT_ORDER_URL:
            o->order_url = optarg;
            break;
        case OPT_INVENTORY_URL:
            o->inventory_url = optarg;
            break;
        case OPT_BOOTSTRAP:
            o->bootstrap = optarg;
            break;
        case OPT_TOPIC:
            o->topic = optarg;
            break;
        case OPT_FETCH_WAIT:
            if (parse_ulong(name, optarg, 1, 10000, &ul, err, errlen))
                return LOAD_OPTS_BAD;
            o->fetch_wait_ms = (int)ul;
            break;
        case OPT_CONNECTIONS:
            if (parse_ulong(name, optarg, 1, 10000, &ul, err, errlen))
                return LOAD_OPTS_BAD;
            o->connections = (unsigned)ul;
            break;
        case OPT_HTTP_TIMEOUT:
            if (parse_double(name, optarg, 0.001, 3600, &o->http_timeout_s, err, errlen))
                return LOAD_OPTS_BAD;
            break;
        case OPT_DRAIN_TIMEOUT:
            if (parse_double(name, optarg, 0, 86400, &o->drain_timeout_s, err, errlen))
                return LOAD_OPTS_BAD;
            break;
        case OPT_JWT_ALG:
            o->jwt_alg = optarg;
            break;
        case OPT_JWT_KEY:
            o->jwt_private_key_file = optarg;
            break;
        case OPT_JWT_SECRET_FILE:
            o->jwt_secret_file = optarg;
            break;
        case OPT_JWT_ISSUER:
            o->jwt_issuer = optarg;
            break;
        case OPT_JWT_AUDIENCE:
            o->jwt_audience = optarg;
            break;
        case OPT_TOKEN_TTL:
            if (parse_ulong(name, optarg, 1, 366UL * 86400, &ul, err, errlen))
                return LOAD_OPTS_BAD;
            o->token_ttl_s = (long)ul;
            break;
        case OPT_WRITE_TOKENS:
            o->write_tokens = optarg;
            break;
        case OPT_TOKENS:
            o->tokens_file = optarg;
            break;
        case OPT_JSON:
            o->json_path = optarg;
            break;
        case OPT_AUDIT_CMD:
            o->audit_cmd = optarg;
            break;
        case OPT_AUDIT_SETTLE:
            if (parse_double(name, optarg, 0, 3600, &o->audit_settle_s, err, errlen))
                return LOAD_OPTS_BAD;
            break;
        case OPT_NO_AUDIT:
            o->no_audit = true;
            break;
        case OPT_QUIET:
            o->quiet = true;
            break;
        case OPT_HELP:
            return LOAD_OPTS_HELP;
        case ':':
            snprintf(err, errlen, "%s needs a value", argv[optind - 1]);
            return LOAD_OPTS_BAD;
        default:
            snprintf(err, errlen, "unknown option %s", argv[optind - 1]);
            return LOAD_OPTS_BAD;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
        return LOAD_OPTS_BAD;
    }
    return check_combination(o, duration_given, err, errlen) ? LOAD_OPTS_BAD : LOAD_OPTS_RUN;
}
