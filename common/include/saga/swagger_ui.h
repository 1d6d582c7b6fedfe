/* swagger_ui.h - the Swagger UI page every service serves at /swagger-ui.html.
 *
 * The page is the service's own: a small HTML document and start-up script that
 * point Swagger UI at the service's /openapi.json, so "Try it out" calls the same
 * service (the descriptions' server is "/", their security scheme the bearer JWT).
 * The Swagger UI code itself (swagger-ui-bundle.js, swagger-ui.css, the favicons)
 * comes from the npm package swagger-ui-dist, pinned in package.json, and is read
 * once at start from a directory found like the OpenAPI description:
 *   SAGA_SWAGGER_UI_DIR when set, else node_modules/swagger-ui-dist in the working
 *   directory, else <SAGA_SCHEMAS_DIR>/../node_modules/swagger-ui-dist.
 * Files not found stop nothing: they are logged once at start (a warning naming
 * the directories looked in), and the page answers a 404 problem saying so.
 *
 * Paths (all GET, no token needed): /swagger-ui.html (the page), /swagger-ui/<file>
 * (its files), and /docs, /docs/, /swagger-ui, /swagger-ui/ (302 to the page). */
#ifndef SAGA_SWAGGER_UI_H
#define SAGA_SWAGGER_UI_H

#include <stdbool.h>
#include <stddef.h>

#include "saga/http.h"

typedef struct saga_swagger_ui saga_swagger_ui;

/* The route patterns saga_swagger_ui_serve answers (static strings). */
extern const char *const saga_swagger_ui_paths[];
extern const size_t saga_swagger_ui_npaths;

/* Finds and reads the files for `service` ("order": the page's title says
 * order-service); schemas_dir is SAGA_SCHEMAS_DIR. Returns NULL only when out of
 * memory; free with saga_swagger_ui_free. */
saga_swagger_ui *saga_swagger_ui_load(const char *service, const char *schemas_dir);

/* True when the files were found and the page can be served. */
bool saga_swagger_ui_available(const saga_swagger_ui *ui);

/* Answers a GET of one of saga_swagger_ui_paths. The bodies are borrowed from ui,
 * which must outlive the HTTP server. */
void saga_swagger_ui_serve(const saga_swagger_ui *ui, saga_http_req *req, saga_http_resp *resp);

/* NULL is fine. */
void saga_swagger_ui_free(saga_swagger_ui *ui);

#endif
