/* text.h - making untrusted text safe to store and log. */
#ifndef SAGA_TEXT_H
#define SAGA_TEXT_H

#include <stdbool.h>

/* Replaces, in place, every byte that is not part of a valid UTF-8 sequence, and
 * every ASCII control character, with '?'. Text from a message (an event type, a
 * customer id cut at a byte limit) can then go into a utf8mb4 column or a JSON
 * log line without failing or corrupting it. NULL is fine. */
void saga_text_clean(char *s);

/* True if s is a customer id: 1 to 64 characters of valid UTF-8 with no C0 or
 * C1 control characters (the rule of every service's API and of token subjects). */
#define SAGA_CUSTOMER_ID_MAX_CHARS 64
bool saga_text_is_customer_id(const char *s);

#endif
