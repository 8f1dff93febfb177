/* src/cli/cli.c -- see cli.h. */
#include "cli/cli.h"

#include "analyze/display_path.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* One line on stderr: "maproot[ CMD]: MESSAGE[ (see maproot CMD --help)]",
 * after what stdout holds so far; a newline in the message is a space. */
static void say(const char *cmd, bool see_help, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    for (char *p = msg; *p; p++)
        if (*p == '\n') *p = ' ';
    fflush(stdout);
    if (!cmd)
        fprintf(stderr, "maproot: %s\n", msg);
    else if (see_help)
        fprintf(stderr, "maproot %s: %s (see maproot %s --help)\n", cmd, msg, cmd);
    else
        fprintf(stderr, "maproot %s: %s\n", cmd, msg);
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(NULL, false, fmt, ap);
    va_end(ap);
    return CLI_EXIT_BAD;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(cmd, true, fmt, ap);
    va_end(ap);
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

int cli_parse_fail_on(const char *cmd, const char *arg, unsigned *out)
{
    const char *p = arg;
    do {
        size_t n = strcspn(p, ",");
        if (n == 7 && strncmp(p, "suspect", n) == 0)
            *out |= CLI_FAIL_SUSPECT;
        else if (n == 6 && strncmp(p, "growth", n) == 0)
            *out |= CLI_FAIL_GROWTH;
        else
            return cli_usage(
                cmd, "unknown --fail-on \"%s\" (suspect, growth, or both: suspect,growth)", arg);
        p += n;
    } while (*p++ == ',');
    return 0;
}

int cli_found(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(cmd, false, fmt, ap);
    va_end(ap);
    return CLI_EXIT_FOUND;
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

int cli_parse_size(const char *cmd, const char *opt, const char *arg, bool zero_ok, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    double unit = 1;
    const char *units = "KMGT";
    const char *u = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
    if (u) {
        for (const char *k = units; k <= u; k++) unit *= 1024.0;
        end++;
        if (*end == 'i') end++;
    }
    if (*end == 'B') end++;
    if (end == arg || *end || errno || !(v > 0 || (zero_ok && v == 0)) || v * unit >= 1.8e19 ||
        !(isdigit((unsigned char)arg[0]) || arg[0] == '.'))
        return cli_usage(cmd, "%s wants a size such as 512K, 64M or 8G, not \"%s\"", opt, arg);
    *out = (uint64_t)(v * unit);
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

void cli_report_done(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) return; /* cli_finish says it */
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    /* never a bare close: the next file opened would take descriptor 1 */
    if (fd != STDOUT_FILENO) {
        dup2(fd, STDOUT_FILENO);
        close(fd);
    }
}

FILE *cli_output_open(cli_output *co, const char *path)
{
    mf_error err;
    co->f = NULL;
    if (!(co->out = mf_out_open(path ? path : "-", &err))) {
        cli_fail("%s", err.msg);
        return NULL;
    }
    /* standard output gets a whole report or nothing of it */
    mf_out_hold(co->out, CLI_HOLD_MEMORY);
    if (!(co->f = mf_out_stream(co->out))) {
        mf_out_abort(co->out);
        co->out = NULL;
        cli_fail("%s: out of memory", path ? path : "standard output");
    }
    return co->f;
}

bool cli_output_failed(const cli_output *co)
{
    return co->out && mf_out_error(co->out, NULL) != 0;
}

int cli_output_close(cli_output *co, int status)
{
    if (!co->out) return status;
    mf_out *o = co->out;
    co->out = NULL;
    co->f = NULL;
    if (status != CLI_EXIT_OK && mf_out_error(o, NULL) == 0) {
        mf_out_abort(o); /* a failed report leaves no file */
        return status;
    }
    /* a reader that went away is a write error (EPIPE), reported as one */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigemptyset(&ign.sa_mask);
    bool restore = sigaction(SIGPIPE, &ign, &old) == 0;
    mf_error err;
    int rc = mf_out_commit(o, &err);
    if (restore) sigaction(SIGPIPE, &old, NULL);
    if (rc) return cli_fail("%s", err.msg);
    return status;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

void cli_remove_made_dirs(const char *dir, size_t made)
{
    char path[4096];
    size_t n = strlen(dir);
    if (!made || made > n || n >= sizeof path) return;
    memcpy(path, dir, n + 1);
    while (n > 1 && path[n - 1] == '/') path[--n] = '\0'; /* "a/b/" is a/b */
    /* the ones made are the prefixes of dir of length `made` and longer */
    while (n >= made && rmdir(path) == 0) {
        /* up to the parent: drop the last name and the slashes before it */
        while (n > 0 && path[n - 1] != '/') n--;
        while (n > 0 && path[n - 1] == '/') n--;
        path[n] = '\0';
    }
}

/* An output directory given on the command line (trace -o DIR, gate -d DIR)
 * is "made if missing", parents included, as a user who names a/b/c means. */
int cli_make_dirs(const char *dir, size_t *made)
{
    assert(dir);
    char path[4096];
    size_t n = strlen(dir);
    if (made) *made = 0;
    if (n == 0 || n >= sizeof path) return n ? ENAMETOOLONG : ENOENT;
    memcpy(path, dir, n + 1);
    /* each '/' past the first byte ends a parent: make it, then go on */
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0') continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0777) == 0) {
            if (made && !*made) *made = i;
        } else if (errno != EEXIST) {
            return errno;
        }
        path[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) != 0) return errno;
    return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}
