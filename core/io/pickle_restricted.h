/* pickle_restricted.h — the restricted unpickler behind rg_torch_pt_open()
 * (readout/torch_pt.h). Internal to libreadout; implemented in
 * core/io/pickle_restricted.c, used by core/io/torch_pt.c.
 *
 * rg_pickle_run() executes <prefix>data.pkl of a torch.save archive with a
 * machine that knows only the opcodes torch.save emits for dicts of tensors
 * and plain values, resolves only collections.OrderedDict,
 * torch._utils._rebuild_tensor_v2 and torch.{Float,Half,BFloat16}Storage,
 * and loads storages from <prefix>data/<key>. Tensors come out as contiguous
 * F32 rg_tensors. Every value lives in the rg_pickle's arena.
 */
#pragma once

#include "io/zip_stored.h"

typedef enum { RG_PV_NONE, RG_PV_BOOL, RG_PV_INT, RG_PV_FLOAT, RG_PV_STR, RG_PV_TUPLE, RG_PV_LIST, RG_PV_DICT,
               RG_PV_ODICT_CLASS, RG_PV_REBUILD_FN, RG_PV_STORAGE_CLASS, RG_PV_STORAGE, RG_PV_TENSOR } rg_pv_kind;


typedef struct rg_pv {
    rg_pv_kind kind;
    gint64 i;                 /* RG_PV_BOOL, RG_PV_INT; RG_PV_STORAGE: numel */
    double f;
    char *s;                  /* RG_PV_STR */
    GPtrArray *items;         /* RG_PV_TUPLE, RG_PV_LIST; RG_PV_DICT: values */
    GPtrArray *keys;          /* RG_PV_DICT: char * (owned by key values) */
    GHashTable *index;        /* RG_PV_DICT: key -> present */
    gboolean ordered;         /* RG_PV_DICT made by OrderedDict() */
    rg_dtype dtype;           /* RG_PV_STORAGE_CLASS, RG_PV_STORAGE */
    const rg_zip_entry *data; /* RG_PV_STORAGE */
    rg_tensor *tensor;        /* RG_PV_TENSOR */
} rg_pv;

extern const char *const rg_pv_kind_names[];

typedef struct rg_pickle rg_pickle;

/* Runs @pkl. Tensors may hold at most @max_numel elements in all (so that
 * storages shared by many tensors cannot multiply memory). @what names the
 * file in messages. Errors: RG_ERROR_FORMAT, RG_ERROR_OUT_OF_MEMORY. */
rg_pickle *rg_pickle_run(const rg_zip *zip, const char *prefix, const rg_zip_entry *pkl, int64_t max_numel,
                         const char *what, GError **error);
/* (transfer none) The object STOP returned. */
rg_pv *rg_pickle_root(rg_pickle *pk);
void rg_pickle_free(rg_pickle *pk);
