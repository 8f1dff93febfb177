/* src/cli/cli.c -- see cli.h. */
#include "cli/cli.h"

#include "analyze/display_path.h"

#include "analyze/profile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_fail(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if (*p == '\n') *p = ' ';
    fflush(stdout);
    fprintf(stderr, "maproot: %s\n", msg);
    return CLI_EXIT_BAD;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "maproot %s: %s (see maproot %s --help)\n", cmd, msg, cmd);
    return CLI_EXIT_BAD;
}

int cli_parse_format(const char *cmd, const char *arg, cli_format *out)
{
    if (strcmp(arg, "text") == 0)
        *out = CLI_FORMAT_TEXT;
    else if (strcmp(arg, "json") == 0)
        *out = CLI_FORMAT_JSON;
    else
        return cli_usage(cmd, "unknown --format \"%s\" (text or json)", arg);
    return 0;
}

int cli_parse_count(const char *cmd, const char *opt, const char *arg, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (!*arg || *end || errno || arg[0] == '-')
        return cli_usage(cmd, "%s wants a non-negative number, not \"%s\"", opt, arg);
    *out = (size_t)v;
    return 0;
}

int cli_load_heap_profile(const char *path, mf_profile **out)
{
    mf_error err;
    if (mf_profile_read(path, out, &err)) return cli_fail("%s", err.msg);
    if (mp_check_heap(*out, path, &err)) {
        mf_profile_free(*out);
        *out = NULL;
        return cli_fail("%s", err.msg);
    }
    return 0;
}

int cli_finish(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int e = errno;
        fprintf(stderr, "maproot: error writing the output: %s\n", strerror(e));
        return CLI_EXIT_BAD;
    }
    return status;
}

FILE *cli_open_output(const char *path)
{
    if (!path || strcmp(path, "-") == 0) return stdout;
    FILE *f = fopen(path, "w");
    if (!f) cli_fail("%s: cannot create the output file: %s", path, strerror(errno));
    return f;
}

int cli_close_output(FILE *f, const char *path, int status)
{
    if (f == stdout) return cli_finish(status);
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) return cli_fail("%s: error writing the output", path);
    return status;
}

FILE *cli_progress_stream(void)
{
    return isatty(STDERR_FILENO) ? stderr : NULL;
}

int cli_set_trim_path(const char *cmd, const char *arg)
{
    if (mp_display_path_trim(arg) != 0) return cli_fail("%s: out of memory", cmd);
    return CLI_EXIT_OK;
}
