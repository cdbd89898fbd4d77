/* test_arrows.c — the canvas's arrow list and its undo history (no display). */
#include "arrows.h"

static void assert_arrow(const RgArrows *a, int i, float x0, float y0, float x1, float y1)
{
    float xy[4];
    rg_arrows_get(a, i, xy);
    g_assert_cmpfloat(xy[0], ==, x0);
    g_assert_cmpfloat(xy[1], ==, y0);
    g_assert_cmpfloat(xy[2], ==, x1);
    g_assert_cmpfloat(xy[3], ==, y1);
}

static void test_add_move_remove(void)
{
    RgArrows *a = rg_arrows_new();
    g_assert_cmpint(rg_arrows_get_n(a), ==, 0);
    g_assert_false(rg_arrows_can_undo(a));
    g_assert_cmpint(rg_arrows_add(a, 1, 2, 3, 4), ==, 0);
    g_assert_cmpint(rg_arrows_add(a, 10, 20, 30, 40), ==, 1);
    g_assert_cmpint(rg_arrows_get_n(a), ==, 2);
    rg_arrows_move_end(a, 0, 1, 5, 6);
    rg_arrows_move_end(a, 1, 0, 11, 21);
    assert_arrow(a, 0, 1, 2, 5, 6);
    assert_arrow(a, 1, 11, 21, 30, 40);
    rg_arrows_remove(a, 0);
    g_assert_cmpint(rg_arrows_get_n(a), ==, 1);
    assert_arrow(a, 0, 11, 21, 30, 40);
    const float *xy = rg_arrows_get_data(a);
    g_assert_cmpfloat(xy[3], ==, 40);
    rg_arrows_free(a);
    rg_arrows_free(NULL);
}

static void test_undo_redo(void)
{
    RgArrows *a = rg_arrows_new();
    rg_arrows_add(a, 1, 2, 3, 4);
    rg_arrows_move_end(a, 0, 1, 7, 8);
    rg_arrows_remove(a, 0);
    g_assert_cmpint(rg_arrows_get_n(a), ==, 0);

    g_assert_true(rg_arrows_undo(a)); // the removal
    assert_arrow(a, 0, 1, 2, 7, 8);
    g_assert_true(rg_arrows_undo(a)); // the move
    assert_arrow(a, 0, 1, 2, 3, 4);
    g_assert_true(rg_arrows_undo(a)); // the add
    g_assert_cmpint(rg_arrows_get_n(a), ==, 0);
    g_assert_false(rg_arrows_undo(a));
    g_assert_false(rg_arrows_can_undo(a));
    g_assert_true(rg_arrows_can_redo(a));

    g_assert_true(rg_arrows_redo(a));
    g_assert_true(rg_arrows_redo(a));
    assert_arrow(a, 0, 1, 2, 7, 8);
    // A new change forgets the redo branch.
    rg_arrows_add(a, 0, 0, 1, 1);
    g_assert_false(rg_arrows_can_redo(a));
    g_assert_false(rg_arrows_redo(a));
    g_assert_cmpint(rg_arrows_get_n(a), ==, 2);
    rg_arrows_free(a);
}

static void test_edit_groups(void)
{
    RgArrows *a = rg_arrows_new();
    // A drag: many moves, one step.
    rg_arrows_begin(a);
    int i = rg_arrows_add(a, 5, 5, 5, 5);
    for (int k = 1; k <= 10; k++)
        rg_arrows_move_end(a, i, 1, 5 + k, 5 + 2 * k);
    g_assert_true(rg_arrows_in_edit(a));
    g_assert_false(rg_arrows_undo(a)); // refused while the edit is open
    g_assert_true(rg_arrows_commit(a));
    assert_arrow(a, 0, 5, 5, 15, 25);
    g_assert_true(rg_arrows_undo(a));
    g_assert_cmpint(rg_arrows_get_n(a), ==, 0);
    g_assert_true(rg_arrows_redo(a));

    // An edit that changes nothing records nothing.
    rg_arrows_begin(a);
    rg_arrows_move_end(a, 0, 0, 9, 9);
    rg_arrows_move_end(a, 0, 0, 5, 5);
    g_assert_false(rg_arrows_commit(a));
    g_assert_true(rg_arrows_undo(a));
    g_assert_cmpint(rg_arrows_get_n(a), ==, 0);
    g_assert_true(rg_arrows_redo(a));

    // Cancel puts everything back.
    rg_arrows_begin(a);
    rg_arrows_add(a, 1, 1, 2, 2);
    rg_arrows_remove(a, 0);
    rg_arrows_cancel(a);
    g_assert_false(rg_arrows_in_edit(a));
    g_assert_cmpint(rg_arrows_get_n(a), ==, 1);
    assert_arrow(a, 0, 5, 5, 15, 25);
    g_assert_false(rg_arrows_can_redo(a));
    rg_arrows_free(a);
}

static void test_set_undoable(void)
{
    RgArrows *a = rg_arrows_new();
    rg_arrows_add(a, 1, 1, 2, 2);
    const float xy[8] = {10, 11, 12, 13, 20, 21, 22, 23};
    rg_arrows_set(a, xy, 2);
    g_assert_cmpint(rg_arrows_get_n(a), ==, 2);
    assert_arrow(a, 1, 20, 21, 22, 23);
    g_assert_true(rg_arrows_undo(a));
    g_assert_cmpint(rg_arrows_get_n(a), ==, 1);
    assert_arrow(a, 0, 1, 1, 2, 2);
    g_assert_true(rg_arrows_redo(a));
    assert_arrow(a, 0, 10, 11, 12, 13);
    rg_arrows_set(a, NULL, 0);
    g_assert_cmpint(rg_arrows_get_n(a), ==, 0);
    g_assert_true(rg_arrows_undo(a));
    g_assert_cmpint(rg_arrows_get_n(a), ==, 2);

    rg_arrows_reset(a);
    g_assert_cmpint(rg_arrows_get_n(a), ==, 0);
    g_assert_false(rg_arrows_can_undo(a));
    g_assert_false(rg_arrows_can_redo(a));
    rg_arrows_free(a);
}

static void test_history_limit(void)
{
    RgArrows *a = rg_arrows_new();
    for (int k = 0; k < 500; k++)
        rg_arrows_add(a, (float)k, 0, 0, 0);
    int undone = 0;
    while (rg_arrows_undo(a))
        undone++;
    // Bounded, but deep enough for any session.
    g_assert_cmpint(undone, >=, 100);
    g_assert_cmpint(undone, <, 500);
    g_assert_cmpint(rg_arrows_get_n(a), ==, 500 - undone);
    rg_arrows_free(a);
}

static void test_hit(void)
{
    RgArrows *a = rg_arrows_new();
    rg_arrows_add(a, 10, 10, 50, 10);
    rg_arrows_add(a, 100, 100, 100, 150);
    int end = -1;
    g_assert_cmpint(rg_arrows_hit_end(a, 12, 11, 5, &end), ==, 0);
    g_assert_cmpint(end, ==, 0);
    g_assert_cmpint(rg_arrows_hit_end(a, 101, 148, 5, &end), ==, 1);
    g_assert_cmpint(end, ==, 1);
    g_assert_cmpint(rg_arrows_hit_end(a, 30, 10, 5, &end), ==, -1);
    g_assert_cmpint(rg_arrows_hit_line(a, 30, 12, 5), ==, 0);
    g_assert_cmpint(rg_arrows_hit_line(a, 30, 30, 5), ==, -1);
    g_assert_cmpint(rg_arrows_hit_line(a, 103, 125, 5), ==, 1);
    // Of two ends in reach, the nearer wins.
    rg_arrows_add(a, 14, 10, 60, 60);
    g_assert_cmpint(rg_arrows_hit_end(a, 13, 10, 5, &end), ==, 2);
    g_assert_cmpint(end, ==, 0);
    rg_arrows_free(a);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/arrows/add-move-remove", test_add_move_remove);
    g_test_add_func("/arrows/undo-redo", test_undo_redo);
    g_test_add_func("/arrows/edit-groups", test_edit_groups);
    g_test_add_func("/arrows/set-undoable", test_set_undoable);
    g_test_add_func("/arrows/history-limit", test_history_limit);
    g_test_add_func("/arrows/hit", test_hit);
    return g_test_run();
}
