/* console_web.c - the console's one static page, read once at start (see console.h):
 * SAGA_CONSOLE_WEB_DIR, else tools/console/web from the working directory, else
 * beside the schemas directory (SAGA_SCHEMAS_DIR/../tools/console/web), the way the
 * services find their openapi.json. */
#include "console.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saga/err.h"
#include "saga/file.h"

#define WEB_FILE_MAX (1u << 20)

static int load_from(const char *dir, console *c, char *err, size_t errlen)
{
    struct {
        const char *name;
        console_file *f;
    } files[] = {{"index.html", &c->index_html},
                 {"console.js", &c->console_js},
                 {"console.css", &c->console_css}};
    char path[1200];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
        int rc = saga_file_read(path, WEB_FILE_MAX, &files[i].f->body, &files[i].f->len);
        if (rc) {
            snprintf(err, errlen, "cannot read %s: %s", path, saga_rc_str(rc));
            console_web_free(c);
            return rc;
        }
    }
    return SAGA_OK;
}

int console_web_load(console *c, char *err, size_t errlen)
{
    char schemas[512], dir[700];

    if (c->cfg.web_dir[0])
        return load_from(c->cfg.web_dir, c, err, errlen);
    if (load_from("tools/console/web", c, err, errlen) == SAGA_OK)
        return SAGA_OK;
    if (saga_config_str("SAGA_SCHEMAS_DIR", "schemas", schemas, sizeof(schemas), err, errlen))
        return SAGA_ERR_INVALID;
    snprintf(dir, sizeof(dir), "%s/../tools/console/web", schemas);
    if (load_from(dir, c, err, errlen) == SAGA_OK)
        return SAGA_OK;
    snprintf(err, errlen,
             "no tools/console/web here or beside %s (set SAGA_CONSOLE_WEB_DIR to the directory "
             "holding index.html, console.js and console.css)",
             schemas);
    return SAGA_ERR_NOT_FOUND;
}

void console_web_free(console *c)
{
    console_file *fs[] = {&c->index_html, &c->console_js, &c->console_css};
    for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
        free(fs[i]->body);
        fs[i]->body = NULL;
        fs[i]->len = 0;
    }
}
