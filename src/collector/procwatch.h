/*
 * src/collector/procwatch.h -- what another process of ours is doing, as
 * the kernel shows it in /proc: how far it got and what it waits for.
 *
 * The agent watches its snapshot writers with it (agent.c): a writer that
 * neither gets further nor waits its turn for long is stuck and killed.
 * "Waiting its turn" is the part a busy machine adds: a writer that is
 * runnable but not given a CPU (state R), or that waits for the disk
 * (state D) or inside a call that reads or writes a file or pipe (a full
 * pipe whose reader is slow, a slow network file system), is slow, not
 * stuck -- it moves on when the machine does. What is left -- asleep on a
 * futex (a lock or condition no thread of the copy will ever release: a
 * child forked while another thread held it), stopped by a signal, asleep
 * in any other call -- moves on only if something else does, and a
 * writer has nothing else to wait for.
 *
 * The call a process sleeps in is read from /proc/PID/syscall (its number)
 * or, where that file cannot be read, /proc/PID/wchan (the kernel function
 * it sleeps in); with neither, a sleeping process counts as asleep.
 */
#ifndef MRC_PROCWATCH_H
#define MRC_PROCWATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum {
    MRC_PROC_GONE,     /* no such process, or /proc says nothing of it */
    MRC_PROC_RUNNABLE, /* running, or runnable and waiting for a CPU (R) */
    MRC_PROC_IO,       /* waiting for the disk (D), or asleep in file or pipe I/O */
    MRC_PROC_LOCK,     /* asleep on a futex: a lock or condition */
    MRC_PROC_STOPPED,  /* stopped by a signal or a tracer (T, t) */
    MRC_PROC_ASLEEP,   /* asleep in any other call, or in one /proc does not name */
} mrc_proc_wait;

typedef struct mrc_proc_sample {
    /* grows while the process works: its CPU clock ticks (user and system)
     * plus the bytes it has written (wchar of /proc/PID/io) */
    uint64_t progress;
    mrc_proc_wait wait;
} mrc_proc_sample;

/* Reads what process pid (a child of ours, or one we may trace) is doing
 * now. Never fails: a process /proc cannot show is MRC_PROC_GONE. */
void mrc__proc_sample(pid_t pid, mrc_proc_sample *s);

/* True for the waits of a process that is slow, not stuck: runnable, or in
 * I/O. */
bool mrc__proc_waits_its_turn(mrc_proc_wait w);

/* The wait's name, for messages: "runnable", "asleep on a lock", ... */
const char *mrc__proc_wait_name(mrc_proc_wait w);

#endif
