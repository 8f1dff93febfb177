/*
 * src/collector/symbolize.c -- in-process symbolization with libdw (dwfl).
 *
 * dwfl reports the process's modules from /proc/self/maps and finds their
 * ELF files; per program counter we take the chain of DWARF scopes around it
 * (dwarf_getscopes): each inlined subroutine scope is a frame whose caller
 * line is its DW_AT_call_line, ending at the subprogram that physically holds
 * the pc. Modules without DWARF (e.g. libc without debug files) fall back to
 * the ELF symbol table: a function name, no file or line.
 */
#include "collector/symbolize.h"

#include "format/names.h"

#define UNW_LOCAL_ONLY
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include <inttypes.h>
#include <libunwind.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct pc_ent {
    uintptr_t pc;   /* 0 = empty */
    uint32_t space; /* 0: the process; else file_spaces[space - 1] */
    uint32_t start, n;
} pc_ent;

/* A module file no longer mapped, read apart at the bias it had. */
typedef struct file_space {
    const char *path, *build_id; /* interned */
    uintptr_t bias;
    Dwfl *dwfl; /* NULL: unreadable, or another build than the one loaded */
    bool has_dwarf;
} file_space;

/* A function named by mrc_sym_add_function: [start, end). */
typedef struct known_fn {
    uintptr_t start, end;
    const char *name;
} known_fn;

struct mrc_symbolizer {
    Dwfl *dwfl;
    Dwfl_Callbacks cb;
    char *debuginfo_path;

    /* interned strings: open addressing over `strs` */
    char **strs;
    size_t n_strs, str_mask;

    pc_ent *pcs;
    size_t n_pcs, pc_mask;
    mrc_sym_frame *frames;
    size_t n_frames, cap_frames;

    mrc_sym_mapping *maps;
    size_t n_maps, cap_maps;

    known_fn *known;
    size_t n_known;

    file_space *files;
    size_t n_files;
    Dwfl_Callbacks file_cb;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

static uint64_t hash_pc(uintptr_t pc, uint32_t space)
{
    uint64_t x = (pc ^ ((uint64_t)space << 47)) * 0x9e3779b97f4a7c15ULL;
    return x ^ (x >> 29);
}

/* A copy of s owned by the symbolizer (one per distinct string), or NULL
 * when out of memory. */
static const char *intern(mrc_symbolizer *s, const char *str)
{
    if (!str) str = "";
    if ((s->n_strs + 1) * 2 > s->str_mask + 1) {
        size_t ncap = (s->str_mask + 1) * 2;
        char **ns = calloc(ncap, sizeof *ns);
        if (!ns) return NULL;
        for (size_t i = 0; i <= s->str_mask; i++) {
            if (!s->strs[i]) continue;
            size_t j = hash_str(s->strs[i]) & (ncap - 1);
            while (ns[j]) j = (j + 1) & (ncap - 1);
            ns[j] = s->strs[i];
        }
        free(s->strs);
        s->strs = ns;
        s->str_mask = ncap - 1;
    }
    size_t j = hash_str(str) & s->str_mask;
    for (; s->strs[j]; j = (j + 1) & s->str_mask)
        if (strcmp(s->strs[j], str) == 0) return s->strs[j];
    char *c = strdup(str);
    if (!c) return NULL;
    s->strs[j] = c;
    s->n_strs++;
    return c;
}

/* Absolute, cleaned and interned form of a DWARF file name. */
static const char *intern_path(mrc_symbolizer *s, const char *file, const char *comp_dir)
{
    if (!file || !*file) return intern(s, "");
    char buf[4096];
    if (file[0] != '/' && comp_dir && *comp_dir)
        snprintf(buf, sizeof buf, "%s/%s", comp_dir, file);
    else
        snprintf(buf, sizeof buf, "%s", file);
    mf_path_clean(buf);
    return intern(s, buf);
}

mrc_symbolizer *mrc_sym_new(void)
{
    mrc_symbolizer *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->str_mask = 255;
    s->pc_mask = 1023;
    s->strs = calloc(256, sizeof *s->strs);
    s->pcs = calloc(1024, sizeof *s->pcs);
    s->debuginfo_path = NULL;
    s->cb.find_elf = dwfl_linux_proc_find_elf;
    /* local files only, by build ID or .gnu_debuglink: no debuginfod */
    s->cb.find_debuginfo = dwfl_build_id_find_debuginfo;
    s->cb.debuginfo_path = &s->debuginfo_path;
    s->file_cb = s->cb;
    s->file_cb.find_elf = dwfl_build_id_find_elf;
    s->file_cb.section_address = dwfl_offline_section_address;
    if (!s->strs || !s->pcs) goto fail;
    s->dwfl = dwfl_begin(&s->cb);
    if (!s->dwfl) goto fail;
    if (mrc_sym_refresh(s) != 0) goto fail;
    return s;
fail:
    mrc_sym_free(s);
    return NULL;
}

void mrc_sym_free(mrc_symbolizer *s)
{
    if (!s) return;
    if (s->dwfl) dwfl_end(s->dwfl);
    for (size_t i = 0; i < s->n_files; i++)
        if (s->files[i].dwfl) dwfl_end(s->files[i].dwfl);
    free(s->files);
    for (size_t i = 0; s->strs && i <= s->str_mask; i++) free(s->strs[i]);
    free(s->strs);
    free(s->pcs);
    free(s->frames);
    free(s->maps);
    free(s->known);
    free(s);
}

int mrc_sym_add_function(mrc_symbolizer *s, uintptr_t addr, const char *name)
{
    unw_proc_info_t pi;
    if (unw_get_proc_info_by_ip(unw_local_addr_space, addr, &pi, NULL) != 0 || pi.end_ip <= addr)
        return -1;
    const char *n = intern(s, name);
    known_fn *k = realloc(s->known, (s->n_known + 1) * sizeof *k);
    if (!n || !k) return -1;
    s->known = k;
    s->known[s->n_known++] = (known_fn){(uintptr_t)pi.start_ip, (uintptr_t)pi.end_ip, n};
    return 0;
}

/* Reads the executable, file-backed lines of /proc/self/maps. */
static int read_maps(mrc_symbolizer *s)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f) return -1;
    s->n_maps = 0;
    char line[4096 + 128];
    while (fgets(line, sizeof line, f)) {
        uint64_t start, end, off;
        char perms[8];
        int pathpos = 0;
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s %n", &start, &end, perms,
                   &off, &pathpos) < 4)
            continue;
        if (!strchr(perms, 'x') || pathpos <= 0 || line[pathpos] != '/') continue;
        char *path = line + pathpos;
        path[strcspn(path, "\n")] = 0;
        const char *del = strstr(path, " (deleted)");
        if (del) path[del - path] = 0;
        if (s->n_maps == s->cap_maps) {
            size_t nc = s->cap_maps ? s->cap_maps * 2 : 32;
            mrc_sym_mapping *nm = realloc(s->maps, nc * sizeof *nm);
            if (!nm) {
                fclose(f);
                return -1;
            }
            s->maps = nm;
            s->cap_maps = nc;
        }
        const char *ipath = intern(s, path);
        if (!ipath) {
            fclose(f);
            return -1;
        }
        s->maps[s->n_maps++] = (mrc_sym_mapping){start, end, off, ipath, "", false};
    }
    fclose(f);
    return 0;
}

/* Fills in each mapping's build ID and whether its module has DWARF. */
static void describe_maps(mrc_symbolizer *s)
{
    for (size_t i = 0; i < s->n_maps; i++) {
        mrc_sym_mapping *m = &s->maps[i];
        Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, m->start);
        if (!mod) continue;
        const unsigned char *bits;
        GElf_Addr vaddr;
        Dwarf_Addr ebias;
        dwfl_module_getelf(mod, &ebias); /* the build ID is known once the ELF is */
        int n = dwfl_module_build_id(mod, &bits, &vaddr);
        if (n > 0 && n <= 64) {
            char hex[129];
            for (int k = 0; k < n; k++) snprintf(hex + 2 * k, 3, "%02x", bits[k]);
            const char *h = intern(s, hex);
            if (h) m->build_id = h;
        }
        Dwarf_Addr bias;
        m->has_dwarf = dwfl_module_getdwarf(mod, &bias) != NULL;
    }
}

int mrc_sym_refresh(mrc_symbolizer *s)
{
    dwfl_report_begin_add(s->dwfl);
    int rc = dwfl_linux_proc_report(s->dwfl, getpid());
    dwfl_report_end(s->dwfl, NULL, NULL);
    if (rc != 0) return -1;
    if (read_maps(s) != 0) return -1;
    describe_maps(s);
    return 0;
}

size_t mrc_sym_mappings(mrc_symbolizer *s, const mrc_sym_mapping **out)
{
    *out = s->maps;
    return s->n_maps;
}

long mrc_sym_mapping_of(mrc_symbolizer *s, uintptr_t pc)
{
    /* few mappings (tens): a linear scan is enough */
    for (size_t i = 0; i < s->n_maps; i++)
        if (pc >= s->maps[i].start && pc < s->maps[i].limit) return (long)i;
    return -1;
}

static int push_frame(mrc_symbolizer *s, const char *fn, const char *file, int64_t line,
                      int64_t start_line)
{
    if (s->n_frames == s->cap_frames) {
        size_t nc = s->cap_frames ? s->cap_frames * 2 : 256;
        mrc_sym_frame *nf = realloc(s->frames, nc * sizeof *nf);
        if (!nf) return -1;
        s->frames = nf;
        s->cap_frames = nc;
    }
    const char *f = intern(s, fn), *fi = file ? file : intern(s, "");
    if (!f || !fi) return -1;
    s->frames[s->n_frames++] = (mrc_sym_frame){f, fi, line, start_line};
    return 0;
}

static const char *die_string(Dwarf_Die *die, int name)
{
    Dwarf_Attribute a;
    return dwarf_formstring(dwarf_attr(die, name, &a));
}

/* The file name of an inlined call (DW_AT_call_file indexes the CU's file
 * table), or NULL. */
static const char *call_file(Dwarf_Die *cu, Dwarf_Die *die)
{
    Dwarf_Attribute a;
    Dwarf_Word idx;
    if (!dwarf_attr(die, DW_AT_call_file, &a) || dwarf_formudata(&a, &idx) != 0) return NULL;
    Dwarf_Files *files;
    size_t nfiles;
    if (dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || idx >= nfiles) return NULL;
    return dwarf_filesrc(files, idx, NULL, NULL);
}

/* The compilation unit holding pc. dwfl's lookup goes by .debug_aranges,
 * which clang does not emit by default: then each CU's ranges are tried.
 * A module that links clang's code with gcc's (a program built with clang
 * -flto against gcc-built archives) has aranges for gcc's units alone, and
 * for a pc in clang's code the lookup answers with a unit that does not
 * hold it: only a unit that holds pc is taken from it. */
static Dwarf_Die *find_cu(Dwfl_Module *mod, uintptr_t pc, Dwarf_Addr *bias)
{
    Dwarf_Die *cu = dwfl_module_addrdie(mod, pc, bias);
    if (cu && dwarf_haspc(cu, pc - *bias) > 0) return cu;
    for (cu = dwfl_module_nextcu(mod, NULL, bias); cu; cu = dwfl_module_nextcu(mod, cu, bias))
        if (dwarf_haspc(cu, pc - *bias) > 0) return cu;
    return NULL;
}

/*
 * The symbol table's name of the function holding pc, cleaned of the
 * compiler's clone suffixes ("new_session.constprop.0" is new_session), and
 * interned; NULL when no function symbol holds pc. A symbol with a size must
 * contain pc: in a stripped module the nearest symbol before pc may be some
 * other function's, and no name is better than a wrong one.
 */
static const char *symbol_name(mrc_symbolizer *s, Dwfl_Module *mod, uintptr_t pc)
{
    GElf_Off off = 0;
    GElf_Sym sym;
    const char *name = dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL);
    if (!name || !*name) return NULL;
    if (GELF_ST_TYPE(sym.st_info) != STT_FUNC && GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC)
        return NULL;
    if (sym.st_size && off >= sym.st_size) return NULL;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", name);
    mf_function_name_clean(buf);
    return intern(s, buf);
}

/* Symbolizes pc into new frames at the end of s->frames, with the modules
 * of dwfl (the process's, or one file's); the functions named by
 * mrc_sym_add_function are the process's. */
static void resolve(mrc_symbolizer *s, Dwfl *dwfl, uintptr_t pc)
{
    Dwfl_Module *mod = dwfl_addrmodule(dwfl, pc);
    if (!mod) return;
    size_t first = s->n_frames;
    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = find_cu(mod, pc, &bias);
    int line_no = 0;
    const char *line_file = NULL;
    Dwarf_Line *ln = cu ? dwarf_getsrc_die(cu, pc - bias) : NULL;
    if (ln) {
        line_file = dwarf_linesrc(ln, NULL, NULL);
        dwarf_lineno(ln, &line_no);
    }
    if (cu) {
        const char *comp_dir = die_string(cu, DW_AT_comp_dir);
        const char *cur_file = intern_path(s, line_file, comp_dir);
        int64_t cur_line = line_no;
        /* dwarf_getscopes continues past an inlined instance with the
         * scopes of its abstract definition; the concrete chain of callers
         * comes from dwarf_getscopes_die on the innermost scope. */
        Dwarf_Die *scopes = NULL;
        int ns = dwarf_getscopes(cu, pc - bias, &scopes);
        if (ns > 0) {
            Dwarf_Die inner = scopes[0];
            free(scopes);
            scopes = NULL;
            ns = dwarf_getscopes_die(&inner, &scopes);
        }
        for (int i = 0; i < ns; i++) {
            Dwarf_Die *d = &scopes[i];
            int tag = dwarf_tag(d);
            if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine) continue;
            const char *name = dwarf_diename(d);
            if (!name) name = "";
            const char *decl = dwarf_decl_file(d);
            int decl_line = 0;
            dwarf_decl_line(d, &decl_line);
            const char *file = decl ? intern_path(s, decl, comp_dir) : cur_file;
            if (push_frame(s, name, file, cur_line, decl_line) != 0) break;
            if (tag == DW_TAG_subprogram) break;
            Dwarf_Attribute a;
            Dwarf_Word cl = 0;
            if (dwarf_attr(d, DW_AT_call_line, &a)) dwarf_formudata(&a, &cl);
            cur_line = (int64_t)cl;
            cur_file = intern_path(s, call_file(cu, d), comp_dir);
        }
        free(scopes);
        if (s->n_frames > first && !*s->frames[s->n_frames - 1].function) {
            /* a scope without a name: take the symbol table's */
            const char *sym = symbol_name(s, mod, pc);
            if (sym) s->frames[s->n_frames - 1].function = sym;
        }
        if (s->n_frames == first && line_file)
            push_frame(s, symbol_name(s, mod, pc), cur_file, line_no, 0);
    }
    if (s->n_frames == first) {
        const char *sym = symbol_name(s, mod, pc);
        for (size_t i = 0; !sym && dwfl == s->dwfl && i < s->n_known; i++)
            if (pc >= s->known[i].start && pc < s->known[i].end) sym = s->known[i].name;
        if (sym) push_frame(s, sym, NULL, 0, 0);
    }
    for (size_t i = first; i < s->n_frames; i++)
        if (!s->frames[i].function) s->frames[i].function = "";
}

/* Does the unit cu know the source file whose cleaned absolute name is
 * `want`, as its main file or in its line table's file list? */
static bool unit_has_file(Dwarf_Die *cu, const char *comp_dir, const char *want)
{
    char buf[4096];
    const char *name = dwarf_diename(cu);
    Dwarf_Files *files;
    size_t nfiles = 0;
    if (dwarf_getsrcfiles(cu, &files, &nfiles) != 0) nfiles = 0;
    for (size_t i = 0; i <= nfiles; i++) {
        const char *f = i == 0 ? name : dwarf_filesrc(files, i - 1, NULL, NULL);
        if (!f || !*f) continue;
        if (f[0] == '/')
            snprintf(buf, sizeof buf, "%s", f);
        else
            snprintf(buf, sizeof buf, "%s/%s", comp_dir, f);
        mf_path_clean(buf);
        if (strcmp(buf, want) == 0) return true;
    }
    return false;
}

const char *mrc_sym_source_path(mrc_symbolizer *s, uintptr_t addr, const char *file)
{
    if (!file || !*file) return intern(s, "");
    if (file[0] == '/') return intern_path(s, file, NULL);
    Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
    Dwarf_Addr bias;
    for (Dwarf_Die *cu = mod ? dwfl_module_nextcu(mod, NULL, &bias) : NULL; cu;
         cu = dwfl_module_nextcu(mod, cu, &bias)) {
        const char *comp_dir = die_string(cu, DW_AT_comp_dir);
        if (!comp_dir || comp_dir[0] != '/') continue;
        char want[4096];
        snprintf(want, sizeof want, "%s/%s", comp_dir, file);
        mf_path_clean(want);
        if (unit_has_file(cu, comp_dir, want)) return intern(s, want);
    }
    return intern_path(s, file, NULL);
}

/* dwfl_getmodules callback: the module whose file is the one asked for. */
typedef struct module_by_path {
    const char *path;
    Dwfl_Module *found;
} module_by_path;

static int match_module_path(Dwfl_Module *mod, void **ud, const char *name, Dwarf_Addr start,
                             void *arg)
{
    (void)ud;
    (void)start;
    module_by_path *m = arg;
    if (!name || strcmp(name, m->path) != 0) return DWARF_CB_OK;
    m->found = mod;
    return DWARF_CB_ABORT;
}

/* A linear pass over the module's symbols: the thread-local words of a
 * snapshot are few (a few per thread), and their names are asked once each
 * by the writer. */
const char *mrc_sym_tls_variable(mrc_symbolizer *s, const char *path, uint64_t off)
{
    if (!s || !s->dwfl || !path || !*path) return NULL;
    module_by_path m = {path, NULL};
    dwfl_getmodules(s->dwfl, match_module_path, &m, 0);
    int n = m.found ? dwfl_module_getsymtab(m.found) : -1;
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        const char *name = dwfl_module_getsym_info(m.found, i, &sym, &addr, NULL, NULL, NULL);
        if (name && *name && GELF_ST_TYPE(sym.st_info) == STT_TLS && sym.st_value <= off &&
            off - sym.st_value < (sym.st_size ? sym.st_size : 1))
            return intern(s, name);
    }
    return NULL;
}

/* The frames of pc in space (0: the process), cached per (space, pc). */
static size_t lookup_in(mrc_symbolizer *s, uint32_t space, uintptr_t pc,
                        const mrc_sym_frame **frames)
{
    *frames = NULL;
    if (!pc) return 0;
    size_t j = hash_pc(pc, space) & s->pc_mask;
    for (; s->pcs[j].pc; j = (j + 1) & s->pc_mask) {
        if (s->pcs[j].pc == pc && s->pcs[j].space == space) {
            *frames = s->pcs[j].n ? s->frames + s->pcs[j].start : NULL;
            return s->pcs[j].n;
        }
    }
    if ((s->n_pcs + 1) * 2 > s->pc_mask + 1) {
        size_t ncap = (s->pc_mask + 1) * 2;
        pc_ent *np = calloc(ncap, sizeof *np);
        if (!np) return 0;
        for (size_t i = 0; i <= s->pc_mask; i++) {
            if (!s->pcs[i].pc) continue;
            size_t k = hash_pc(s->pcs[i].pc, s->pcs[i].space) & (ncap - 1);
            while (np[k].pc) k = (k + 1) & (ncap - 1);
            np[k] = s->pcs[i];
        }
        free(s->pcs);
        s->pcs = np;
        s->pc_mask = ncap - 1;
        j = hash_pc(pc, space) & s->pc_mask;
        while (s->pcs[j].pc) j = (j + 1) & s->pc_mask;
    }
    size_t first = s->n_frames;
    Dwfl *dwfl = space ? s->files[space - 1].dwfl : s->dwfl;
    if (dwfl) resolve(s, dwfl, pc);
    if (s->n_frames - first > UINT32_MAX || first > UINT32_MAX) return 0;
    s->pcs[j] = (pc_ent){pc, space, (uint32_t)first, (uint32_t)(s->n_frames - first)};
    s->n_pcs++;
    size_t n = s->n_frames - first;
    *frames = n ? s->frames + first : NULL; /* s->frames is NULL until a first frame */
    return n;
}

size_t mrc_sym_lookup(mrc_symbolizer *s, uintptr_t pc, const mrc_sym_frame **frames)
{
    return lookup_in(s, 0, pc, frames);
}

/* Reads the module file path as if loaded at bias, in a Dwfl of its own
 * (its addresses may now belong to another module of the process). NULL
 * when it cannot be read, or when its build ID is not build_id (the file
 * was replaced since: no names rather than wrong ones). */
static Dwfl *open_file(mrc_symbolizer *s, const char *path, uintptr_t bias, const char *build_id,
                       bool *has_dwarf)
{
    Dwfl *d = dwfl_begin(&s->file_cb);
    if (!d) return NULL;
    dwfl_report_begin(d);
    Dwfl_Module *mod = dwfl_report_elf(d, path, path, -1, bias, false);
    dwfl_report_end(d, NULL, NULL);
    const unsigned char *bits;
    GElf_Addr vaddr;
    int n = mod ? dwfl_module_build_id(mod, &bits, &vaddr) : -1;
    char hex[129] = "";
    for (int k = 0; k < n && k < 64; k++) snprintf(hex + 2 * k, 3, "%02x", bits[k]);
    if (!mod || (*build_id && strcmp(hex, build_id) != 0)) {
        dwfl_end(d);
        return NULL;
    }
    Dwarf_Addr b;
    *has_dwarf = dwfl_module_getdwarf(mod, &b) != NULL;
    return d;
}

long mrc_sym_file_space(mrc_symbolizer *s, const char *path, uintptr_t bias, const char *build_id,
                        bool *has_dwarf)
{
    *has_dwarf = false;
    for (size_t i = 0; i < s->n_files; i++) {
        const file_space *f = &s->files[i];
        if (f->bias == bias && strcmp(f->path, path) == 0 && strcmp(f->build_id, build_id) == 0) {
            *has_dwarf = f->has_dwarf;
            return (long)i + 1;
        }
    }
    if (s->n_files >= UINT32_MAX - 1) return -1;
    const char *ipath = intern(s, path), *ibid = intern(s, build_id);
    file_space *nf = realloc(s->files, (s->n_files + 1) * sizeof *nf);
    if (!ipath || !ibid || !nf) return -1;
    s->files = nf;
    file_space *f = &s->files[s->n_files];
    *f = (file_space){ipath, ibid, bias, NULL, false};
    f->dwfl = open_file(s, path, bias, build_id, &f->has_dwarf);
    *has_dwarf = f->has_dwarf;
    return (long)++s->n_files;
}

size_t mrc_sym_lookup_file(mrc_symbolizer *s, long space, uintptr_t pc,
                           const mrc_sym_frame **frames)
{
    *frames = NULL;
    if (space <= 0 || (size_t)space > s->n_files) return 0;
    return lookup_in(s, (uint32_t)space, pc, frames);
}
