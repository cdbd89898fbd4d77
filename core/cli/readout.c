/* readout.c — the `readout` command line tool.
 *
 * Subcommands:
 *   readout info       version, backends, CPU features, threads, BLAS
 *   readout inspect    what a model file or folder is (cli/inspect.c)
 *   readout tokenize   CLIP token ids of prompts (cli/tokenize.c)
 *   readout probe      run a model component on given tensors (cli/probe.c)
 *   readout drag, identity, pose, generate   the Readout Guidance jobs (cli/jobs.c)
 *   readout demo-scene a scene of the demo world (cli/demo_scene.c)
 *   readout train-diffusion   train the demo diffusion model (cli/train_diffusion.c)
 *   readout train-head        train a readout head with its official recipe (cli/train_head.c)
 * Each further subcommand lives in its own file under core/cli/.
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "readout/readout.h"

static int cmd_info(int argc, char **argv)
{
    int threads = 0;
    GOptionEntry entries[] = {
        { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Worker threads (default: one per core)", "N" },
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) oc = g_option_context_new("- print version, backends, CPU features and BLAS");
    g_option_context_add_main_entries(oc, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(oc, &argc, &argv, &error)) {
        g_printerr("readout info: %s\n", error->message);
        return 2;
    }
    if (threads > 0)
        rg_set_num_threads(threads);

    g_print("Readout %s\n", rg_version());
    g_autoptr(GString) compiled = g_string_new(NULL);
    for (const char *const *n = rg_backend_compiled_names(); *n; n++)
        g_string_append_printf(compiled, "%s%s", compiled->len ? ", " : "", *n);
    g_print("backends compiled: %s\n", compiled->str);
    g_autoptr(GError) cuda_error = NULL;
    g_autoptr(rg_backend) cuda = rg_backend_cuda_new(0, &cuda_error);
    g_print("backends usable:   cpu%s%s\n", cuda ? ", " : "", cuda ? rg_backend_name(cuda) : "");
    if (!cuda)
        g_print("  (cuda: %s)\n", cuda_error->message);
    g_print("CPU features:      %s\n", rg_cpu_features());
    g_print("threads:           %d\n", rg_get_num_threads());
    // as the OpenMP runtime read them when it loaded (rg_prefer_passive_waiting sets them)
    const char *policy = g_getenv("OMP_WAIT_POLICY"), *spin = g_getenv("GOMP_SPINCOUNT");
    g_print("waiting threads:   %s%s%s\n", policy ? policy : "runtime default", spin ? ", spin " : "", spin ? spin : "");
    g_print("BLAS:              %s\n", rg_blas_description());
    return 0;
}

int rg_cli_inspect(int argc, char **argv);  /* core/cli/inspect.c */
int rg_cli_tokenize(int argc, char **argv); /* core/cli/tokenize.c */
int rg_cli_probe(int argc, char **argv);    /* core/cli/probe.c */
int rg_cli_convert_head(int argc, char **argv); /* core/cli/head.c */
int rg_cli_demo(int argc, char **argv);     /* core/cli/demo.c */
int rg_cli_plot_loss(int argc, char **argv); /* core/cli/plot_loss.c */
int rg_cli_drag(int argc, char **argv);     /* core/cli/jobs.c */
int rg_cli_identity(int argc, char **argv); /* core/cli/jobs.c */
int rg_cli_pose(int argc, char **argv);     /* core/cli/jobs.c */
int rg_cli_generate(int argc, char **argv); /* core/cli/jobs.c */
int rg_cli_demo_scene(int argc, char **argv); /* core/cli/demo_scene.c */
int rg_cli_train_diffusion(int argc, char **argv); /* core/cli/train_diffusion.c */
int rg_cli_train_head(int argc, char **argv); /* core/cli/train_head.c */

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    { "info", cmd_info, "print version, backends, CPU features, threads and BLAS" },
    { "inspect", rg_cli_inspect, "say what a model file or folder is, or why it is not usable" },
    { "tokenize", rg_cli_tokenize, "print the 77 CLIP token ids of each prompt" },
    { "probe", rg_cli_probe, "run the UNet, VAE or text encoder on given tensors, save the outputs" },
    { "convert-head", rg_cli_convert_head, "convert a readout head (.pt) to Readout's safetensors format" },
    { "plot-loss", rg_cli_plot_loss, "draw the training curves of loss.tsv files as a picture" },
    { "demo", rg_cli_demo, "drag an object of a demo scene with the shipped demo model (the main job)" },
    { "drag", rg_cli_drag, "drag points of a picture to new places (Readout Guidance)" },
    { "identity", rg_cli_identity, "a new picture that keeps a reference's appearance or person" },
    { "pose", rg_cli_pose, "generate or fill a region following a pose map" },
    { "generate", rg_cli_generate, "text to image, optionally guided by a spatial head's control map" },
    { "demo-scene", rg_cli_demo_scene, "draw a scene of the demo world (picture, metadata, label map)" },
    { "train-diffusion", rg_cli_train_diffusion, "train the demo diffusion model on generated scenes" },
    { "train-head", rg_cli_train_head, "train a readout head (official recipes) on the demo world or a folder" },
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: readout COMMAND [OPTIONS]\n\nCommands:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
        fprintf(f, "  %-15s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nreadout COMMAND --help shows the options of a command.\n");
}

int main(int argc, char **argv)
{
    rg_prefer_passive_waiting(argv);
    setlocale(LC_ALL, "");
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("readout %s\n", rg_version());
        return 0;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "readout: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return 2;
}
