/* text.h - making untrusted text safe to store and log. */
#ifndef SAGA_TEXT_H
#define SAGA_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1..4) of the valid UTF-8 sequence at p, reading at most n bytes; 0 if the
 * bytes there are not one (overlong forms, surrogates, code points past U+10FFFF, a
 * sequence cut at n) or n is 0. Any ASCII byte, NUL included, is a sequence of 1. */
size_t saga_utf8_sequence(const void *p, size_t n);

/* Replaces, in place, every byte that is not part of a valid UTF-8 sequence, and
 * every ASCII control character, with '?'. Text from a message (an event type, a
 * customer id cut at a byte limit) can then go into a utf8mb4 column or a JSON
 * log line without failing or corrupting it. NULL is fine. */
void saga_text_clean(char *s);

/* The canonical forms of identifiers (docs/DOMAIN.md, "Identifiers"). Each id has
 * exactly one spelling: no case folding, no trimming, no normalisation is done
 * anywhere, and the databases compare these columns byte for byte, so a string
 * that is not in its canonical form is refused where it enters (token subject,
 * path, query, body, event), never adjusted. NULL is never valid. */

/* A customer id (also a token's subject): 1 to 64 characters of [A-Za-z0-9._-],
 * the first a letter or digit ("bob", "auth0.5f7c-e1"). Case-sensitive. */
#define SAGA_CUSTOMER_ID_MAX_CHARS 64
#define SAGA_CUSTOMER_ID_RULE \
    "1 to 64 of the characters A-Z a-z 0-9 . _ -, the first a letter or digit"
bool saga_text_is_customer_id(const char *s);

/* An order, payment, notification or event id as the services make them: a UUID
 * in its canonical text form, 8-4-4-4-12 lowercase hex digits. */
#define SAGA_TEXT_UUID_LEN 36
bool saga_text_is_uuid(const char *s);
/* The nil UUID (RFC 9562): below every id the services make, where a walk through
 * the ids in order starts. */
#define SAGA_TEXT_UUID_NIL "00000000-0000-0000-0000-000000000000"

/* The 16 bytes of a UUID in canonical text form (saga_text_is_uuid), in the order
 * the text gives them, as the databases store ids (BINARY(16)): false, and out
 * untouched, for any other text. */
bool saga_text_uuid_to_bytes(const char *s, unsigned char out[16]);
/* The canonical text form of 16 bytes, and a terminating NUL. */
void saga_text_uuid_from_bytes(const unsigned char b[16], char out[SAGA_TEXT_UUID_LEN + 1]);

#endif
