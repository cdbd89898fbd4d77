/* torch_pt.h — reading PyTorch .pt files (torch.save's zip format) without
 * running any of their code.
 *
 * A .pt file is a zip archive of STORED entries: <name>/data.pkl (a pickle),
 * <name>/data/<key> (the raw little-endian bytes of each storage),
 * <name>/version and optionally <name>/byteorder. The pickle is read by a
 * restricted unpickler that knows only what state_dicts and the official
 * readout-head files use: dicts, lists, tuples, strings, ints, floats,
 * booleans, None, the globals collections.OrderedDict,
 * torch._utils._rebuild_tensor_v2 and torch.{Float,Half,BFloat16}Storage,
 * storages by persistent id ('storage', type, key, location, numel), and
 * BUILD only to set an OrderedDict's `_metadata`. Any other opcode or global
 * is refused with an RG_ERROR_FORMAT error that names it and the file;
 * nothing is ever executed or imported.
 *
 * The result: every tensor, as a contiguous F32 rg_tensor (F16 and BF16 are
 * converted; storage offset, sizes and strides are honoured) under its
 * state_dict-style name, dict keys joined with "." ("aggregation_network."
 * "bottleneck_layers.0.conv1.weight"; items of lists and tuples by index),
 * and everything else (the head's "config", "step", ...) as JSON text that
 * mirrors the pickled object with the tensors left out.
 */
#pragma once

#include "readout/readout.h"

G_BEGIN_DECLS

typedef struct rg_torch_pt rg_torch_pt;

/* Errors: RG_ERROR_IO (unreadable), RG_ERROR_FORMAT (not a valid or not an
 * allowed .pt file), RG_ERROR_OUT_OF_MEMORY. */
RG_API rg_torch_pt *rg_torch_pt_open(const char *path, GError **error);
/* As rg_torch_pt_open(), from @size bytes at @data (copied where needed);
 * @what names them in messages. */
RG_API rg_torch_pt *rg_torch_pt_open_bytes(const void *data, size_t size, const char *what, GError **error);
RG_API void rg_torch_pt_free(rg_torch_pt *pt);
/* Number of tensors, and their names in sorted order. */
RG_API int rg_torch_pt_count(const rg_torch_pt *pt);
RG_API const char *rg_torch_pt_name(const rg_torch_pt *pt, int i);
/* (transfer none) The tensor called @name, or NULL. */
RG_API rg_tensor *rg_torch_pt_get(const rg_torch_pt *pt, const char *name);
/* (transfer none) The pickled object without its tensors, as compact JSON:
 * dicts are objects (in pickle order), lists and tuples arrays, a tensor in
 * a list is null, NaN and infinities are null. */
RG_API const char *rg_torch_pt_values_json(const rg_torch_pt *pt);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_torch_pt, rg_torch_pt_free)

G_END_DECLS
