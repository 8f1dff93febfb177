/* src/cli/input.c -- see input.h. */
#include "cli/input.h"

#include "analyze/load_gcstack.h"
#include "analyze/load_godump.h"
#include "analyze/profile.h"
#include "cli/cli.h"
#include "format/gcstack_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

mf_limits cli_limits;
const char *cli_binary;

static int load_godump(mf_in *in, const mf_limits *lim, FILE *progress, mp_graph **out,
                       mf_error *err)
{
    return mp_load_godump_in(in, lim, cli_binary, progress, out, err);
}

/* The kinds of input, most specific first: the first whose sniff accepts
 * an input's first bytes takes it. */
static const cli_kind kinds[] = {
    {"root snapshot", false, mf_gs_sniff_bytes, mp_load_gcstack_in},
    {"Go heap dump", true, mf_gd_sniff_bytes, load_godump},
    {"pprof profile", false, mf_profile_sniff_bytes, NULL},
};

/* Bytes looked at to tell the kind: enough for every sniff above. */
#define SNIFF_BYTES 4096

int cli_input_open(const char *path, cli_input *ci)
{
    memset(ci, 0, sizeof *ci);
    ci->path = path;
    mf_error err;
    if (!(ci->in = mf_in_open(path, &err))) return cli_fail("%s", err.msg);
    const uint8_t *p;
    size_t n;
    if (mf_in_peek(ci->in, SNIFF_BYTES, &p, &n, &err)) {
        cli_input_close(ci);
        return cli_fail("%s", err.msg);
    }
    if (n == 0) {
        cli_input_close(ci);
        return cli_fail("%s: empty file", path);
    }
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (kinds[i].sniff(p, n)) {
            ci->kind = &kinds[i];
            return 0;
        }
    char hex[3 * 8 + 1] = "";
    for (size_t i = 0; i < n && i < 8; i++) snprintf(hex + 3 * i, 4, " %02x", p[i]);
    cli_input_close(ci);
    return cli_fail("%s: not a maproot snapshot, Go heap dump or pprof profile (its content "
                    "starts with%s%s)",
                    path, hex, n > 8 ? " ..." : "");
}

void cli_input_close(cli_input *ci)
{
    mf_in_close(ci->in);
    ci->in = NULL;
}

int cli_input_try_graph(cli_input *ci, mp_graph **out, mf_error *err)
{
    int rc = ci->kind->load_graph(ci->in, &cli_limits, cli_progress_stream(), out, err);
    cli_input_close(ci);
    return rc;
}

int cli_input_load_graph(cli_input *ci, mp_graph **out)
{
    mf_error err;
    return cli_input_try_graph(ci, out, &err) ? cli_fail("%s", err.msg) : 0;
}

int cli_input_load_profile(cli_input *ci, mf_profile **out)
{
    mf_error err;
    int rc = mf_profile_read_in(ci->in, &cli_limits, out, &err);
    cli_input_close(ci);
    if (rc) return cli_fail("%s", err.msg);
    if (mp_check_heap(*out, ci->path, &err)) {
        mf_profile_free(*out);
        *out = NULL;
        return cli_fail("%s", err.msg);
    }
    return 0;
}

int cli_parse_memory(const char *cmd, const char *arg)
{
    return cli_parse_size(cmd, "--max-memory", arg, false, &cli_limits.max_memory);
}
