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
