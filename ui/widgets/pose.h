/* pose.h — the 18-keypoint OpenPose (COCO) skeleton: joints, the standard
 * limb colours, rendering to a pose map and reading one back. No GTK.
 *
 * Joint order (COCO-18): 0 nose, 1 neck, 2 right shoulder, 3 right elbow,
 * 4 right wrist, 5 left shoulder, 6 left elbow, 7 left wrist, 8 right hip,
 * 9 right knee, 10 right ankle, 11 left hip, 12 left knee, 13 left ankle,
 * 14 right eye, 15 left eye, 16 right ear, 17 left ear. Rendering follows
 * ControlNet's draw_bodypose: black background, limbs as ellipses in the
 * 17 limb colours at 60 % opacity, joints as filled circles in the 18 joint
 * colours.
 */
#pragma once

#include <glib.h>

#include "readout/image.h"

G_BEGIN_DECLS

#define RG_POSE_N_JOINTS 18
#define RG_POSE_N_LIMBS 17

typedef struct {
    float x[RG_POSE_N_JOINTS], y[RG_POSE_N_JOINTS]; /* pixels */
    gboolean visible[RG_POSE_N_JOINTS];
} RgPose;

/* The joint names ("nose", "neck", "right shoulder", ...), the joint colours,
 * and the limbs as joint index pairs with their colours. */
const char *rg_pose_joint_name(int joint);
void rg_pose_joint_color(int joint, guint8 rgb[3]);
void rg_pose_limb(int limb, int *joint_a, int *joint_b, guint8 rgb[3]);

/* A standing figure filling @height's middle, centred in a @width x @height picture. */
void rg_pose_init_default(RgPose *pose, int width, int height);
/* The pose map (RGB) of @pose at @width x @height. (transfer full) */
rg_image *rg_pose_render(const RgPose *pose, int width, int height, GError **error);
/* Reads the joints of a rendered pose map back (each joint at the centre of
 * its colour's largest blob); joints not found are invisible. FALSE with
 * @error when none is found. */
gboolean rg_pose_from_map(RgPose *pose, const rg_image *map, GError **error);

G_END_DECLS
