/*
 * src/format/outfile.h -- every file maproot writes goes through here: the
 * CLI's -o, the collector's profiles and snapshots, and any later output.
 *
 * One rule for what is already at the path:
 *   - nothing, or a regular file: the content goes to a temporary file in
 *     the same directory, which is synced and renamed over the path only
 *     when complete. A file that was there keeps its mode (and, where the
 *     writer may, its owner). While it is written the temporary file has no
 *     name at all where the file system allows (O_TMPFILE): a killed writer
 *     leaves nothing behind; elsewhere it is NAME.tmpXXXXXX beside the path,
 *     removed on every failure;
 *   - a symbolic link: followed (chains too); its target is what is
 *     replaced as above, or created when the link dangles. The link stays;
 *   - a character device or a FIFO: written straight into, never replaced
 *     (a FIFO is opened at the first write, so opening one never blocks);
 *   - a directory, a block device, a socket: refused with a message;
 *   - "-": standard output, written straight into.
 * Nothing is ever left under the final name unless it is complete; a device
 * or FIFO gets what was written before a failure (it cannot be taken back).
 *
 * Errors: one line naming the file and the system's reason, e.g.
 *   "cannot write heap.pb.gz: No space left on device (at byte 65536)".
 * Writes are sticky: after the first failure every write fails, and
 * mf_out_commit reports that first failure.
 * Threads: an mf_out is used by one thread (or one process) at a time.
 */
#ifndef MF_OUTFILE_H
#define MF_OUTFILE_H

#include "format/error.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>

typedef struct mf_out mf_out;

/* Opens an output at path by the rule above. NULL with *err set when the
 * path cannot be written (a directory, a missing directory, no permission).
 */
mf_out *mf_out_open(const char *path, mf_error *err);

/* An output over a descriptor that another process opened and handed over
 * (a file passed over a socket): written straight into from its current
 * offset, like a device; commit and abort close it. The name is for
 * messages. Takes fd over (closed also on failure: only out of memory). */
mf_out *mf_out_fdopen(int fd, const char *name, mf_error *err);

/* The descriptor the output writes into (the temporary file, the device),
 * for handing to another process that writes the content (maproot trace
 * passes it to a program's agent): that process writes, this one commits.
 * -1 for a FIFO (opened at the first write) or after a failure. */
int mf_out_fd(const mf_out *o);

/* Appends bytes; 0, or -1 once any write failed. */
int mf_out_write(mf_out *o, const void *p, size_t n);
/* Appends the pieces iov[0..n) (their iov_base/iov_len may be changed). */
int mf_out_writev(mf_out *o, struct iovec *iov, int n);
/* Bytes written so far. */
uint64_t mf_out_bytes(const mf_out *o);
/* The first failure so far into *err; 0 if none, else -1. */
int mf_out_error(const mf_out *o, mf_error *err);
/* The path as given, for messages. */
const char *mf_out_path(const mf_out *o);

/* Standard output ("-") whole or not at all: what is written is held
 * until commit (in memory up to in_memory bytes, beyond that in an unnamed
 * temporary file in $TMPDIR or /tmp, so a large report costs no memory),
 * then written out; abort writes nothing. A report cut short (out of
 * memory, a full temporary directory) leaves nothing on standard output.
 * When the copy at commit fails (a closed pipe, a full disk) and standard
 * output is a regular file, it is cut back to where it was when held, so
 * a shell's `> FILE` gets nothing either; a pipe or terminal keeps what it
 * was given (it cannot be taken back). Called once, before any write;
 * nothing for any other output. */
void mf_out_hold(mf_out *o, size_t in_memory);

/* A stdio stream over the output (created on the first call; owned by o,
 * closed by commit or abort). Its write errors are o's: they keep the
 * system's reason. NULL if out of memory. */
FILE *mf_out_stream(mf_out *o);

/* Finishes: flushes, syncs and renames a temporary file into place, or
 * closes a device. 0, or -1 with *err set (then nothing is under the final
 * name that was not there before). Frees o either way. */
int mf_out_commit(mf_out *o, mf_error *err);
/* Gives up: removes the temporary file, frees o. NULL is allowed. */
void mf_out_abort(mf_out *o);

/*
 * Hand-over to a child process. A process that forks a writer opens the
 * output first (so the child inherits it and commits it), then calls
 * mf_out_detach in the parent: its copy is closed and freed, and it gets
 * the name (malloc'd; NULL when there is none) under which the child's
 * temporary file may appear. If the child dies before it reports success,
 * the parent removes that name (mf_out_remove_temp): a writer that was
 * killed leaves no temporary file.
 */
char *mf_out_detach(mf_out *o);
void mf_out_remove_temp(const char *temp_name);

/* Writes a whole buffer to path by the rule above (open, write, commit). */
int mf_write_file(const char *path, const void *data, size_t n, mf_error *err);

#endif
