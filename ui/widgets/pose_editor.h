/* pose_editor.h — draws an RgPose over a picture and lets the user drag its
 * joints (a right-click hides / shows a joint). Signals: "changed". */
#pragma once

#include <gtk/gtk.h>

#include "pose.h"

G_BEGIN_DECLS

#define RG_TYPE_POSE_EDITOR (rg_pose_editor_get_type())
G_DECLARE_FINAL_TYPE(RgPoseEditor, rg_pose_editor, RG, POSE_EDITOR, GtkDrawingArea)

GtkWidget *rg_pose_editor_new(void);
/* The picture under the skeleton (dimmed), which also sets the pose's
 * coordinate frame; a default pose is made for its size until one is set. */
void rg_pose_editor_set_background(RgPoseEditor *e, const rg_image *img);
void rg_pose_editor_set_pose(RgPoseEditor *e, const RgPose *pose);
void rg_pose_editor_get_pose(RgPoseEditor *e, RgPose *pose);
/* Reads the joints from a pose-map layer (rg_pose_from_map), scaled to the background's size. */
gboolean rg_pose_editor_load_map(RgPoseEditor *e, const rg_image *map, GError **error);
/* The pose map at the background's size. (transfer full) */
rg_image *rg_pose_editor_render_map(RgPoseEditor *e, GError **error);
void rg_pose_editor_image_to_widget(RgPoseEditor *e, double ix, double iy, double *wx, double *wy);

G_END_DECLS
