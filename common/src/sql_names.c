/* sql_names.c - which table a statement's text names (see sql_names.h). */
#include "sql_names.h"

#include <ctype.h>
#include <string.h>

static bool word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

bool sql_names_table(const char *sql, const char *table)
{
    size_t len = strlen(table);
    if (len == 0)
        return false;
    for (const char *at = strstr(sql, table); at; at = strstr(at + 1, table)) {
        if ((at == sql || !word_char(at[-1])) && !word_char(at[len]))
            return true;
    }
    return false;
}

bool sql_names_table_after(const char *sql, const char *word, char *out, size_t outlen)
{
    const char *at = strstr(sql, word);
    size_t len = 0;

    if (!at || outlen == 0)
        return false;
    for (at += strlen(word); word_char(at[len]); len++)
        if (len + 1 == outlen)
            return false;
    memcpy(out, at, len);
    out[len] = '\0';
    return len > 0;
}
