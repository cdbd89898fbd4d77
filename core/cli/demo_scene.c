/* demo_scene.c — `readout demo-scene`: one scene of the demo world (issue 5)
 * as a 64x64 PNG, with its metadata JSON and label map, and the caption on
 * standard output; `--write-tokenizer DIR` writes the captions' tokenizer
 * (vocab.json, merges.txt; the copy in data/demo/tokenizer/ comes from
 * `readout demo-scene --write-tokenizer data/demo/tokenizer`). */
#include <glib/gstdio.h>
#include <stdio.h>

#include "readout/scene.h"

int rg_cli_demo_scene(int argc, char **argv);

/* Fails unless the folder of @path exists. */
static gboolean check_folder(const char *flag, const char *path, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s %s: the folder %s does not exist", flag, path, dir);
        return FALSE;
    }
    return TRUE;
}

static gboolean write_outputs(const rg_scene *s, const char *out, const char *meta, const char *labels_path,
                              GPtrArray *written, GError **error)
{
    if (!check_folder("--out", out, error) || (meta && !check_folder("--meta", meta, error)) ||
        (labels_path && !check_folder("--labels", labels_path, error)))
        return FALSE;
    g_autoptr(rg_image) labels = NULL;
    g_autoptr(rg_image) img = rg_scene_render(s, labels_path ? &labels : NULL, error);
    if (!img || !rg_image_save_png(img, out, error))
        return FALSE;
    g_ptr_array_add(written, (gpointer)out);
    if (labels_path) {
        if (!rg_image_save_png(labels, labels_path, error))
            return FALSE;
        g_ptr_array_add(written, (gpointer)labels_path);
    }
    if (meta) {
        g_autofree char *json = rg_scene_metadata_json(s);
        g_autoptr(GString) text = g_string_new(json);
        g_string_append_c(text, '\n');
        GError *ferr = NULL;
        if (!g_file_set_contents(meta, text->str, (gssize)text->len, &ferr)) {
            g_set_error(error, RG_ERROR, RG_ERROR_IO, "cannot write %s: %s", meta, ferr->message);
            g_error_free(ferr);
            return FALSE;
        }
    }
    return TRUE;
}

int rg_cli_demo_scene(int argc, char **argv)
{
    g_autofree char *seed_text = NULL, *out = NULL, *meta = NULL, *labels = NULL, *tokenizer = NULL;
    GOptionEntry entries[] = {
        {"seed", 's', 0, G_OPTION_ARG_STRING, &seed_text, "The scene's seed, 0 to 2^64 - 1 (default 0)", "S"},
        {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The 64x64 RGB picture (PNG; required)", "FILE"},
        {"meta", 'm', 0, G_OPTION_ARG_FILENAME, &meta,
         "Metadata JSON: seed, size, caption, and each object's type, colour, centre, box and key points", "FILE"},
        {"labels", 'l', 0, G_OPTION_ARG_FILENAME, &labels,
         "Label map (grey PNG): 0 for the background, k for the k-th object where it is visible", "FILE"},
        {"write-tokenizer", 0, 0, G_OPTION_ARG_FILENAME, &tokenizer,
         "Write the captions' tokenizer (vocab.json, merges.txt) into DIR instead", "DIR"},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) oc = g_option_context_new("- draw a scene of the demo world");
    g_option_context_set_summary(oc, "A 64x64 scene (a background gradient and one to three objects: ellipses,\n"
                                     "boxes, stars and creatures) made from its seed, the same on every machine.\n"
                                     "Its caption is printed.");
    g_option_context_add_main_entries(oc, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(oc, &argc, &argv, &error)) {
        g_printerr("readout demo-scene: %s\n", error->message);
        return 2;
    }
    if (argc > 1) {
        g_printerr("readout demo-scene: unexpected argument \"%s\"\n", argv[1]);
        return 2;
    }
    if (tokenizer) {
        if (!rg_scene_write_tokenizer(tokenizer, &error)) {
            g_printerr("readout demo-scene: %s\n", error->message);
            return 1;
        }
        g_print("wrote %s/vocab.json and %s/merges.txt\n", tokenizer, tokenizer);
        if (!out)
            return 0;
    }
    if (!out) {
        g_printerr("readout demo-scene: --out FILE is required\n"
                   "Usage: readout demo-scene [--seed S] --out FILE.png [--meta FILE.json] [--labels FILE.png]\n");
        return 2;
    }
    guint64 seed = 0;
    if (seed_text && !g_ascii_string_to_unsigned(seed_text, 10, 0, G_MAXUINT64, &seed, NULL)) {
        g_printerr("readout demo-scene: --seed %s is not a whole number from 0 to 2^64 - 1\n", seed_text);
        return 2;
    }
    rg_scene s;
    rg_scene_generate(&s, seed);
    g_autoptr(GPtrArray) written = g_ptr_array_new();
    if (!write_outputs(&s, out, meta, labels, written, &error)) {
        /* A failed run leaves none of its files behind. */
        for (guint i = 0; i < written->len; i++)
            g_unlink(written->pdata[i]);
        g_printerr("readout demo-scene: %s\n", error->message);
        return 1;
    }
    g_autofree char *caption = rg_scene_caption(&s);
    g_print("%s\n", caption);
    return 0;
}
