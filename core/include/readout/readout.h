/* readout.h — the one public header of libreadout, the Readout engine.
 *
 * libreadout is a small tensor engine in C with reverse-mode automatic
 * differentiation, made for Readout Guidance (Luo et al., CVPR 2024): a frozen
 * diffusion UNet runs forward, readout heads read its features, and the
 * gradient of a loss flows back to the latent.
 *
 * Tensors are row-major with up to RG_MAX_DIMS dimensions; compute happens in
 * f32, while f16 and bf16 are storage types converted when loaded. Every
 * operation runs eagerly on the context's backend. When a tape is attached to
 * the context and an input needs a gradient, the operation is recorded; the
 * tape then runs backward from a scalar loss or from given cotangents.
 *
 *   g_autoptr(rg_ctx) ctx = rg_ctx_new (NULL, &error);        // CPU backend
 *   g_autoptr(rg_tape) tape = rg_tape_new ();
 *   rg_tensor_set_requires_grad (x, TRUE);                    // a leaf
 *   rg_ctx_set_tape (ctx, tape);
 *   g_autoptr(rg_tensor) y = rg_silu (ctx, x, &error);
 *   g_autoptr(rg_tensor) loss = rg_sum (ctx, y, &error);
 *   rg_ctx_set_tape (ctx, NULL);
 *   rg_tape_backward (ctx, tape, loss, &error);
 *   const rg_tensor *dx = rg_tensor_get_grad (x);             // d loss / d x
 *
 * Ownership: functions returning rg_tensor * give a new reference (transfer
 * full) that the caller releases with rg_tensor_unref(); tensor arguments are
 * borrowed (transfer none). Functions that can fail take GError ** last and
 * return NULL or FALSE on failure, with a message naming the operation and the
 * shapes involved. Nothing here aborts on bad input.
 *
 * Threads: a context, its tensors and its tape are used by one thread at a
 * time. Each operation uses the engine's worker threads internally.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define RG_API __attribute__((visibility("default")))

#define RG_VERSION_STRING "0.1.0"
#define RG_MAX_DIMS 5

/* ---- errors ------------------------------------------------------------ */

#define RG_ERROR (rg_error_quark())

/* Append-only. */
typedef enum {
    RG_ERROR_FAILED = 0,
    RG_ERROR_IO = 1,            /* a file could not be read or written */
    RG_ERROR_FORMAT = 2,        /* a file is not what it claims to be */
    RG_ERROR_SHAPE = 3,         /* tensor shapes do not fit the operation */
    RG_ERROR_DTYPE = 4,         /* a tensor has the wrong element type */
    RG_ERROR_ARGUMENT = 5,      /* a bad scalar argument */
    RG_ERROR_DEVICE = 6,        /* the backend failed */
    RG_ERROR_OUT_OF_MEMORY = 7, /* an allocation failed */
    RG_ERROR_CANCELLED = 8,     /* the job was cancelled */
    RG_ERROR_UNSUPPORTED = 9,   /* the backend cannot do this operation */
} RgError;

RG_API GQuark rg_error_quark(void);

/* ---- version and runtime ----------------------------------------------- */

RG_API const char *rg_version(void);
/* Number of worker threads used by operations (and by the BLAS). */
RG_API int rg_get_num_threads(void);
/* Sets the number of worker threads; n <= 0 means one per available core. */
RG_API void rg_set_num_threads(int n);
/* OpenMP threads that spin while they wait make a run 5-10x slower as soon
 * as another process wants the same cores (a second job, a desktop, GIMP).
 * The runtime reads OMP_WAIT_POLICY once, when it loads, so unless the user
 * chose a policy this restarts the program (execv of /proc/self/exe with
 * @argv, file descriptors kept) with waiting threads that sleep after a
 * short spin (GOMP_SPINCOUNT 300 unless set). Call first thing in main();
 * returns only when no restart was needed or it failed. */
RG_API void rg_prefer_passive_waiting(char **argv);
/* The BLAS in use, as it describes itself ("OpenBLAS 0.3.21 ... (openmp)"). */
RG_API const char *rg_blas_description(void);
/* Space-separated vector features of this CPU that the engine can use. */
RG_API const char *rg_cpu_features(void);

/* Bytes of tensor memory allocated by the engine now, and the most at any
 * time since the last rg_memory_reset_peak(). */
RG_API void rg_memory_stats(size_t *live_bytes, size_t *peak_bytes);
RG_API void rg_memory_reset_peak(void);

/* ---- tensors ----------------------------------------------------------- */

/* Append-only, explicit values. F16 and BF16 are storage types only. */
typedef enum {
    RG_DTYPE_F32 = 0,
    RG_DTYPE_F16 = 1,
    RG_DTYPE_BF16 = 2,
    RG_DTYPE_I64 = 3,
    RG_DTYPE_I32 = 4,
} rg_dtype;

typedef struct rg_tensor rg_tensor;

RG_API const char *rg_dtype_name(rg_dtype dtype);
RG_API size_t rg_dtype_size(rg_dtype dtype);

/* A new zero-filled contiguous tensor. dtype is F32, I64 or I32.
 * Errors: RG_ERROR_SHAPE (bad dimensions), RG_ERROR_DTYPE, RG_ERROR_OUT_OF_MEMORY. */
RG_API rg_tensor *rg_tensor_new(rg_dtype dtype, int ndim, const int64_t *shape, GError **error);
/* A new tensor holding a copy of @data, which is contiguous in @storage dtype.
 * F16 and BF16 are converted to F32; F32, I64 and I32 are copied as they are. */
RG_API rg_tensor *rg_tensor_new_from_data(rg_dtype storage, int ndim, const int64_t *shape,
                                          const void *data, GError **error);
/* A new F32 tensor filled with @value. */
RG_API rg_tensor *rg_tensor_new_full(int ndim, const int64_t *shape, float value, GError **error);
RG_API rg_tensor *rg_tensor_ref(rg_tensor *t);
RG_API void rg_tensor_unref(rg_tensor *t);

RG_API rg_dtype rg_tensor_dtype(const rg_tensor *t);
RG_API int rg_tensor_ndim(const rg_tensor *t);
/* (transfer none) ndim sizes. */
RG_API const int64_t *rg_tensor_shape(const rg_tensor *t);
/* (transfer none) ndim strides, in elements. */
RG_API const int64_t *rg_tensor_strides(const rg_tensor *t);
RG_API int64_t rg_tensor_numel(const rg_tensor *t);
RG_API gboolean rg_tensor_is_contiguous(const rg_tensor *t);
/* (transfer none) The first element of a CPU tensor; NULL for other dtypes.
 * Elements are addressed through the strides. */
RG_API float *rg_tensor_data_f32(rg_tensor *t);
RG_API int64_t *rg_tensor_data_i64(rg_tensor *t);
/* "(2,320,64,64)" — for messages. (transfer full) */
RG_API char *rg_tensor_shape_string(const rg_tensor *t);
/* Element at a flat row-major index (strides honoured), as a double. */
RG_API double rg_tensor_get_flat(const rg_tensor *t, int64_t index);

/* ---- contexts, backends, tapes ----------------------------------------- */

typedef struct rg_backend rg_backend;
typedef struct rg_ctx rg_ctx;
typedef struct rg_tape rg_tape;

/* The CPU backend. Never fails. */
RG_API rg_backend *rg_backend_cpu_new(void);
/* The CUDA backend on @device. Errors: RG_ERROR_DEVICE (no GPU, no driver),
 * RG_ERROR_UNSUPPORTED (built without CUDA). */
RG_API rg_backend *rg_backend_cuda_new(int device, GError **error);
RG_API void rg_backend_free(rg_backend *backend);
RG_API const char *rg_backend_name(rg_backend *backend);
/* Names of the backends compiled into this build, NULL-terminated. (transfer none) */
RG_API const char *const *rg_backend_compiled_names(void);

/* A context runs operations on one backend. @backend: (transfer full) or NULL
 * for the CPU backend. */
RG_API rg_ctx *rg_ctx_new(rg_backend *backend, GError **error);
RG_API void rg_ctx_free(rg_ctx *ctx);
RG_API rg_backend *rg_ctx_get_backend(rg_ctx *ctx);

/* Autograd. A leaf is a tensor made by the user; one that requires a gradient
 * receives it in rg_tensor_get_grad() after a backward pass (accumulated over
 * passes until rg_tensor_zero_grad()). Frozen leaves (the default) get none
 * and no work is done for them. */
RG_API void rg_tensor_set_requires_grad(rg_tensor *t, gboolean requires_grad);
RG_API gboolean rg_tensor_requires_grad(const rg_tensor *t);
/* (transfer none) The accumulated gradient of a leaf, or NULL. */
RG_API rg_tensor *rg_tensor_get_grad(rg_tensor *t);
RG_API void rg_tensor_zero_grad(rg_tensor *t);

RG_API rg_tape *rg_tape_new(void);
/* Frees the recorded operations and everything they saved. */
RG_API void rg_tape_free(rg_tape *tape);
/* Number of operations recorded. */
RG_API int rg_tape_size(const rg_tape *tape);
/* Operations on @ctx are recorded into @tape (NULL: recording stops). The
 * context keeps no reference; the tape must outlive its attachment. */
RG_API void rg_ctx_set_tape(rg_ctx *ctx, rg_tape *tape);
RG_API rg_tape *rg_ctx_get_tape(rg_ctx *ctx);
/* Back-propagates from a scalar (one element) @loss with cotangent 1. */
RG_API gboolean rg_tape_backward(rg_ctx *ctx, rg_tape *tape, rg_tensor *loss, GError **error);
/* Back-propagates the given cotangents (each shaped like its output). */
RG_API gboolean rg_tape_backward_with(rg_ctx *ctx, rg_tape *tape, int n, rg_tensor *const *outputs,
                                      rg_tensor *const *cotangents, GError **error);

/* A checkpointed segment: a function of @inputs that makes @n_outputs new
 * tensors with operations on @ctx. */
typedef gboolean (*rg_segment_fn)(rg_ctx *ctx, rg_tensor *const *inputs, int n_inputs,
                                  rg_tensor **outputs, int n_outputs, gpointer user_data,
                                  GError **error);
/* Runs @fn without recording what happens inside; records one operation that
 * keeps only @inputs and, during backward, runs @fn again on them to
 * back-propagate through it. Leaves used inside @fn receive their gradients
 * then. @fn must be deterministic. @outputs receive new references. */
RG_API gboolean rg_checkpoint(rg_ctx *ctx, rg_segment_fn fn, gpointer user_data,
                              rg_tensor *const *inputs, int n_inputs, rg_tensor **outputs,
                              int n_outputs, GError **error);

/* ---- operations ---------------------------------------------------------
 * Layouts: images NCHW, token sequences (B, T, C), weights as in PyTorch.
 * Every operation has a backward with respect to each of its tensor inputs. */

/* Shape and copies. Views share storage where the layout allows. */
RG_API rg_tensor *rg_reshape(rg_ctx *ctx, rg_tensor *x, int ndim, const int64_t *shape, GError **error);
RG_API rg_tensor *rg_contiguous(rg_ctx *ctx, rg_tensor *x, GError **error);
/* Swaps to the order @perm (out dim i is in dim perm[i]); a contiguous copy. */
RG_API rg_tensor *rg_permute(rg_ctx *ctx, rg_tensor *x, const int *perm, GError **error);
/* Elements [start, start+length) along @dim; a view. */
RG_API rg_tensor *rg_slice(rg_ctx *ctx, rg_tensor *x, int dim, int64_t start, int64_t length, GError **error);
/* @n equal parts along @dim, stored in @parts (new references). */
RG_API gboolean rg_split(rg_ctx *ctx, rg_tensor *x, int dim, int n, rg_tensor **parts, GError **error);
RG_API rg_tensor *rg_concat(rg_ctx *ctx, rg_tensor *const *xs, int n, int dim, GError **error);

/* Element-wise with NumPy broadcasting. */
RG_API rg_tensor *rg_add(rg_ctx *ctx, rg_tensor *a, rg_tensor *b, GError **error);
RG_API rg_tensor *rg_sub(rg_ctx *ctx, rg_tensor *a, rg_tensor *b, GError **error);
RG_API rg_tensor *rg_mul(rg_ctx *ctx, rg_tensor *a, rg_tensor *b, GError **error);
/* x * scale + shift */
RG_API rg_tensor *rg_scale(rg_ctx *ctx, rg_tensor *x, float scale, float shift, GError **error);

/* Reductions: over all elements (a 1-element tensor of shape (1)), or along
 * one dimension (kept with size 1). */
RG_API rg_tensor *rg_sum(rg_ctx *ctx, rg_tensor *x, GError **error);
RG_API rg_tensor *rg_mean(rg_ctx *ctx, rg_tensor *x, GError **error);
RG_API rg_tensor *rg_sum_dim(rg_ctx *ctx, rg_tensor *x, int dim, GError **error);
RG_API rg_tensor *rg_mean_dim(rg_ctx *ctx, rg_tensor *x, int dim, GError **error);

/* Activations. GELU is the exact erf form; QuickGELU is x*sigmoid(1.702x). */
RG_API rg_tensor *rg_silu(rg_ctx *ctx, rg_tensor *x, GError **error);
RG_API rg_tensor *rg_gelu(rg_ctx *ctx, rg_tensor *x, GError **error);
RG_API rg_tensor *rg_quick_gelu(rg_ctx *ctx, rg_tensor *x, GError **error);
RG_API rg_tensor *rg_relu(rg_ctx *ctx, rg_tensor *x, GError **error);
RG_API rg_tensor *rg_tanh(rg_ctx *ctx, rg_tensor *x, GError **error);
RG_API rg_tensor *rg_exp(rg_ctx *ctx, rg_tensor *x, GError **error);
/* (..., 2D) -> (..., D): first half * gelu(second half), as diffusers' GEGLU. */
RG_API rg_tensor *rg_geglu(rg_ctx *ctx, rg_tensor *x, GError **error);
/* Softmax along the last dimension. */
RG_API rg_tensor *rg_softmax(rg_ctx *ctx, rg_tensor *x, GError **error);

/* Linear algebra. */
/* (..., K) x weight (N, K) + bias (N) -> (..., N); @bias may be NULL. */
RG_API rg_tensor *rg_linear(rg_ctx *ctx, rg_tensor *x, rg_tensor *weight, rg_tensor *bias, GError **error);
/* (B, M, K) x (B, K, N) -> (B, M, N); either operand may be transposed
 * (then given as (B, K, M) or (B, N, K)). 2-D operands are batch 1. */
RG_API rg_tensor *rg_matmul(rg_ctx *ctx, rg_tensor *a, rg_tensor *b, gboolean transpose_a,
                            gboolean transpose_b, GError **error);
/* (N, Cin, H, W) * weight (Cout, Cin, KH, KW) + bias (Cout); kernels 1x1 and
 * 3x3, any stride and zero padding; @bias may be NULL. */
RG_API rg_tensor *rg_conv2d(rg_ctx *ctx, rg_tensor *x, rg_tensor *weight, rg_tensor *bias, int stride,
                            int padding, GError **error);

/* Normalisation. */
/* (N, C, ...) in @groups groups; weight, bias (C) or NULL. */
RG_API rg_tensor *rg_group_norm(rg_ctx *ctx, rg_tensor *x, int groups, rg_tensor *weight, rg_tensor *bias,
                                float eps, GError **error);
/* Over the last dimension (C); weight, bias (C) or NULL. */
RG_API rg_tensor *rg_layer_norm(rg_ctx *ctx, rg_tensor *x, rg_tensor *weight, rg_tensor *bias, float eps,
                                GError **error);

/* Multi-head scaled-dot-product attention without a mask. q (B, Tq, H*D),
 * k and v (B, Tk, H*D) -> (B, Tq, H*D), heads interleaved as diffusers'
 * head_to_batch_dim. Softmax(q k^T * scale) v with scale = 1/sqrt(D) when
 * @scale <= 0. The Tq x Tk matrix is never stored whole; backward recomputes
 * it in blocks. */
RG_API rg_tensor *rg_attention(rg_ctx *ctx, rg_tensor *q, rg_tensor *k, rg_tensor *v, int heads, float scale,
                               GError **error);
/* rg_attention with a causal mask, as CLIP's text encoder: query i attends to
 * keys 0..i only. Needs Tq == Tk (else RG_ERROR_SHAPE). */
RG_API rg_tensor *rg_attention_causal(rg_ctx *ctx, rg_tensor *q, rg_tensor *k, rg_tensor *v, int heads,
                                      float scale, GError **error);

/* Resampling of (N, C, H, W). */
RG_API rg_tensor *rg_upsample_nearest2x(rg_ctx *ctx, rg_tensor *x, GError **error);
/* Bilinear, align_corners=False, no antialiasing (PyTorch's F.interpolate). */
RG_API rg_tensor *rg_resize_bilinear(rg_ctx *ctx, rg_tensor *x, int64_t out_h, int64_t out_w, GError **error);

/* Cosine similarity across channels per pixel: (N, C, ...) x2 -> (N, ...),
 * a.b / (max(|a|, eps) max(|b|, eps)), as torch 1.13's F.cosine_similarity
 * (the clamp carries no gradient). */
RG_API rg_tensor *rg_cosine_similarity(rg_ctx *ctx, rg_tensor *a, rg_tensor *b, float eps, GError **error);
/* x (N, C, L) at index (N, P) of I64 positions in [0, L) -> (N, C, P). */
RG_API rg_tensor *rg_gather(rg_ctx *ctx, rg_tensor *x, rg_tensor *index, GError **error);
/* Sinusoidal embedding of timesteps t (B) -> (B, dim), as diffusers'
 * get_timestep_embedding(t, dim, flip_sin_to_cos, downscale_freq_shift,
 * scale=1, max_period=10000). */
RG_API rg_tensor *rg_timestep_embedding(rg_ctx *ctx, rg_tensor *t, int dim, gboolean flip_sin_to_cos,
                                        float downscale_freq_shift, GError **error);

/* ---- safetensors ------------------------------------------------------- */

typedef struct rg_safetensors rg_safetensors;

/* Memory-maps and validates a .safetensors file (header, dtypes, offsets).
 * Errors: RG_ERROR_IO, RG_ERROR_FORMAT (naming the file and the entry). */
RG_API rg_safetensors *rg_safetensors_open(const char *path, GError **error);
RG_API void rg_safetensors_free(rg_safetensors *st);
RG_API int rg_safetensors_count(const rg_safetensors *st);
/* (transfer none) The name of entry @i, in file order. */
RG_API const char *rg_safetensors_name(const rg_safetensors *st, int i);
RG_API gboolean rg_safetensors_contains(const rg_safetensors *st, const char *name);
/* (transfer none) A __metadata__ value, or NULL. */
RG_API const char *rg_safetensors_metadata(const rg_safetensors *st, const char *key);
/* Dtype as stored and shape of an entry; FALSE if there is no such entry. */
RG_API gboolean rg_safetensors_info(const rg_safetensors *st, const char *name, rg_dtype *dtype, int *ndim,
                                    int64_t *shape);
/* A new tensor with a copy of entry @name: floats as F32, integers as I64.
 * Errors: RG_ERROR_FORMAT (no such tensor, unsupported dtype). */
RG_API rg_tensor *rg_safetensors_load(const rg_safetensors *st, const char *name, GError **error);
/* Writes tensors (F32 or I64, any strides) with optional string metadata
 * (key, value, key, value, ..., NULL). */
RG_API gboolean rg_safetensors_save(const char *path, int n, const char *const *names,
                                    rg_tensor *const *tensors, const char *const *metadata, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_tensor, rg_tensor_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_ctx, rg_ctx_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_tape, rg_tape_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_backend, rg_backend_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rg_safetensors, rg_safetensors_free)

G_END_DECLS
