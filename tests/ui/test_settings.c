/* test_settings.c — the remembered settings: defaults, a round trip through
 * the file, and a broken file that falls back to the defaults. */
#include <glib/gstdio.h>

#include "settings.h"

static void test_defaults_and_round_trip(void)
{
    RgSettings s;
    rg_settings_load(&s);
    g_assert_cmpstr(s.model, ==, "");
    g_assert_cmpstr(s.device, ==, "cpu");
    g_assert_cmpint(s.preset, ==, RG_PRESET_FAST);
    g_assert_cmpint(s.seed, ==, -1);
    g_free(s.model);
    s.model = g_strdup("/models/sd15");
    g_free(s.prompt);
    s.prompt = g_strdup("a cat, «quoted»\nnew line");
    s.preset = RG_PRESET_OFFICIAL;
    s.steps = 37;
    s.guidance_weight = 0.04f;
    s.seed = 1234;
    g_autoptr(GError) error = NULL;
    g_assert_true(rg_settings_save(&s, &error));
    g_assert_no_error(error);
    rg_settings_clear(&s);

    RgSettings t;
    rg_settings_load(&t);
    g_assert_cmpstr(t.model, ==, "/models/sd15");
    g_assert_cmpstr(t.prompt, ==, "a cat, «quoted»\nnew line");
    g_assert_cmpint(t.preset, ==, RG_PRESET_OFFICIAL);
    g_assert_cmpint(t.steps, ==, 37);
    g_assert_cmpfloat_with_epsilon(t.guidance_weight, 0.04f, 1e-6);
    g_assert_cmpint(t.seed, ==, 1234);

    g_autoptr(RgRequest) r = rg_request_new(RG_JOB_DRAG);
    rg_settings_apply(&t, r);
    g_assert_cmpstr(r->model, ==, "/models/sd15");
    g_assert_cmpint(r->steps, ==, 37);
    g_assert_cmpuint(r->seed, ==, 1234);
    g_assert_null(r->prompt); // prompts stay the caller's
    rg_settings_clear(&t);
}

static void test_broken_file(void)
{
    g_autofree char *path = rg_settings_path();
    g_assert_true(g_file_set_contents(path, "[dialog\nsteps=x\n", -1, NULL));
    g_test_expect_message("Readout-ui", G_LOG_LEVEL_WARNING, "*unreadable*");
    RgSettings s;
    rg_settings_load(&s);
    g_test_assert_expected_messages();
    g_assert_cmpint(s.steps, ==, 0);
    g_assert_cmpstr(s.device, ==, "cpu");
    rg_settings_clear(&s);

    // values out of range fall back one by one
    g_assert_true(g_file_set_contents(path, "[dialog]\nsteps=-5\nguidance-end=7\ndevice=cuda\n", -1, NULL));
    rg_settings_load(&s);
    g_assert_cmpint(s.steps, ==, 0);
    g_assert_cmpfloat(s.guidance_end, ==, 0.0f);
    g_assert_cmpstr(s.device, ==, "cuda");
    rg_settings_clear(&s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_autofree char *dir = g_dir_make_tmp("readout-settings-XXXXXX", NULL);
    g_autofree char *nested = g_build_filename(dir, "config", NULL);
    g_setenv("READOUT_CONFIG_DIR", nested, TRUE); // the folder does not exist yet: save makes it
    g_test_add_func("/settings/defaults-and-round-trip", test_defaults_and_round_trip);
    g_test_add_func("/settings/broken-file", test_broken_file);
    const int rc = g_test_run();
    g_autofree char *file = g_build_filename(nested, "settings.ini", NULL);
    g_unlink(file);
    g_rmdir(nested);
    g_rmdir(dir);
    return rc;
}
