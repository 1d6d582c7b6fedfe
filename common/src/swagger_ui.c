/* swagger_ui.c - the Swagger UI page and its files (see saga/swagger_ui.h). */
#include "saga/swagger_ui.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"
#include "saga/file.h"
#include "saga/log.h"

#define SWAGGER_FILE_MAX (16L * 1024 * 1024) /* the bundle is about 1.5 MiB */
#define SWAGGER_PAGE "/swagger-ui.html"
#define SWAGGER_FILES "/swagger-ui/"
#define SWAGGER_INIT "init.js"

const char *const saga_swagger_ui_paths[] = {
    SWAGGER_PAGE, SWAGGER_FILES "{file}", "/swagger-ui/", "/swagger-ui", "/docs", "/docs/",
};
const size_t saga_swagger_ui_npaths =
    sizeof(saga_swagger_ui_paths) / sizeof(saga_swagger_ui_paths[0]);

/* The files of swagger-ui-dist the page loads; nothing else of the package is served. */
static const struct {
    const char *name;
    const char *ctype;
    int required;
} swagger_files[] = {
    {"swagger-ui-bundle.js", "application/javascript; charset=utf-8", 1},
    {"swagger-ui.css", "text/css; charset=utf-8", 1},
    {"favicon-32x32.png", "image/png", 0},
    {"favicon-16x16.png", "image/png", 0},
};
#define SWAGGER_NFILES (sizeof(swagger_files) / sizeof(swagger_files[0]))

struct saga_swagger_ui {
    bool available;
    char *page; /* the HTML document */
    size_t page_len;
    char *body[SWAGGER_NFILES]; /* NULL: not found */
    size_t len[SWAGGER_NFILES];
};

/* The start-up script, a file of its own so that the page needs no inline script
 * (the Content-Security-Policy allows scripts from this origin only). The URL is
 * relative to the page: this service's /openapi.json. */
static const char swagger_init_js[] = "window.addEventListener('load', function () {\n"
                                      "  window.ui = SwaggerUIBundle({\n"
                                      "    url: 'openapi.json',\n"
                                      "    dom_id: '#swagger-ui',\n"
                                      "    deepLinking: true,\n"
                                      "    validatorUrl: null,\n"
                                      "    presets: [SwaggerUIBundle.presets.apis],\n"
                                      "    layout: 'BaseLayout'\n"
                                      "  });\n"
                                      "});\n";

static const char swagger_page_fmt[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>%s-service API</title>\n"
    "<link rel=\"stylesheet\" href=\"swagger-ui/swagger-ui.css\">\n"
    "<link rel=\"icon\" type=\"image/png\" href=\"swagger-ui/favicon-32x32.png\" sizes=\"32x32\">\n"
    "<link rel=\"icon\" type=\"image/png\" href=\"swagger-ui/favicon-16x16.png\" sizes=\"16x16\">\n"
    "</head>\n"
    "<body>\n"
    "<div id=\"swagger-ui\"></div>\n"
    "<script src=\"swagger-ui/swagger-ui-bundle.js\"></script>\n"
    "<script src=\"swagger-ui/" SWAGGER_INIT "\"></script>\n"
    "</body>\n"
    "</html>\n";

/* Swagger UI sets style attributes and shows data: images; everything else comes
 * from this origin. */
static const char swagger_csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/* Reads the files from dir; returns how many required ones are missing, and names
 * the first in why. */
static int swagger_read_dir(saga_swagger_ui *ui, const char *dir, char *why, size_t whylen)
{
    char path[1200];
    int missing = 0;

    for (size_t i = 0; i < SWAGGER_NFILES; i++) {
        free(ui->body[i]);
        ui->body[i] = NULL;
        ui->len[i] = 0;
        int rc = SAGA_ERR_INVALID; /* a path too long to name is not found */
        int n = snprintf(path, sizeof(path), "%s/%s", dir, swagger_files[i].name);
        if (n > 0 && (size_t)n < sizeof(path))
            rc = saga_file_read(path, SWAGGER_FILE_MAX, &ui->body[i], &ui->len[i]);
        if (rc == SAGA_OK || !swagger_files[i].required)
            continue;
        if (!missing)
            snprintf(why, whylen, "%s: %s", path,
                     rc == SAGA_ERR_NOT_FOUND ? strerror(errno) : saga_rc_str(rc));
        missing++;
    }
    return missing;
}

saga_swagger_ui *saga_swagger_ui_load(const char *service, const char *schemas_dir)
{
    saga_swagger_ui *ui = calloc(1, sizeof(*ui));
    const char *set = getenv("SAGA_SWAGGER_UI_DIR");
    char dirs[2][1100];
    char tried[2300] = "";
    char why[1400] = "";
    size_t ndirs = 0;

    if (!ui)
        return NULL;
    int n = snprintf(NULL, 0, swagger_page_fmt, service);
    ui->page = malloc((size_t)n + 1);
    if (!ui->page) {
        free(ui);
        return NULL;
    }
    snprintf(ui->page, (size_t)n + 1, swagger_page_fmt, service);
    ui->page_len = (size_t)n;

    if (set && *set) {
        snprintf(dirs[ndirs++], sizeof(dirs[0]), "%s", set);
    } else {
        snprintf(dirs[ndirs++], sizeof(dirs[0]), "node_modules/swagger-ui-dist");
        snprintf(dirs[ndirs++], sizeof(dirs[0]), "%s/../node_modules/swagger-ui-dist", schemas_dir);
    }
    for (size_t i = 0; i < ndirs; i++) {
        if (swagger_read_dir(ui, dirs[i], why, sizeof(why)) == 0) {
            ui->available = true;
            LOG_INFO("swagger_ui.loaded", "Swagger UI at /swagger-ui.html, files from %s", dirs[i]);
            return ui;
        }
        size_t used = strlen(tried);
        snprintf(tried + used, sizeof(tried) - used, "%s%s", used ? ", " : "", dirs[i]);
    }
    LOG_WARN("swagger_ui.missing",
             "no Swagger UI files (npm package swagger-ui-dist) in %s%s (%s): "
             "/swagger-ui.html answers 404; run npm ci in the checkout or set "
             "SAGA_SWAGGER_UI_DIR",
             tried, set && *set ? " (SAGA_SWAGGER_UI_DIR)" : "", why);
    return ui;
}

bool saga_swagger_ui_available(const saga_swagger_ui *ui)
{
    return ui && ui->available;
}

static void swagger_redirect(saga_http_resp *resp)
{
    saga_http_reply_static(resp, 302, NULL, NULL, 0);
    saga_http_add_header(resp, "Location", SWAGGER_PAGE);
}

static void swagger_not_installed(saga_http_resp *resp)
{
    saga_http_reply_problem(resp, 404,
                            "the Swagger UI files (npm package swagger-ui-dist) are not "
                            "installed for this service: see its start-up log and "
                            "SAGA_SWAGGER_UI_DIR; /openapi.json is served all the same");
}

void saga_swagger_ui_serve(const saga_swagger_ui *ui, saga_http_req *req, saga_http_resp *resp)
{
    const char *path = saga_http_path(req);
    size_t plen = strcspn(path, "?");

    if (plen == sizeof(SWAGGER_PAGE) - 1 && strncmp(path, SWAGGER_PAGE, plen) == 0) {
        if (!saga_swagger_ui_available(ui)) {
            swagger_not_installed(resp);
            return;
        }
        saga_http_reply_static(resp, 200, "text/html; charset=utf-8", ui->page, ui->page_len);
        saga_http_add_header(resp, "Content-Security-Policy", swagger_csp);
        saga_http_add_header(resp, "X-Content-Type-Options", "nosniff");
        saga_http_add_header(resp, "Cache-Control", "no-cache");
        return;
    }
    const char *file = saga_http_param(req, "file");
    if (!file) {
        swagger_redirect(resp); /* /docs, /docs/, /swagger-ui, /swagger-ui/ */
        return;
    }
    if (!saga_swagger_ui_available(ui)) {
        swagger_not_installed(resp);
        return;
    }
    if (strcmp(file, SWAGGER_INIT) == 0) {
        saga_http_reply_static(resp, 200, "application/javascript; charset=utf-8", swagger_init_js,
                               sizeof(swagger_init_js) - 1);
        saga_http_add_header(resp, "X-Content-Type-Options", "nosniff");
        saga_http_add_header(resp, "Cache-Control", "no-cache");
        return;
    }
    for (size_t i = 0; i < SWAGGER_NFILES; i++) {
        if (strcmp(file, swagger_files[i].name) != 0 || !ui->body[i])
            continue;
        saga_http_reply_static(resp, 200, swagger_files[i].ctype, ui->body[i], ui->len[i]);
        saga_http_add_header(resp, "X-Content-Type-Options", "nosniff");
        saga_http_add_header(resp, "Cache-Control", "public, max-age=3600");
        return;
    }
    saga_http_reply_problem(resp, 404, "no Swagger UI file named %s", file);
}

void saga_swagger_ui_free(saga_swagger_ui *ui)
{
    if (!ui)
        return;
    for (size_t i = 0; i < SWAGGER_NFILES; i++)
        free(ui->body[i]);
    free(ui->page);
    free(ui);
}
