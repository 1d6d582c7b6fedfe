/* console_prom.c - reading the Prometheus text format the services' /metrics speak
 * (see console.h). No I/O. */
#include "console.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PROM_LINE_MAX 4096
#define PROM_LABELS_MAX 16

static bool name_char(char ch, bool first)
{
    return isalpha((unsigned char)ch) || ch == '_' || ch == ':' ||
           (!first && isdigit((unsigned char)ch));
}

/* Parses one sample line (NUL-terminated, modified in place: names and unescaped
 * values are cut out of it). Returns true and calls fn on success. */
static bool parse_line(char *s, console_prom_fn fn, void *ud)
{
    console_prom_label labels[PROM_LABELS_MAX];
    size_t nlabels = 0;
    char *name = s, *end;
    double value;

    if (!name_char(*s, true))
        return false;
    while (name_char(*s, false))
        s++;
    char after = *s;
    *s = '\0';
    if (after == '{') {
        s++;
        for (;;) {
            while (*s == ' ')
                s++;
            if (*s == '}') {
                s++;
                break;
            }
            if (nlabels == PROM_LABELS_MAX || !name_char(*s, true))
                return false;
            char *lname = s;
            while (name_char(*s, false))
                s++;
            char *lname_end = s;
            while (*s == ' ')
                s++;
            if (*s != '=')
                return false;
            *lname_end = '\0';
            s++;
            while (*s == ' ')
                s++;
            if (*s != '"')
                return false;
            s++;
            char *val = s, *w = s;
            for (;;) { /* unescape \\ \" \n in place */
                if (*s == '\0')
                    return false;
                if (*s == '"')
                    break;
                if (*s == '\\') {
                    s++;
                    if (*s == 'n')
                        *w++ = '\n';
                    else if (*s == '\\' || *s == '"')
                        *w++ = *s;
                    else
                        return false;
                    s++;
                    continue;
                }
                *w++ = *s++;
            }
            s++; /* the closing quote */
            *w = '\0';
            labels[nlabels].name = lname;
            labels[nlabels].value = val;
            nlabels++;
            while (*s == ' ')
                s++;
            if (*s == ',')
                s++;
            else if (*s != '}')
                return false;
        }
    } else if (after != ' ' && after != '\t') {
        return false;
    } else {
        s++;
    }
    while (*s == ' ' || *s == '\t')
        s++;
    if (!strncmp(s, "+Inf", 4)) {
        value = INFINITY;
        end = s + 4;
    } else if (!strncmp(s, "-Inf", 4)) {
        value = -INFINITY;
        end = s + 4;
    } else if (!strncmp(s, "NaN", 3)) {
        value = NAN;
        end = s + 3;
    } else {
        value = strtod(s, &end);
        if (end == s)
            return false;
    }
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end) { /* an optional timestamp, an integer */
        char *ts_end;
        (void)strtoll(end, &ts_end, 10);
        if (ts_end == end)
            return false;
        while (*ts_end == ' ' || *ts_end == '\t')
            ts_end++;
        if (*ts_end)
            return false;
    }
    fn(name, labels, nlabels, value, ud);
    return true;
}

size_t console_prom_parse(const char *text, size_t len, console_prom_fn fn, void *ud)
{
    char line[PROM_LINE_MAX];
    size_t bad = 0, i = 0;

    while (i < len) {
        size_t start = i;
        while (i < len && text[i] != '\n')
            i++;
        size_t n = i - start;
        i++; /* past the newline */
        if (n > 0 && text[start + n - 1] == '\r')
            n--;
        size_t lead = 0;
        while (lead < n && (text[start + lead] == ' ' || text[start + lead] == '\t'))
            lead++;
        if (lead == n || text[start + lead] == '#')
            continue;
        if (n - lead >= sizeof(line) || memchr(text + start + lead, '\0', n - lead)) {
            bad++;
            continue;
        }
        memcpy(line, text + start + lead, n - lead);
        line[n - lead] = '\0';
        if (!parse_line(line, fn, ud))
            bad++;
    }
    return bad;
}

typedef struct sum_state {
    const char *name, *label, *value;
    double sum;
    bool found;
} sum_state;

static void sum_one(const char *name, const console_prom_label *labels, size_t nlabels,
                    double value, void *ud)
{
    sum_state *st = ud;
    if (strcmp(name, st->name) != 0)
        return;
    if (st->label) {
        bool match = false;
        for (size_t i = 0; i < nlabels && !match; i++)
            match = !strcmp(labels[i].name, st->label) && !strcmp(labels[i].value, st->value);
        if (!match)
            return;
    }
    st->sum += value;
    st->found = true;
}

double console_prom_sum(const char *text, size_t len, const char *name, const char *label,
                        const char *value, bool *found)
{
    sum_state st = {.name = name, .label = label, .value = value ? value : ""};
    console_prom_parse(text, len, sum_one, &st);
    if (found)
        *found = st.found;
    return st.sum;
}
