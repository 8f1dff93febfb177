/* src/format/gcstack.c -- see gcstack.h: names of the format's enumerations. */
#include "format/gcstack.h"

const char *mf_gs_root_kind_name(uint32_t kind)
{
    static const char *const names[] = {"global", "stack",    "register",
                                        "pin",    "iterator", "runtime"};
    return kind < MF_GS_ROOT_NKINDS ? names[kind] : "unknown";
}

const char *mf_gs_type_kind_name(uint32_t kind)
{
    static const char *const names[] = {"struct",     "array",  "blob",   "string",
                                        "map header", "bucket", "runtime"};
    return kind < MF_GS_NKINDS ? names[kind] : "unknown";
}

const char *mf_gs_write_mode_name(uint32_t mode)
{
    return mode == MF_GS_MODE_FORK ? "fork" : mode == MF_GS_MODE_STOPPED ? "stopped" : "unknown";
}
