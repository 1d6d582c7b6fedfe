/* db_row.h - what a saga_row is, for the files of the common library that hand
 * rows to a saga_row_fn (db.c from a result set, prefetch.c from kept rows). */
#ifndef SAGA_DB_ROW_H
#define SAGA_DB_ROW_H

#include <stddef.h>
#include <mysql.h>

struct saga_row {
    size_t ncols;
    MYSQL_BIND *binds;       /* binds[i].buffer: column i as text, NUL-terminated */
    unsigned long *lengths;
    my_bool *nulls;
};

#endif
