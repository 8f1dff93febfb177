/* src/format/error.c -- see error.h. */
#include "format/error.h"

#include <stdarg.h>
#include <stdio.h>

void mf_error_set(mf_error *err, const char *fmt, ...)
{
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    /* One line, always: a file name or a decoded string may carry newlines. */
    for (char *p = err->msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
}
