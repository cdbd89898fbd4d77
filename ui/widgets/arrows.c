/* arrows.c — the arrow list and its snapshot history (see arrows.h). */
#include "arrows.h"

#include <math.h>
#include <string.h>

/* Older steps are dropped beyond this; a snapshot is a few hundred bytes. */
#define HISTORY_MAX 200

struct RgArrows {
    GArray *xy;      /* floats, 4 per arrow */
    GArray *pending; /* the snapshot taken at begin, or NULL outside an edit */
    GPtrArray *undo; /* GArray snapshots, the most recent last */
    GPtrArray *redo;
};

static GArray *snapshot(const GArray *xy)
{
    GArray *copy = g_array_sized_new(FALSE, FALSE, sizeof(float), xy->len);
    g_array_append_vals(copy, xy->data, xy->len);
    return copy;
}

static gboolean same(const GArray *a, const GArray *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len * sizeof(float)) == 0;
}

RgArrows *rg_arrows_new(void)
{
    RgArrows *a = g_new0(RgArrows, 1);
    a->xy = g_array_new(FALSE, FALSE, sizeof(float));
    a->undo = g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
    a->redo = g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
    return a;
}

void rg_arrows_free(RgArrows *a)
{
    if (!a)
        return;
    g_array_unref(a->xy);
    if (a->pending)
        g_array_unref(a->pending);
    g_ptr_array_unref(a->undo);
    g_ptr_array_unref(a->redo);
    g_free(a);
}

int rg_arrows_get_n(const RgArrows *a)
{
    return (int)(a->xy->len / 4);
}

const float *rg_arrows_get_data(const RgArrows *a)
{
    return (const float *)a->xy->data;
}

void rg_arrows_get(const RgArrows *a, int i, float xy[4])
{
    g_return_if_fail(i >= 0 && i < rg_arrows_get_n(a));
    memcpy(xy, &g_array_index(a->xy, float, 4 * i), 4 * sizeof(float));
}

void rg_arrows_begin(RgArrows *a)
{
    g_return_if_fail(a->pending == NULL);
    a->pending = snapshot(a->xy);
}

gboolean rg_arrows_commit(RgArrows *a)
{
    g_return_val_if_fail(a->pending != NULL, FALSE);
    GArray *before = a->pending;
    a->pending = NULL;
    if (same(before, a->xy)) {
        g_array_unref(before);
        return FALSE;
    }
    g_ptr_array_add(a->undo, before);
    if (a->undo->len > HISTORY_MAX)
        g_ptr_array_remove_index(a->undo, 0);
    g_ptr_array_set_size(a->redo, 0);
    return TRUE;
}

void rg_arrows_cancel(RgArrows *a)
{
    g_return_if_fail(a->pending != NULL);
    g_array_unref(a->xy);
    a->xy = a->pending;
    a->pending = NULL;
}

gboolean rg_arrows_in_edit(const RgArrows *a)
{
    return a->pending != NULL;
}

/* Changes made outside an edit open one around themselves. */
static gboolean open_own(RgArrows *a)
{
    if (a->pending)
        return FALSE;
    rg_arrows_begin(a);
    return TRUE;
}

int rg_arrows_add(RgArrows *a, float x0, float y0, float x1, float y1)
{
    gboolean own = open_own(a);
    const float xy[4] = {x0, y0, x1, y1};
    g_array_append_vals(a->xy, xy, 4);
    if (own)
        rg_arrows_commit(a);
    return rg_arrows_get_n(a) - 1;
}

void rg_arrows_move_end(RgArrows *a, int i, int end, float x, float y)
{
    g_return_if_fail(i >= 0 && i < rg_arrows_get_n(a) && (end == 0 || end == 1));
    gboolean own = open_own(a);
    g_array_index(a->xy, float, 4 * i + 2 * end) = x;
    g_array_index(a->xy, float, 4 * i + 2 * end + 1) = y;
    if (own)
        rg_arrows_commit(a);
}

void rg_arrows_remove(RgArrows *a, int i)
{
    g_return_if_fail(i >= 0 && i < rg_arrows_get_n(a));
    gboolean own = open_own(a);
    g_array_remove_range(a->xy, 4 * (guint)i, 4);
    if (own)
        rg_arrows_commit(a);
}

void rg_arrows_set(RgArrows *a, const float *xy, int n)
{
    g_return_if_fail(n >= 0 && (xy != NULL || n == 0));
    gboolean own = open_own(a);
    g_array_set_size(a->xy, 0);
    g_array_append_vals(a->xy, xy, 4 * (guint)n);
    if (own)
        rg_arrows_commit(a);
}

/* Moves the current list onto @to and takes the last snapshot of @from. */
static gboolean step(RgArrows *a, GPtrArray *from, GPtrArray *to)
{
    if (a->pending || from->len == 0)
        return FALSE;
    g_ptr_array_add(to, a->xy);
    a->xy = g_ptr_array_steal_index(from, from->len - 1);
    return TRUE;
}

gboolean rg_arrows_undo(RgArrows *a)
{
    return step(a, a->undo, a->redo);
}

gboolean rg_arrows_redo(RgArrows *a)
{
    return step(a, a->redo, a->undo);
}

gboolean rg_arrows_can_undo(const RgArrows *a)
{
    return !a->pending && a->undo->len > 0;
}

gboolean rg_arrows_can_redo(const RgArrows *a)
{
    return !a->pending && a->redo->len > 0;
}

void rg_arrows_reset(RgArrows *a)
{
    g_array_set_size(a->xy, 0);
    if (a->pending)
        g_clear_pointer(&a->pending, g_array_unref);
    g_ptr_array_set_size(a->undo, 0);
    g_ptr_array_set_size(a->redo, 0);
}

int rg_arrows_hit_end(const RgArrows *a, float x, float y, float radius, int *end)
{
    int best = -1, best_end = 0;
    float best_d2 = radius * radius;
    const float *xy = rg_arrows_get_data(a);
    for (int i = 0; i < rg_arrows_get_n(a); i++) {
        for (int e = 0; e < 2; e++) {
            float dx = xy[4 * i + 2 * e] - x, dy = xy[4 * i + 2 * e + 1] - y;
            float d2 = dx * dx + dy * dy;
            if (d2 <= best_d2) {
                best_d2 = d2;
                best = i;
                best_end = e;
            }
        }
    }
    if (end)
        *end = best_end;
    return best;
}

int rg_arrows_hit_line(const RgArrows *a, float x, float y, float radius)
{
    int best = -1;
    float best_d2 = radius * radius;
    const float *xy = rg_arrows_get_data(a);
    for (int i = 0; i < rg_arrows_get_n(a); i++) {
        float ax = xy[4 * i], ay = xy[4 * i + 1], bx = xy[4 * i + 2], by = xy[4 * i + 3];
        float vx = bx - ax, vy = by - ay, len2 = vx * vx + vy * vy;
        float t = len2 > 0.0f ? ((x - ax) * vx + (y - ay) * vy) / len2 : 0.0f;
        t = fminf(fmaxf(t, 0.0f), 1.0f);
        float dx = ax + t * vx - x, dy = ay + t * vy - y;
        float d2 = dx * dx + dy * dy;
        if (d2 <= best_d2) {
            best_d2 = d2;
            best = i;
        }
    }
    return best;
}
