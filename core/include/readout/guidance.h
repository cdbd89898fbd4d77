/* guidance.h — the Readout Guidance losses of the official code
 * (readout_guidance_spec.md §4.3), each differentiable with respect to the
 * edited sample's readout @obs; @gt (the reference sample's readout) is a
 * constant. Readouts are (1, C, H, W) on the latent grid (any N works: the
 * means then run over the batch too, as in torch).
 *
 * The operations on @gt and on the control run off the tape, so no gradient
 * flows into them even when they were computed on it (the official code
 * detaches them). Common errors: RG_ERROR_ARGUMENT (a map missing, a scalar
 * not finite), RG_ERROR_DTYPE (not F32), RG_ERROR_SHAPE (not 4-D, empty, or
 * the two maps of different shapes).
 */
#pragma once

#include "readout/readout.h"

G_BEGIN_DECLS

/* Spatial: obs and @control (1, C, H, W; the target in the head's
 * control_range [cmin, cmax]) remapped linearly from [cmin, cmax] to
 * [lmin, lmax] (the current latent batch's min and max), then the mean
 * squared difference: ((lmax-lmin)/(cmax-cmin))^2 mean((obs - control)^2).
 * Errors: RG_ERROR_ARGUMENT when cmin == cmax. (1) */
RG_API rg_tensor *rg_loss_spatial(rg_ctx *ctx, rg_tensor *obs, rg_tensor *control, float cmin, float cmax,
                                  float lmin, float lmax, GError **error);

/* A drag point pair in latent-grid coordinates (float; truncated to cells
 * as the official code does): source (where the content is in the
 * reference) and target (where it should go). */
typedef struct {
    float src_y, src_x, dst_y, dst_x;
} rg_point_pair;

/* Correspondence: with S(a, b) = (cos(gt[a], obs[b]) + 1) / 2 over channels,
 * loss = -1/2 mean_k S(src_k, dst_k) + 1/2 mean_k S(src_k, src_k) over the
 * pairs whose both cells lie in the grid (cells truncated toward zero, so
 * -0.5 is cell 0; NaN and infinities lie outside). Errors: RG_ERROR_ARGUMENT
 * when no pair lies in the grid or none is given. Only the needed pixels are
 * compared (no HW x HW matrix). The vectors' norms are clamped at 1e-12 (the
 * official code has no clamp) so that a zero vector gives no NaN. (1) */
RG_API rg_tensor *rg_loss_correspondence(rg_ctx *ctx, rg_tensor *gt, rg_tensor *obs, const rg_point_pair *pairs,
                                         int n_pairs, GError **error);

/* Appearance: (lmax - lmin)^2 * mean over pixels of (1 - cos(obs_px, gt_px))
 * (eps 1e-8). With boxes ([x0, y0, x1, y1] in grid cells, end exclusive, as
 * Python slices), each map is cropped to its box and resized back to H x W
 * (bilinear) first; @gt_box and @obs_box both NULL or both given. Unlike
 * Python slices, boxes must satisfy 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H
 * (else RG_ERROR_ARGUMENT). (1) */
RG_API rg_tensor *rg_loss_appearance(rg_ctx *ctx, rg_tensor *gt, rg_tensor *obs, const int *gt_box,
                                     const int *obs_box, float lmin, float lmax, GError **error);

G_END_DECLS
