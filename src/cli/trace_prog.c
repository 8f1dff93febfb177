/* src/cli/trace_prog.c -- see trace_prog.h. */
#include "cli/trace_prog.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAPROOT_LIBDIR
#define MAPROOT_LIBDIR "/usr/local/lib"
#endif

#define ERR(...) snprintf(msg, cap, __VA_ARGS__)

/* The file argv0 names: itself when it holds a '/', else the first
 * executable of that name in PATH. */
static bool find_program(const char *argv0, char *out, size_t cap)
{
    if (strchr(argv0, '/')) {
        snprintf(out, cap, "%s", argv0);
        return access(out, X_OK) == 0;
    }
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(out, cap, "%.*s/%s", (int)n, n ? path : ".", argv0);
        struct stat st;
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0) return true;
        path += n + (path[n] == ':');
    }
    return false;
}

/*
 * Does the ELF file at path carry the collector: libmaproot.so among its
 * needed libraries, or mrc_init among its symbols? 1 yes, 0 no, -1 when
 * it is not an ELF file that can be read (a script: then it is started
 * with the collector preloaded, which its interpreter's children inherit).
 */
static int carries_collector(const char *path)
{
    if (elf_version(EV_CURRENT) == EV_NONE) return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    int found = e && elf_kind(e) == ELF_K_ELF ? 0 : -1;
    Elf_Scn *scn = NULL;
    while (found == 0 && e && (scn = elf_nextscn(e, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh)) continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        if (!d) continue;
        if (sh.sh_type == SHT_DYNAMIC) {
            size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
            for (size_t i = 0; i < n && !found; i++) {
                GElf_Dyn dyn;
                if (!gelf_getdyn(d, (int)i, &dyn) || dyn.d_tag != DT_NEEDED) continue;
                const char *name = elf_strptr(e, sh.sh_link, dyn.d_un.d_val);
                if (name && strncmp(name, "libmaproot.so", 13) == 0) found = 1;
            }
        } else if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM) {
            size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
            for (size_t i = 0; i < n && !found; i++) {
                GElf_Sym sym;
                if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF) continue;
                const char *name = elf_strptr(e, sh.sh_link, sym.st_name);
                if (name && strcmp(name, "mrc_init") == 0) found = 1;
            }
        }
    }
    if (e) elf_end(e);
    close(fd);
    return found;
}

/* The collector library to preload, into out; false with msg. */
static bool preload_library(char *out, size_t cap_out, char *msg, size_t cap)
{
    const char *env = getenv("MAPROOT_PRELOAD");
    if (env && *env) {
        snprintf(out, cap_out, "%s", env);
        if (access(out, R_OK) == 0) return true;
        ERR("MAPROOT_PRELOAD=%s: %s", env, strerror(errno));
        return false;
    }
    /* in a build tree, src/cli/maproot has src/collector/ beside it */
    char exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
        exe[k] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            if ((size_t)snprintf(out, cap_out, "%s/../collector/libmaproot.so.0", exe) < cap_out &&
                access(out, R_OK) == 0)
                return true;
        }
    }
    snprintf(out, cap_out, "%s/libmaproot.so.0", MAPROOT_LIBDIR);
    if (access(out, R_OK) == 0) return true;
    ERR("cannot find libmaproot.so.0 to preload (not in %s; set MAPROOT_PRELOAD to its path)",
        MAPROOT_LIBDIR);
    return false;
}

pid_t trace_prog_start(char *const argv[], bool *preloaded, char *msg, size_t cap)
{
    char prog[PATH_MAX];
    if (!find_program(argv[0], prog, sizeof prog)) {
        ERR("cannot run %s: %s", argv[0],
            strchr(argv[0], '/') ? strerror(errno) : "not found in PATH");
        return -1;
    }
    char lib[PATH_MAX] = "";
    *preloaded = carries_collector(prog) != 1;
    if (*preloaded && !preload_library(lib, sizeof lib, msg, cap)) return -1;
    char preload[2 * PATH_MAX + 2];
    const char *old = getenv("LD_PRELOAD");
    snprintf(preload, sizeof preload, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
    int fds[2]; /* the child reports a failed exec through this */
    if (pipe2(fds, O_CLOEXEC) != 0) {
        ERR("cannot make a pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        ERR("cannot start %s: %s", prog, strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        setenv("MAPROOT_ATTACH", "1", 1);
        /* as long as maproot waits for its endpoint (cmd_trace.c) */
        setenv("MAPROOT_ATTACH_WAIT", "30", 1);
        if (*preloaded) setenv("LD_PRELOAD", preload, 1);
        execv(prog, argv);
        int e = errno;
        if (write(fds[1], &e, sizeof e) < 0) e = 0;
        _exit(127);
    }
    close(fds[1]);
    int e = 0;
    ssize_t got;
    do got = read(fds[0], &e, sizeof e);
    while (got < 0 && errno == EINTR);
    close(fds[0]);
    if (got == (ssize_t)sizeof e) {
        ERR("cannot run %s: %s", prog, strerror(e));
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}
