/* text.c - making untrusted text safe to store and log (see text.h). */
#include "saga/text.h"

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one.
 * Overlong forms, surrogates and code points past U+10FFFF are invalid. */
static size_t utf8_sequence(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
            return 0; /* overlong, or a surrogate */
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
            return 0; /* overlong, or past U+10FFFF */
        return 4;
    }
    return 0;
}

void saga_text_clean(char *s)
{
    unsigned char *p = (unsigned char *)s;
    if (!p)
        return;
    while (*p) {
        size_t n = utf8_sequence(p);
        if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
            *p++ = '?';
            continue;
        }
        p += n; /* a NUL inside a sequence fails the continuation checks above */
    }
}

bool saga_text_is_customer_id(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t chars = 0;
    if (!p || !*p)
        return false;
    while (*p) {
        size_t n = utf8_sequence(p);
        if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)))
            return false;
        if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
            return false; /* C1 controls */
        p += n;
        if (++chars > SAGA_CUSTOMER_ID_MAX_CHARS)
            return false;
    }
    return true;
}
