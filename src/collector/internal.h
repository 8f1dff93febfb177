/*
 * src/collector/internal.h -- what the parts of libmaproot share.
 *
 * The runtime has one set of hooks; collector.c owns it and dispatches the
 * collection events to the heap profiler and to one more listener (the root
 * snapshot writer).
 */
#ifndef MRC_INTERNAL_H
#define MRC_INTERNAL_H

#include "maproot/collector.h"
#include "maproot/rt.h"

/* A listener of collection events: called from the runtime's on_gc (world
 * stopped, on the collecting thread) after the profiler's own work. */
typedef void (*mrc_gc_listener)(void *ud, mr_gc_event ev, uint32_t cycle);

/*
 * Sets (fn != NULL) or removes the listener. While one is set the runtime
 * hooks stay installed, with profiling on or off. Stops the world briefly.
 */
void mrc__set_gc_listener(mrc_gc_listener fn, void *ud);

/* The file of a periodic profile or snapshot (malloc'd, NULL if out of
 * memory): the cycle goes before the extension, so that a profile and its
 * snapshot pair up: "heap.pb.gz", 5 -> "heap.0005.pb.gz", "heap.gcstack.gz"
 * -> "heap.0005.gcstack.gz" (extensions .pb.gz, .gcstack.gz, .pb, .gcstack,
 * .gz; none: at the end). */
char *mrc__periodic_path(const char *path, uint32_t cycle);

/* A symbolizer for this process (NULL when out of memory or /proc is not
 * readable) that also names the runtime's map operations where no symbol
 * table does: profiles keep their frames to show where maps grow. */
struct mrc_symbolizer *mrc__symbolizer_new(void);

/* Starts a detached thread of the collector running fn, with every signal
 * blocked (signals are for the program's own threads), and returns once
 * it runs fn: no thread of the collector is in its start-up, which
 * allocates, when its creator goes on (collector.c). 0, or an errno. */
int mrc__start_thread(void *(*fn)(void *));

/* Sleeps ms milliseconds, none when ms <= 0 (the test hooks' pauses). */
void mrc__hold_ms(long ms);

/* Sets the calling thread's mrc_last_error() message (printf format). */
void mrc__set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- for the attach agent (agent.c), from collector.c ---- */
struct mrc_prof_snapshot;
struct mf_out;
struct mf_error;
/* Symbolizes and writes a heap profile of snap (counts of cycle, at rate)
 * into o (taken over: committed or abandoned), as the profile files are
 * written. Any thread; serialized with the other profile writers. */
int mrc__write_profile_into(const struct mrc_prof_snapshot *snap, struct mf_out *o, uint64_t rate,
                            uint32_t cycle, struct mf_error *err);
/* The function, file and line of the program's code at return address pc
 * (its call instruction), with the collector's symbolizer: the innermost
 * (inlined) frame that is not one of the runtime's inline helpers (mr_*);
 * "" and 0 where unknown. Any thread; serialized with the profile
 * writers; the first call may take long (it reads DWARF). */
void mrc__describe_pc(uintptr_t pc, char *fn, size_t fn_cap, char *file, size_t file_cap,
                      int64_t *line);
/* Makes the collector's symbolizer now (reading the modules of the
 * process), so that the first profile or site later does not wait. */
void mrc__symbolizer_warm(void);
/* The sampling rate of the samples taken (the last rate that was not 0). */
uint64_t mrc__profile_sample_rate(void);
/* Sets the profiling rate from the next collection on (applied in its
 * MR_GC_START event, world stopped: no stop of its own). */
void mrc__profile_rate_next_cycle(uint64_t rate);
/* The rate in force from the next collection on (a pending one, else the
 * current one). */
uint64_t mrc__profile_rate_effective(void);
/* Sets `before` back from the next collection on if the rate is still
 * `mine` (an attached client leaving). */
void mrc__profile_rate_restore(uint64_t mine, uint64_t before);

/* ---- root snapshots ---- */
/* The profiler's sample tables (NULL if the collector could not start);
 * snapshot.c reads the sampled objects' stacks from them. */
struct mrc_prof *mrc__prof(void);

#endif
