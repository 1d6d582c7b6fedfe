/* text.c - making untrusted text safe to store and log (see text.h). */
#include "saga/text.h"

#include <stddef.h>
#include <string.h>

size_t saga_utf8_sequence(const void *p, size_t n)
{
    const unsigned char *s = p;
    if (n == 0)
        return 0;
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
            return 0; /* overlong, or a surrogate */
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
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
    size_t left = strlen(s);
    while (left > 0) {
        size_t n = saga_utf8_sequence(p, left);
        if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
            *p++ = '?';
            left--;
            continue;
        }
        p += n;
        left -= n;
    }
}

bool saga_text_is_customer_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > SAGA_CUSTOMER_ID_MAX_CHARS)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
    }
    return true;
}

bool saga_text_is_uuid(const char *s)
{
    if (!s)
        return false;
    for (size_t i = 0; i < SAGA_TEXT_UUID_LEN; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false; /* also the end of a shorter string */
        }
    }
    return s[SAGA_TEXT_UUID_LEN] == '\0';
}

static int hex_value(char c)
{
    return c <= '9' ? c - '0' : c - 'a' + 10;
}

bool saga_text_uuid_to_bytes(const char *s, unsigned char out[16])
{
    if (!saga_text_is_uuid(s))
        return false;
    for (size_t i = 0, at = 0; i < 16; i++, at += 2) {
        if (s[at] == '-')
            at++;
        out[i] = (unsigned char)(hex_value(s[at]) << 4 | hex_value(s[at + 1]));
    }
    return true;
}

void saga_text_uuid_from_bytes(const unsigned char b[16], char out[SAGA_TEXT_UUID_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    size_t at = 0;

    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[at++] = '-';
        out[at++] = digits[b[i] >> 4];
        out[at++] = digits[b[i] & 0x0f];
    }
    out[at] = '\0';
}
