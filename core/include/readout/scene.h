/* scene.h — the demo world: procedural 64x64 scenes with exact supervision
 * (readout issue 5).
 *
 * A scene is a description (background + 1..3 objects) that renders to an
 * RGB image, an object label map and per-object key points. The same seed
 * gives the same scene and the same pixels on every machine (integer RNG,
 * no libm differences in what decides a pixel beyond correctly rounded
 * +, *, sqrt). Training variants are made by editing the description:
 * moving / rotating / scaling objects (exact point tracks between the two
 * renders), recolouring (same layout, other colours and textures),
 * re-laying out (same objects elsewhere).
 *
 * Coordinates are pixels, x to the right, y down; pixel (i, j) covers
 * [i, i + 1) x [j, j + 1), so its centre is (i + 0.5, j + 0.5). Each pixel
 * averages 4x4 samples; the label map gives it the layer (background or
 * object) covering most of them. A generated scene keeps every object inside
 * the image (a pixel from the border), at least 75% of each object's area
 * visible, and the pixel of each key point labelled with its object.
 * Implementation: core/demo/ (fixed-point geometry in scene_render.c).
 */
#pragma once

#include "readout/image.h"

G_BEGIN_DECLS

#define RG_SCENE_SIZE 64
#define RG_SCENE_MAX_OBJECTS 3

typedef enum {
    RG_SHAPE_ELLIPSE,
    RG_SHAPE_BOX,
    RG_SHAPE_STAR,
    RG_SHAPE_CREATURE, /* a body with a head and two eyes; key points "head", "eye_left", "eye_right" */
    RG_SHAPE_COUNT,
} rg_shape;

typedef enum {
    RG_TEXTURE_PLAIN,
    RG_TEXTURE_STRIPED,
    RG_TEXTURE_DOTTED,
    RG_TEXTURE_CHECKERED,
    RG_TEXTURE_COUNT,
} rg_texture;

typedef struct {
    rg_shape shape;
    int color;          /* index into the palette (rg_scene_color_name / rg_scene_color_rgb) */
    int color2;         /* the texture's second colour */
    rg_texture texture;
    float cx, cy;       /* centre, pixels (x right, y down) */
    float rx, ry;       /* half extents before rotation, pixels */
    float angle;        /* rotation, radians */
} rg_scene_object;

typedef struct {
    guint64 seed;
    int bg_color[2];    /* the gradient's two palette colours */
    float bg_angle;     /* gradient direction, radians */
    guint64 bg_texture_seed; /* low-frequency texture of the background */
    int n_objects;      /* 1..3, painted in order (later ones on top) */
    rg_scene_object objects[RG_SCENE_MAX_OBJECTS];
} rg_scene;

/* The palette: rg_scene_n_colors() named colours (12: red, orange, yellow,
 * green, cyan, blue, purple, pink, brown, white, gray, black). A bad index
 * is named "unknown" and drawn as colour 0. */
RG_API int rg_scene_n_colors(void);
RG_API const char *rg_scene_color_name(int color);
RG_API void rg_scene_color_rgb(int color, guint8 rgb[3]);

/* The scene of @seed: two different background colours, 1..3 objects of
 * distinct colours that stand out from the background, half extents 6..16
 * pixels, angles from a table of 32. */
RG_API void rg_scene_generate(rg_scene *s, guint64 seed);
/* RGB image (RG_SCENE_SIZE square); @labels (may be NULL): a 1-channel
 * image with 0 for the background and k+1 where object k is visible.
 * Errors: RG_ERROR_ARGUMENT (n_objects outside 0..3, a colour, shape or
 * texture out of range). Other odd values (NaN, huge sizes) are clamped. */
RG_API rg_image *rg_scene_render(const rg_scene *s, rg_image **labels, GError **error);
/* "a striped red star and a blue creature on a green and yellow background"
 * (objects in painting order, "an" before "orange"; only words of
 * rg_scene_vocabulary()). (transfer full) */
RG_API char *rg_scene_caption(const rg_scene *s);
/* The metadata JSON of issue 5: {"seed", "width", "height", "caption",
 * "objects": [{"type", "color": [r,g,b], "center", "bbox": [x0,y0,x1,y1], "keypoints": {...}}]}.
 * Also: "background": {"colors", "color_names", "angle"} and per object
 * "color_name", "texture", "color2", "label" (its value in the label map),
 * "size" ([rx, ry]) and "angle" (radians). Centres and key points are the
 * rendered geometry's (multiples of 1/256 pixel). (transfer full) */
RG_API char *rg_scene_metadata_json(const rg_scene *s);
/* Bounding box [x0, y0, x1, y1] (whole pixels, end exclusive, clipped to the
 * image; it holds every pixel any part of the object touches) and key points
 * of object @k: "center" for every shape, plus the creature's "head",
 * "eye_left", "eye_right" (the eye at -v in the object's frame, which is
 * above the body when the angle is 0); the star's "tip" (60% of the way out
 * on its first arm, which points along the angle). A bad @k gives zeros. */
#define RG_SCENE_MAX_KEYPOINTS 4 /* the most key points of one object (the creature's) */
RG_API void rg_scene_object_bbox(const rg_scene *s, int k, float bbox[4]);
/* Writes at most @max key points (names: static strings) and returns how many
 * it wrote; 0 for a bad @k. */
RG_API int rg_scene_object_keypoints(const rg_scene *s, int k, const char **names, float (*xy)[2], int max);

/* Variants. Each keeps the seed's background unless said. The variants' draws
 * depend on their @seed and on the scene's own seed. */
/* Object k moved by (dx, dy), rotated by dangle, scaled by @scale about its
 * centre; no checks (it may leave the image or hide others). A bad @k does nothing. */
RG_API void rg_scene_transform_object(rg_scene *s, int k, float dx, float dy, float dangle, float scale);
/* The same layout with other colours and textures (drawn from @seed),
 * background included: every object changes colour, and so does the
 * background's pair of colours (at least one of the two). */
RG_API void rg_scene_recolor(rg_scene *s, guint64 seed);
/* The same objects (shapes, colours, textures, sizes) at other positions and
 * angles (drawn from @seed) under the generator's rules; the background
 * stays. If no such layout is found the scene is left as it was (not seen
 * in practice). */
RG_API void rg_scene_relayout(rg_scene *s, guint64 seed);
/* Where the point (x, y) of @a is in @b, when @b is @a with objects transformed:
 * the point's object k (by @a's labels at the pixel holding the point) mapped
 * exactly from a's pose of k to b's (local coordinates in units of the half
 * extents). FALSE for background points, points outside the image, and
 * points whose target pixel in @b is not labelled k (hidden, off the image,
 * or an edge pixel that b's label map gives to another layer); also when k's
 * shape differs between @a and @b. @a_labels / @b_labels are the label maps
 * of rg_scene_render(). */
RG_API gboolean rg_scene_track_point(const rg_scene *a, const rg_image *a_labels, const rg_scene *b,
                                     const rg_image *b_labels, float x, float y, float *bx, float *by);

/* The caption vocabulary: every word rg_scene_caption() can use, NULL-terminated. (transfer none) */
RG_API const char *const *rg_scene_vocabulary(void);
/* Writes a CLIP-layout BPE tokenizer (vocab.json, merges.txt) into @dir
 * (created if missing) in which every vocabulary word is one token. The
 * shipped copy, data/demo/tokenizer/, is made by
 * `readout demo-scene --write-tokenizer data/demo/tokenizer`.
 * Errors: RG_ERROR_ARGUMENT (empty @dir), RG_ERROR_IO. */
RG_API gboolean rg_scene_write_tokenizer(const char *dir, GError **error);

G_END_DECLS
