/* weights.h — named model weights, as a model component sees them.
 *
 * An rg_weights maps the names of one component in diffusers naming
 * ("down_blocks.0.resnets.0.conv1.weight" for the UNet) to tensors stored in
 * safetensors files (memory-mapped; F32, F16 or BF16 on disk, F32 when
 * loaded). Model constructors ask for each tensor with the shape they expect,
 * so a missing or mismatched tensor is an error that names the file, the
 * tensor and both shapes.
 */
#pragma once

#include "readout/readout.h"

G_BEGIN_DECLS

typedef struct rg_weights rg_weights;

/* The tensors of @path whose names start with @prefix ("" for all), seen
 * without the prefix. Errors: RG_ERROR_IO, RG_ERROR_FORMAT. */
RG_API rg_weights *rg_weights_open_safetensors(const char *path, const char *prefix, GError **error);
/* An empty set; entries are added with rg_weights_add(). */
RG_API rg_weights *rg_weights_new(void);
/* Makes @name resolve to tensor @stored_name of the file opened at @path
 * (files are opened once and shared). Used by name maps such as LDM
 * single-file -> diffusers. */
RG_API gboolean rg_weights_add(rg_weights *w, const char *name, const char *path, const char *stored_name,
                               GError **error);
/* As rg_weights_add(), but @name is seen with shape (@ndim, @shape), which
 * holds as many elements as the stored tensor: a 1x1 convolution weight
 * (C,C,1,1) in an LDM file is seen as the linear weight (C,C) that diffusers
 * names have, and the other way round. Errors: RG_ERROR_FORMAT (no such
 * tensor, element counts differ). */
RG_API gboolean rg_weights_add_reshaped(rg_weights *w, const char *name, const char *path, const char *stored_name,
                                        int ndim, const int64_t *shape, GError **error);
/* Names where @w comes from in messages about missing tensors (a file, a
 * folder); @stored_name, when not NULL, gives the name under which that
 * source would hold a missing @name (the LDM name of a diffusers name), as a
 * new string or NULL. Without an origin, messages name the files of @w. */
typedef char *(*rg_weights_stored_name_fn)(const char *name, gpointer user_data);
RG_API void rg_weights_set_origin(rg_weights *w, const char *origin, rg_weights_stored_name_fn stored_name,
                                  gpointer user_data);
RG_API void rg_weights_free(rg_weights *w);
RG_API gboolean rg_weights_contains(const rg_weights *w, const char *name);
/* The names of all entries, sorted. (transfer container) */
RG_API GPtrArray *rg_weights_names(const rg_weights *w);
/* Dtype as stored, and shape as seen (after any reshape), of entry @name;
 * FALSE if there is no such entry or its dtype is not one Readout loads. */
RG_API gboolean rg_weights_info(const rg_weights *w, const char *name, rg_dtype *dtype, int *ndim, int64_t *shape);
/* A new F32 tensor with the weights of @name, which must have @ndim
 * dimensions of sizes @shape. Errors: RG_ERROR_FORMAT naming the file, the
 * tensor (as stored, and as asked for when the names differ), the expected
 * and the found shape. */
RG_API rg_tensor *rg_weights_load(rg_weights *w, const char *name, int ndim, const int64_t *shape, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_weights, rg_weights_free)

G_END_DECLS
