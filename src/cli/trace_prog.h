/*
 * src/cli/trace_prog.h -- `maproot trace -- PROG ARGS...`: starting a
 * program so that maproot can trace it from its first collection.
 *
 * The program gets MAPROOT_ATTACH=1 and MAPROOT_ATTACH_WAIT (its agent
 * waits, at start, for maproot to subscribe), and, when it does not carry
 * the collector itself, LD_PRELOAD=libmaproot.so.0: that works for a
 * program that links libmaprt dynamically (the preloaded collector hooks
 * the same runtime). Whether it carries the collector is read from its
 * ELF file: libmaproot.so among its needed libraries, or the collector's
 * mrc_init among its symbols (a static link). The library preloaded is
 * $MAPROOT_PRELOAD, else the one beside this maproot in a build tree,
 * else the installed one.
 */
#ifndef MAPROOT_CLI_TRACE_PROG_H
#define MAPROOT_CLI_TRACE_PROG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Starts argv[0] (looked up in PATH) with argv; *preloaded says whether
 * the collector was preloaded. Returns the child's pid, or -1 with msg. */
pid_t trace_prog_start(char *const argv[], bool *preloaded, char *msg, size_t cap);

#endif
