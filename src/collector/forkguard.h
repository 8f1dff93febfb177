/*
 * src/collector/forkguard.h -- the collector's own threads, kept quiet
 * while the collecting thread forks a snapshot writer.
 *
 * A collection stops the runtime's mutators only; the collector's own
 * threads (mrc__start_thread: the agent's thread, its worker, the heap
 * profile writer of MAPROOT_PROFILE_EVERY) run on while the world is
 * stopped, and the forked writer allocates. glibc's malloc takes its locks
 * at fork; AddressSanitizer's allocator before LLVM 18 does not: a child
 * forked while one of those threads is inside it (a fresh thread's first
 * allocations refill its caches from the shared size-class regions, under
 * their locks) waits for ever at its own first allocation of that size.
 * From LLVM 18 on the allocator is locked at fork, but not the quarantine
 * of freed blocks: a child forked while another thread moves blocks into
 * it can still wait for ever, at a free (rarely). ThreadSanitizer's
 * allocator (clang 14) leaves such children stuck too.
 *
 * So in such a build a thread that uses the guard is "busy" whenever it is
 * not waiting (in poll() or on a condition), and a fork waits for all such
 * threads to be idle -- at most MRC_FORK_QUIET_MS: the world is stopped
 * meanwhile -- and holds them idle until the fork is done; when one stays
 * busy the caller writes without a fork. The agent's thread uses it. The
 * worker uses it only while it first reads the program's debug
 * information (mrc__symbolizer_warm): that burst of allocation comes just
 * as a client's first snapshot is due, and was where writers hung; a
 * snapshot due then is written in place. Otherwise the worker does not:
 * it symbolizes, busy for seconds in such a build, and a snapshot that
 * waited for it (or was written in place, world stopped, meanwhile) came
 * too late for its client; a writer that hangs all the same is killed by
 * the agent (agent.h, MAPROOT_WRITER_STALL). The periodic profile writer
 * (MAPROOT_PROFILE_EVERY) is busy while it writes a profile: it has no
 * client to keep waiting, and a series snapshot forked meanwhile hung
 * under libdw's allocations, so such a snapshot is written in place. Elsewhere the guard is off: busy and idle cost
 * nothing and a fork never waits. mrc__fork_guard_set turns it on or off
 * (for tests of the guard itself).
 *
 * Invariant: a thread's busy/idle calls alternate, starting with busy; a
 * true mrc__fork_quiet is paired with one mrc__fork_done, in the parent.
 */
#ifndef MRC_FORKGUARD_H
#define MRC_FORKGUARD_H

#include <stdbool.h>

#define MRC_FORK_QUIET_MS 20

/* On in builds whose allocator is not fork-safe (Address- and
 * ThreadSanitizer). */
bool mrc__fork_guard_on(void);
void mrc__fork_guard_set(bool on);

/* A thread of the guard begins work (waits while a fork is being made) /
 * goes back to waiting. */
void mrc__fork_busy(void);
void mrc__fork_idle(void);

/* The forking thread: true when every thread of the guard is idle (waits
 * at most MRC_FORK_QUIET_MS), then they stay so until mrc__fork_done;
 * false when one stays busy (write without a fork). */
bool mrc__fork_quiet(void);
void mrc__fork_done(void);

#endif
