/* arrows.h — the canvas's list of drag arrows (handle -> target) and its
 * undo / redo history. No GTK, so that it is tested without a display.
 *
 * Each arrow is four floats x0 y0 x1 y1 in image pixels: end 0 is the
 * handle, end 1 the target. History keeps whole snapshots (lists are short).
 * An edit is a begin / commit pair around any number of changes and records
 * one undo step when the list differs from the snapshot taken at begin; a
 * change made outside an edit is an edit of its own. Undo and redo are
 * refused while an edit is open.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct RgArrows RgArrows;

RgArrows *rg_arrows_new(void);
void rg_arrows_free(RgArrows *a); /* NULL is a no-op */

int rg_arrows_get_n(const RgArrows *a);
/* The 4 * n floats, valid until the next change. (transfer none) */
const float *rg_arrows_get_data(const RgArrows *a);
void rg_arrows_get(const RgArrows *a, int i, float xy[4]);

/* Changes. add returns the new arrow's index; end is 0 (handle) or 1 (target). */
int rg_arrows_add(RgArrows *a, float x0, float y0, float x1, float y1);
void rg_arrows_move_end(RgArrows *a, int i, int end, float x, float y);
void rg_arrows_remove(RgArrows *a, int i);
void rg_arrows_set(RgArrows *a, const float *xy, int n);

/* Edits: commit returns TRUE when it recorded an undo step; cancel restores
 * the list as it was at begin. */
void rg_arrows_begin(RgArrows *a);
gboolean rg_arrows_commit(RgArrows *a);
void rg_arrows_cancel(RgArrows *a);
gboolean rg_arrows_in_edit(const RgArrows *a);

gboolean rg_arrows_undo(RgArrows *a);
gboolean rg_arrows_redo(RgArrows *a);
gboolean rg_arrows_can_undo(const RgArrows *a);
gboolean rg_arrows_can_redo(const RgArrows *a);
/* Empties the list and forgets the history (a new picture, a new frame). */
void rg_arrows_reset(RgArrows *a);

/* The arrow whose end lies nearest (x, y) within @radius, or -1; @end gets
 * which end. Later arrows win ties, as they are drawn on top. */
int rg_arrows_hit_end(const RgArrows *a, float x, float y, float radius, int *end);
/* The arrow whose shaft passes within @radius of (x, y), or -1. */
int rg_arrows_hit_line(const RgArrows *a, float x, float y, float radius);

G_END_DECLS
