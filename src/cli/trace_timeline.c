/* src/cli/trace_timeline.c -- see trace_timeline.h. */
#include "cli/trace_timeline.h"

#include "analyze/json_text.h"
#include "format/names.h"
#include "format/outfile.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Microseconds since attaching (the timeline's origin). */
static double us(const trace_view *v, int64_t t_ns)
{
    return (double)(t_ns - v->attach_ns) / 1e3;
}

static int append(json_t *events, json_t *e)
{
    return e && json_array_append_new(events, e) == 0 ? 0 : -1;
}

static json_t *meta(const char *what, uint64_t pid, int tid, const char *name)
{
    return json_pack("{s:s, s:s, s:I, s:i, s:{s:s}}", "name", what, "ph", "M", "pid",
                     (json_int_t)pid, "tid", tid, "args", "name", name);
}

/* The events of v, in order of time per track. */
static json_t *events_of(const trace_view *v)
{
    json_t *ev = json_array();
    if (!ev) return NULL;
    const char *prog = mf_path_base(v->program);
    char pname[600];
    snprintf(pname, sizeof pname, "%s (pid %" PRIu64 ")", prog, v->pid);
    json_int_t pid = (json_int_t)v->pid;
    int rc = append(ev, meta("process_name", v->pid, 0, pname));
    rc |= append(ev, meta("thread_name", v->pid, 1, "GC"));
    for (size_t i = 0; i < v->ngcs && !rc; i++) {
        const tv_gc *g = &v->gcs[i];
        char name[32];
        snprintf(name, sizeof name, "GC %" PRIu32, g->cycle);
        rc |= append(ev, json_pack("{s:s, s:s, s:s, s:I, s:i, s:f, s:f, s:{s:i, s:I, s:I}}", "name",
                                   name, "cat", "gc", "ph", "X", "pid", pid, "tid", 1, "ts",
                                   us(v, g->end_ns - (int64_t)g->pause_ns), "dur",
                                   (double)g->pause_ns / 1e3, "args", "cycle", (int)g->cycle,
                                   "live_bytes", (json_int_t)g->live_bytes, "garbage_bytes",
                                   (json_int_t)g->garbage_bytes));
        rc |=
            append(ev, json_pack("{s:s, s:s, s:I, s:i, s:f, s:{s:I, s:I}}", "name", "heap", "ph",
                                 "C", "pid", pid, "tid", 0, "ts", us(v, g->end_ns), "args", "live",
                                 (json_int_t)g->live_bytes, "goal", (json_int_t)g->next_gc));
    }
    for (size_t i = 0; i < v->nmaps && !rc; i++) {
        const tv_map *m = &v->maps[i];
        if (m->count <= m->first_count && !m->gone) continue; /* only maps that grew */
        bool grew = false;
        for (size_t k = 0; k < m->nsamples && !grew; k++)
            grew = m->samples[k].count > m->first_count;
        if (!grew) continue;
        const tv_root *rt = tv_root_of(v, m);
        char name[1024];
        snprintf(name, sizeof name, "entries: %s %s (map %" PRIu64 ")", m->type, rt ? rt->root : "",
                 m->id);
        json_t *jn = mp_json_text(name);
        for (size_t k = 0; k < m->nsamples && !rc; k++) {
            json_t *e = json_pack("{s:O, s:s, s:I, s:i, s:f, s:{s:I}}", "name", jn, "ph", "C",
                                  "pid", pid, "tid", 0, "ts", us(v, m->samples[k].t_ns), "args",
                                  "entries", (json_int_t)m->samples[k].count);
            rc |= append(ev, e);
        }
        json_decref(jn);
    }
    if (rc) {
        json_decref(ev);
        return NULL;
    }
    return ev;
}

int tv_write_timeline(const trace_view *v, const char *path, mf_error *err)
{
    json_t *ev = events_of(v);
    json_t *doc =
        ev ? json_pack("{s:o, s:s, s:{s:s, s:I, s:b}}", "traceEvents", ev, "displayTimeUnit", "ms",
                       "otherData", "producer", "maproot trace", "attach_time_ns",
                       (json_int_t)v->attach_ns, "truncated", (int)v->gcs_truncated)
           : NULL;
    if (!doc) {
        mf_error_set(err, "%s: out of memory building the timeline", path);
        return -1;
    }
    mf_out *o = mf_out_open(path, err);
    if (!o) {
        json_decref(doc);
        return -1;
    }
    FILE *f = mf_out_stream(o);
    if (!f || json_dumpf(doc, f, JSON_COMPACT) != 0 || fputc('\n', f) == EOF) {
        mf_error e2;
        if (mf_out_error(o, &e2))
            *err = e2;
        else
            mf_error_set(err, "%s: cannot write the timeline", path);
        mf_out_abort(o);
        json_decref(doc);
        return -1;
    }
    json_decref(doc);
    return mf_out_commit(o, err);
}
