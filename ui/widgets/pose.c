/* pose.c — the COCO-18 skeleton: tables, the default figure, rendering a
 * pose map the way ControlNet's draw_bodypose does, and reading one back.
 *
 * Drawing is done here pixel by pixel, without antialiasing (as OpenCV's
 * fillConvexPoly and circle draw by default), so that every joint keeps its
 * exact colour and rg_pose_from_map can find it again. Pixel (i, j) is the
 * sample at (i + 0.5, j + 0.5).
 */
#include "pose.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"

static const char *const joint_names[RG_POSE_N_JOINTS] = {
    N_("nose"),       N_("neck"),       N_("right shoulder"), N_("right elbow"), N_("right wrist"), N_("left shoulder"),
    N_("left elbow"), N_("left wrist"), N_("right hip"),      N_("right knee"),  N_("right ankle"), N_("left hip"),
    N_("left knee"),  N_("left ankle"), N_("right eye"),      N_("left eye"),    N_("right ear"),   N_("left ear"),
};

/* ControlNet's annotator/openpose/util.py: colors, and limbSeq made 0-based. */
static const guint8 colors[RG_POSE_N_JOINTS][3] = {
    {255, 0, 0}, {255, 85, 0}, {255, 170, 0}, {255, 255, 0}, {170, 255, 0}, {85, 255, 0},
    {0, 255, 0}, {0, 255, 85}, {0, 255, 170}, {0, 255, 255}, {0, 170, 255}, {0, 85, 255},
    {0, 0, 255}, {85, 0, 255}, {170, 0, 255}, {255, 0, 255}, {255, 0, 170}, {255, 0, 85},
};
static const int limbs[RG_POSE_N_LIMBS][2] = {
    {1, 2},  {1, 5},   {2, 3},   {3, 4}, {5, 6},  {6, 7},   {1, 8},  {8, 9},   {9, 10},
    {1, 11}, {11, 12}, {12, 13}, {1, 0}, {0, 14}, {14, 16}, {0, 15}, {15, 17},
};

/* The default figure, facing the viewer (so its right is on the left), in
 * units of its height: x from the centre line, y from the top of the head. */
static const float default_figure[RG_POSE_N_JOINTS][2] = {
    {0.0f, 0.10f},  {0.0f, 0.20f},  {-0.10f, 0.20f},  {-0.13f, 0.35f}, {-0.15f, 0.48f}, {0.10f, 0.20f},
    {0.13f, 0.35f}, {0.15f, 0.48f}, {-0.06f, 0.52f},  {-0.07f, 0.74f}, {-0.08f, 0.96f}, {0.06f, 0.52f},
    {0.07f, 0.74f}, {0.08f, 0.96f}, {-0.025f, 0.08f}, {0.025f, 0.08f}, {-0.05f, 0.09f}, {0.05f, 0.09f},
};

/* Channel distance up to which a pixel counts as a joint's colour: the
 * colours are 85 apart and limbs (0.6 x colour) at least 17 from any. */
#define COLOR_TOLERANCE 8
/* Fewer pixels than this are specks (resampling seams), not joints. */
#define MIN_BLOB 3

const char *rg_pose_joint_name(int joint)
{
    g_return_val_if_fail(joint >= 0 && joint < RG_POSE_N_JOINTS, NULL);
    return _(joint_names[joint]);
}

void rg_pose_joint_color(int joint, guint8 rgb[3])
{
    g_return_if_fail(joint >= 0 && joint < RG_POSE_N_JOINTS);
    memcpy(rgb, colors[joint], 3);
}

void rg_pose_limb(int limb, int *joint_a, int *joint_b, guint8 rgb[3])
{
    g_return_if_fail(limb >= 0 && limb < RG_POSE_N_LIMBS);
    if (joint_a)
        *joint_a = limbs[limb][0];
    if (joint_b)
        *joint_b = limbs[limb][1];
    if (rgb)
        memcpy(rgb, colors[limb], 3);
}

void rg_pose_init_default(RgPose *pose, int width, int height)
{
    g_return_if_fail(pose != NULL);
    // 80 % of the height, narrowed when the picture is too slim for the arms.
    float h = fminf(0.8f * (float)height, (float)width / 0.4f);
    float top = 0.5f * ((float)height - h);
    for (int j = 0; j < RG_POSE_N_JOINTS; j++) {
        pose->x[j] = 0.5f * (float)width + default_figure[j][0] * h;
        pose->y[j] = top + default_figure[j][1] * h;
        pose->visible[j] = TRUE;
    }
}

/* Sizes at 512 px (ControlNet's detection resolution) scale with the short side. */
static float size_scale(int width, int height)
{
    return (float)MIN(width, height) / 512.0f;
}

/* Sets every pixel whose centre lies in the ellipse centred at (cx, cy) with
 * half-axes @a along @angle and @b across it. */
static void fill_ellipse(rg_image *img, float cx, float cy, float a, float b, float angle, const guint8 rgb[3])
{
    float c = cosf(angle), s = sinf(angle), reach = fmaxf(a, b) + 1.0f;
    int x0 = MAX(0, (int)floorf(cx - reach)), x1 = MIN(img->width - 1, (int)ceilf(cx + reach));
    int y0 = MAX(0, (int)floorf(cy - reach)), y1 = MIN(img->height - 1, (int)ceilf(cy + reach));
    for (int y = y0; y <= y1; y++) {
        for (int x = x0; x <= x1; x++) {
            float dx = (float)x + 0.5f - cx, dy = (float)y + 0.5f - cy;
            float u = (dx * c + dy * s) / a, v = (-dx * s + dy * c) / b;
            if (u * u + v * v <= 1.0f)
                memcpy(img->data + ((size_t)y * (size_t)img->width + (size_t)x) * 3, rgb, 3);
        }
    }
}

rg_image *rg_pose_render(const RgPose *pose, int width, int height, GError **error)
{
    g_return_val_if_fail(pose != NULL, NULL);
    rg_image *img = rg_image_new(width, height, 3, error);
    if (!img)
        return NULL;
    float scale = size_scale(width, height);
    float stick = fmaxf(1.0f, 4.0f * scale), radius = fmaxf(2.0f, roundf(4.0f * scale));
    for (int l = 0; l < RG_POSE_N_LIMBS; l++) {
        int a = limbs[l][0], b = limbs[l][1];
        if (!pose->visible[a] || !pose->visible[b])
            continue;
        // draw_bodypose fills the limb with 0.6 x its colour over the canvas.
        guint8 rgb[3];
        for (int k = 0; k < 3; k++)
            rgb[k] = (guint8)(colors[l][k] * 3 / 5);
        float dx = pose->x[b] - pose->x[a], dy = pose->y[b] - pose->y[a];
        float half = 0.5f * sqrtf(dx * dx + dy * dy);
        fill_ellipse(img, 0.5f * (pose->x[a] + pose->x[b]), 0.5f * (pose->y[a] + pose->y[b]), fmaxf(half, stick), stick,
                     atan2f(dy, dx), rgb);
    }
    for (int j = 0; j < RG_POSE_N_JOINTS; j++) {
        if (pose->visible[j])
            fill_ellipse(img, pose->x[j], pose->y[j], radius, radius, 0.0f, colors[j]);
    }
    return img;
}

/* The joint whose colour @px has, or -1. */
static int classify(const guint8 *px)
{
    for (int j = 0; j < RG_POSE_N_JOINTS; j++) {
        if (abs(px[0] - colors[j][0]) <= COLOR_TOLERANCE && abs(px[1] - colors[j][1]) <= COLOR_TOLERANCE &&
            abs(px[2] - colors[j][2]) <= COLOR_TOLERANCE)
            return j;
    }
    return -1;
}

typedef struct {
    gsize count;
    double sx, sy;
} Blob;

/* Grows the 4-connected blob of class @cls from @seed, marking it in @seen. */
static Blob flood(const gint8 *cls, guint8 *seen, GArray *stack, int w, int h, int seed)
{
    Blob blob = {0, 0.0, 0.0};
    g_array_set_size(stack, 0);
    g_array_append_val(stack, seed);
    seen[seed] = 1;
    while (stack->len > 0) {
        int p = g_array_index(stack, int, stack->len - 1);
        g_array_set_size(stack, stack->len - 1);
        int x = p % w, y = p / w;
        blob.count++;
        blob.sx += x + 0.5;
        blob.sy += y + 0.5;
        const int nb[4] = {x > 0 ? p - 1 : -1, x < w - 1 ? p + 1 : -1, y > 0 ? p - w : -1, y < h - 1 ? p + w : -1};
        for (int k = 0; k < 4; k++) {
            if (nb[k] >= 0 && !seen[nb[k]] && cls[nb[k]] == cls[seed]) {
                seen[nb[k]] = 1;
                g_array_append_val(stack, nb[k]);
            }
        }
    }
    return blob;
}

gboolean rg_pose_from_map(RgPose *pose, const rg_image *map, GError **error)
{
    g_return_val_if_fail(pose != NULL && map != NULL, FALSE);
    g_autoptr(rg_image) rgb = rg_image_convert(map, 3, error);
    if (!rgb)
        return FALSE;
    int w = rgb->width, h = rgb->height;
    size_t n = (size_t)w * (size_t)h;
    g_autofree gint8 *cls = g_new(gint8, n);
    g_autofree guint8 *seen = g_new0(guint8, n);
    for (size_t i = 0; i < n; i++)
        cls[i] = (gint8)classify(rgb->data + 3 * i);

    Blob best[RG_POSE_N_JOINTS] = {{0, 0.0, 0.0}};
    g_autoptr(GArray) stack = g_array_new(FALSE, FALSE, sizeof(int));
    for (size_t i = 0; i < n; i++) {
        if (cls[i] < 0 || seen[i])
            continue;
        Blob blob = flood(cls, seen, stack, w, h, (int)i);
        if (blob.count > best[cls[i]].count)
            best[cls[i]] = blob;
    }

    // Joints that are not on the map keep a sensible place for the editor.
    RgPose found;
    rg_pose_init_default(&found, w, h);
    int n_found = 0;
    for (int j = 0; j < RG_POSE_N_JOINTS; j++) {
        found.visible[j] = best[j].count >= MIN_BLOB;
        if (found.visible[j]) {
            found.x[j] = (float)(best[j].sx / (double)best[j].count);
            found.y[j] = (float)(best[j].sy / (double)best[j].count);
            n_found++;
        }
    }
    if (n_found == 0) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, _("No pose joint found in the %dx%d map"), w, h);
        return FALSE;
    }
    *pose = found;
    return TRUE;
}
