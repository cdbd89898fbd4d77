/* inspect.c — `readout inspect PATH`: says what a model file or folder is
 * (layout, model type and whether Readout runs it, components with tensor
 * and parameter counts, dtypes and files, what is ignored), or why it is not
 * a usable model. Reads headers only; exits 0 after a report, 1 when PATH is
 * no model, 2 on bad usage. */
#include "readout/data.h"
#include "readout/model.h"

int rg_cli_inspect(int argc, char **argv);

int rg_cli_inspect(int argc, char **argv)
{
    g_autoptr(GOptionContext) oc = g_option_context_new("[PATH] - say what a Stable Diffusion model file or folder is");
    g_option_context_set_description(oc, "PATH is a diffusers folder (model_index.json, unet/, vae/, text_encoder/, "
                                         "tokenizer/) or a single .safetensors checkpoint with the original LDM "
                                         "names; \"demo\" or none: the shipped demo model. Only the headers are read.");
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(oc, &argc, &argv, &error)) {
        g_printerr("readout inspect: %s\n", error->message);
        return 2;
    }
    if (argc > 2) {
        g_printerr("Usage: readout inspect [PATH]\n");
        return 2;
    }
    g_autofree char *path = rg_resolve_model_path(argc == 2 ? argv[1] : NULL, &error);
    g_autoptr(rg_model) m = path ? rg_model_open(path, &error) : NULL;
    if (!m) {
        g_printerr("readout inspect: %s\n", error->message);
        return 1;
    }
    g_autofree char *report = rg_model_describe(m);
    g_print("%s", report);
    return 0;
}
