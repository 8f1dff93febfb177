/*
 * src/collector/agent.h -- the attach agent: what collector.c needs from
 * agent.c.
 *
 * The agent lets `maproot trace` and `maproot ps` attach to a program that
 * runs, without restarting it and without ptrace or code injection, the way
 * the JVM's attach listener and .NET's diagnostic IPC do: the program
 * itself (its collector) opens a diagnostic endpoint, a Unix socket
 * DIR/maproot-PID.sock in a private directory of its user (see
 * format/attach_endpoint.h), and one thread serves it. That thread sleeps
 * in poll() on the socket while nobody is attached; the GC events cost one
 * atomic load then. It speaks the protocol of proto/attach.proto
 * (format/attach.h).
 *
 * What it does for a client (only the program's own user, or root: each
 * connection's peer credentials are checked, anything else is closed with
 * one line on stderr):
 *   - hello: who the program is and its runtime's figures, read without
 *     stopping the world (mr_read_gc_cycle);
 *   - the profiling rate, changed at the next collection (world stopped
 *     then anyway);
 *   - a snapshot and profile of the next collection (or of one it runs on
 *     request: force_gc, the only time the agent stops the world itself),
 *     written into files the client passes: the snapshot by a child forked
 *     at the end of marking (one that makes no progress for
 *     MAPROOT_WRITER_STALL is killed, and the request fails saying so;
 *     in an AddressSanitizer build the fork waits for the agent's thread,
 *     see forkguard.h), the profile by the agent's worker thread;
 *   - an event after every collection (pause, heap figures) and at most
 *     once per interval a census of the maps (census.h): on the collecting
 *     thread at MR_GC_MARK_DONE and MR_GC_END, in time proportional to the
 *     number of maps.
 * It never blocks the program on a client: events go through a bounded
 * queue per client (dropped and counted when full), frames are written
 * without blocking, a client that takes nothing for a minute is dropped,
 * and at most MRC_AGENT_MAX_CLIENTS are served at once (others are told so
 * and closed). A frame from a client is at most 4 KiB.
 *
 * Environment (read by mrc__agent_init):
 *   MAPROOT_ATTACH=0          no agent, no endpoint
 *   MAPROOT_WRITER_STALL=SECS a snapshot writer (child) that makes no
 *                             progress -- no CPU time, no byte written --
 *                             for SECS (default 10) while not waiting its
 *                             turn (runnable, or in I/O: procwatch.h) is
 *                             stuck: it is killed and its client told the
 *                             snapshot failed
 *   MAPROOT_ATTACH_WAIT=SECS  at start, wait up to SECS for a client to
 *                             subscribe (maproot trace -- PROG), so that
 *                             it sees the first collection; the variable
 *                             is removed, so children do not wait too
 * The endpoint is removed when the program exits (exit(), or a return from
 * main); after a crash it stays, and maproot removes it as stale.
 */
#ifndef MRC_AGENT_H
#define MRC_AGENT_H

#include "collector/internal.h"

#include <stdbool.h>

#define MRC_AGENT_MAX_CLIENTS 4

/* Called once from the collector's initialization (inside its once): reads
 * the environment, makes the endpoint and starts the agent's thread (one
 * line on stderr if it cannot). Returns true when the agent runs: the
 * collector then keeps the runtime's hooks installed for its GC events. */
bool mrc__agent_init(void);

/* MAPROOT_WRITER_STALL (seconds; default 10): a snapshot writer that makes
 * no progress this long while it does not wait its turn (procwatch.h) is
 * stuck. Read once; the agent's writers and mrc_write_snapshot's use it. */
uint32_t mrc__writer_stall_s(void);

/* MAPROOT_ATTACH_WAIT: waits for a client's subscription, bounded. Called
 * from the constructor after the collector's initialization. */
void mrc__agent_wait_for_client(void);

/* Every GC event, from the collector's on_gc (world stopped, on the
 * collecting thread). Returns at once when no client needs it. */
void mrc__agent_on_gc(mr_gc_event ev, uint32_t cycle);

#endif
