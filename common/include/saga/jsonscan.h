/* jsonscan.h - what cJSON cannot tell about a JSON text: a NUL inside a string.
 *
 * cJSON decodes "a\u0000b" into a C string that ends after "a", so every reader
 * of its tree would see "a": a sku, a customer id or a token claim silently cut
 * short, and validated as what is left. The services refuse such a document
 * instead (400 naming the field, or a dead letter): it is scanned here, on the
 * raw text, before its strings are believed. */
#ifndef SAGA_JSONSCAN_H
#define SAGA_JSONSCAN_H

#include <stdbool.h>
#include <stddef.h>

/* True if the JSON text (len bytes, NUL-terminated or not) holds U+0000 in a
 * string or a member name: the escape \u0000 (not \\u0000, an escaped backslash
 * followed by text), or a raw 0x00 byte anywhere. On true, path (pathlen bytes,
 * may be 0) gets where: the member path as "items[2].sku" (member names as
 * written, cut to fit), "" for the top-level value. Meant for text that parses
 * as JSON; any bytes are scanned safely. */
bool saga_json_find_nul(const char *text, size_t len, char *path, size_t pathlen);

#endif
