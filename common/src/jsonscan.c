/* jsonscan.c - a NUL inside a JSON string, found on the raw text (see jsonscan.h).
 *
 * A single pass that tracks only what a path needs: a stack of open containers,
 * with the current member name of an object and the current index of an array.
 * Strings are skipped escape by escape, so "\\u0000" (an escaped backslash, then
 * the text u0000) is not a NUL and "\u0000" is. Containers nested deeper than
 * the stack are still scanned; the path then names the deepest container kept. */
#include "saga/jsonscan.h"

#include <stdio.h>
#include <string.h>

#define JSONSCAN_DEPTH 32

typedef struct jsonscan_frame {
    bool object;
    bool want_name; /* object: the next string is a member name */
    long index;     /* array: the current element */
    const char *name; /* object: the current member name, as written */
    size_t namelen;
} jsonscan_frame;

/* Writes the path of the frames (and, if given, a member name being read). */
static void jsonscan_path(const jsonscan_frame *f, size_t depth, const char *name,
                          size_t namelen, char *path, size_t pathlen)
{
    size_t used = 0;
    if (!path || pathlen == 0)
        return;
    path[0] = '\0';
    for (size_t i = 0; i <= depth && used + 1 < pathlen; i++) {
        const char *n = NULL;
        size_t nlen = 0;
        int w = 0;
        if (i < depth && f[i].object && f[i].name) {
            n = f[i].name;
            nlen = f[i].namelen;
        } else if (i < depth && !f[i].object) {
            w = snprintf(path + used, pathlen - used, "[%ld]", f[i].index);
        } else if (i == depth && name) {
            n = name;
            nlen = namelen;
        }
        if (n) {
            if (used && used + 1 < pathlen)
                path[used++] = '.';
            size_t room = pathlen - used - 1;
            size_t take = nlen < room ? nlen : room;
            memcpy(path + used, n, take);
            used += take;
            path[used] = '\0';
        } else if (w > 0) {
            used += (size_t)w < pathlen - used ? (size_t)w : pathlen - used - 1;
        }
    }
}

bool saga_json_find_nul(const char *text, size_t len, char *path, size_t pathlen)
{
    jsonscan_frame f[JSONSCAN_DEPTH];
    size_t depth = 0; /* frames kept */
    size_t deeper = 0; /* containers open beyond the stack */

    if (path && pathlen)
        path[0] = '\0';
    if (!text)
        return false;
    /* the common case, on every body and event: neither a raw NUL nor the escape
     * anywhere, so no string can hold one (two memory scans, no parse) */
    if (!memchr(text, '\0', len) && !memmem(text, len, "\\u0000", 6))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '\0') {
            jsonscan_path(f, depth, NULL, 0, path, pathlen);
            return true;
        }
        if (c == '"') {
            size_t start = ++i;
            bool nul = false;
            while (i < len && text[i] != '"') {
                if (text[i] == '\0') {
                    nul = true;
                } else if (text[i] == '\\') {
                    if (i + 5 < len && text[i + 1] == 'u' && memcmp(text + i + 2, "0000", 4) == 0)
                        nul = true;
                    i++; /* the escaped character is never the closing quote */
                }
                i++;
            }
            size_t slen = (i < len ? i : len) - start;
            bool is_name = deeper == 0 && depth > 0 && f[depth - 1].object &&
                           f[depth - 1].want_name;
            if (is_name) {
                f[depth - 1].want_name = false;
                f[depth - 1].name = text + start;
                f[depth - 1].namelen = slen;
                if (nul) {
                    /* name the member by what precedes the NUL */
                    const char *cut = memchr(text + start, '\\', slen);
                    size_t keep = cut ? (size_t)(cut - (text + start)) : slen;
                    f[depth - 1].name = NULL;
                    jsonscan_path(f, depth - 1, text + start, keep, path, pathlen);
                    return true;
                }
            } else if (nul) {
                jsonscan_path(f, depth, NULL, 0, path, pathlen);
                return true;
            }
            continue; /* i is on the closing quote (or past the end) */
        }
        if (c == '{' || c == '[') {
            if (depth < JSONSCAN_DEPTH && deeper == 0) {
                f[depth] = (jsonscan_frame){.object = c == '{', .want_name = c == '{'};
                depth++;
            } else {
                deeper++;
            }
        } else if (c == '}' || c == ']') {
            if (deeper)
                deeper--;
            else if (depth)
                depth--;
        } else if (c == ',' && deeper == 0 && depth > 0) {
            if (f[depth - 1].object) {
                f[depth - 1].want_name = true;
                f[depth - 1].name = NULL;
            } else {
                f[depth - 1].index++;
            }
        }
    }
    return false;
}
