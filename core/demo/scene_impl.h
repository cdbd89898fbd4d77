/* scene_impl.h — internals of the demo world shared by its sources
 * (scene.c: descriptions, variants, captions, metadata; scene_render.c:
 * fixed-point geometry and pixels; scene_tokenizer.c) and reachable from the
 * tests.
 *
 * Every decision about which object covers a sample is made in integers, so
 * that a seed gives the same pixels with any compiler, libm or FPU: positions
 * and lengths in Q8 (1/256 pixel), cosines and sines in Q16 from a
 * fixed-point series (rg_scene_sincos), texture and shape tests with 64-bit
 * products. Floats of an rg_scene only enter through exact conversions
 * (v * 256 rounded to the nearest integer).
 */
#pragma once

#include <stdint.h>

#include "readout/scene.h"

G_BEGIN_DECLS

/* Object layout in units of its half extents (permille of rx / ry), the
 * object facing +u (its angle's direction). The creature: an elliptic body
 * behind the centre, a round head in front, two eyes on the head (white rim,
 * dark pupil looking forward); eye_left is the one at -v (above the axis
 * when the angle is 0, y down). The star: five arms, the first along +u;
 * its "tip" key point sits 60% of the way out on that arm, where the arm is
 * still a few pixels wide (so the key point's pixel belongs to the star). */
#define RG_SCENE_BODY_U (-250)
#define RG_SCENE_BODY_A 750
#define RG_SCENE_BODY_B 850
#define RG_SCENE_HEAD_U 620
#define RG_SCENE_HEAD_A 380
#define RG_SCENE_HEAD_B 600
#define RG_SCENE_EYE_U 720
#define RG_SCENE_EYE_V 300
#define RG_SCENE_EYE_RIM 240   /* permille of ry */
#define RG_SCENE_EYE_PUPIL 125 /* permille of ry */
#define RG_SCENE_STAR_INNER 430
#define RG_SCENE_STAR_TIP 600

/* An object ready for sampling: fixed-point copies of its parameters. */
typedef struct {
    rg_shape shape;
    rg_texture texture;
    int64_t cx, cy; /* Q8, clamped to [-256, 320] pixels */
    int64_t rx, ry; /* Q8, clamped to [0.25, 128] pixels */
    int64_t c, s;   /* cos, sin of the angle, Q16 */
    int64_t period; /* texture period, Q8: a quarter of rx + ry */
    guint8 rgb[3], rgb2[3];
    int64_t star[10][2]; /* the star's outline in local coordinates, Q8 */
} rg_scene_prep;

/* cos and sin of @angle (radians; non-finite or beyond 1e12 counts as 0) in
 * Q16, the same integers on every machine. */
void rg_scene_sincos(float angle, int64_t *c, int64_t *s);
void rg_scene_prepare(const rg_scene_object *o, rg_scene_prep *p);
/* Whether @p covers the sample (x, y) (Q8 image coordinates); its colour
 * there in @rgb when not NULL. */
gboolean rg_scene_prep_sample(const rg_scene_prep *p, int64_t x, int64_t y, guint8 rgb[3]);
/* Offsets (Q8) from the centre that hold every sample @p covers:
 * ext = {min x, min y, max x, max y}. */
void rg_scene_prep_extents(const rg_scene_prep *p, int64_t ext[4]);
/* The point at local (@u_pm, @v_pm) permille of (rx, ry), in Q8 image coordinates. */
void rg_scene_prep_point(const rg_scene_prep *p, int u_pm, int v_pm, int64_t *x, int64_t *y);
/* The label of pixel (x, y) with objects @p[0..n-1] painted in order: the
 * layer (0 background, k + 1 object k) that covers most of its 4x4 samples,
 * ties to the upper layer. */
int rg_scene_pixel_label(const rg_scene_prep *p, int n, int x, int y);

/* The key points of object @k in local permille coordinates; returns the count. */
int rg_scene_keypoints_local(rg_shape shape, const char **names, int (*uv)[2], int max);

/* splitmix64: the generator's integer random numbers. */
static inline guint64 rg_scene_mix(guint64 *state)
{
    guint64 z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

G_END_DECLS
