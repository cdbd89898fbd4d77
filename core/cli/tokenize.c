/* tokenize.c — `readout tokenize --model PATH TEXT...`: prints the 77 CLIP
 * token ids of each prompt on its own line, space-separated (BOS, the
 * content ids, EOS, EOS padding), as SD1.x's text encoder receives them.
 * PATH is a diffusers model folder (its tokenizer/ is used) or a tokenizer
 * folder itself (holding vocab.json and merges.txt). */
#include <stdio.h>

#include "readout/data.h"
#include "readout/tokenizer.h"

int rg_cli_tokenize(int argc, char **argv);

/* PATH/tokenizer when it holds vocab.json, else PATH when it does, else NULL. */
static char *tokenizer_dir(const char *path)
{
    g_autofree char *sub = g_build_filename(path, "tokenizer", NULL);
    g_autofree char *sub_vocab = g_build_filename(sub, "vocab.json", NULL);
    if (g_file_test(sub_vocab, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer(&sub);
    g_autofree char *vocab = g_build_filename(path, "vocab.json", NULL);
    if (g_file_test(vocab, G_FILE_TEST_IS_REGULAR))
        return g_strdup(path);
    return NULL;
}

int rg_cli_tokenize(int argc, char **argv)
{
    g_autofree char *model = NULL;
    GOptionEntry entries[] = {
        {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
         "Diffusers model folder, or a tokenizer folder with vocab.json and merges.txt (default: the shipped demo "
         "model)", "PATH"},
        G_OPTION_ENTRY_NULL,
    };
    g_autoptr(GOptionContext) oc = g_option_context_new("TEXT... - print the 77 CLIP token ids of each prompt");
    g_option_context_set_summary(oc, "Each TEXT is one prompt; its ids go on one line, separated by spaces:\n"
                                     "<|startoftext|>, the prompt's tokens (at most 75), <|endoftext|>, then\n"
                                     "<|endoftext|> padding to 77, as Stable Diffusion 1.x's text encoder sees them.");
    g_option_context_add_main_entries(oc, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(oc, &argc, &argv, &error)) {
        g_printerr("readout tokenize: %s\n", error->message);
        return 2;
    }
    if (argc < 2) {
        g_printerr("readout tokenize: no prompt given\nUsage: readout tokenize [--model PATH] TEXT...\n");
        return 2;
    }
    g_autofree char *model_path = rg_resolve_model_path(model, &error);
    if (!model_path) {
        g_printerr("readout tokenize: %s\n", error->message);
        return 1;
    }
    g_autofree char *dir = tokenizer_dir(model_path);
    if (!dir) {
        g_printerr("readout tokenize: %s holds neither tokenizer/vocab.json (a diffusers model folder) nor "
                   "vocab.json (a tokenizer folder)\n",
                   model_path);
        return 1;
    }
    g_autoptr(rg_tokenizer) tok = rg_tokenizer_new_from_dir(dir, &error);
    if (!tok) {
        g_printerr("readout tokenize: %s\n", error->message);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        int64_t ids[RG_TOKENIZER_CONTEXT_LENGTH];
        if (!rg_tokenizer_encode(tok, argv[i], RG_TOKENIZER_CONTEXT_LENGTH, ids, NULL, &error)) {
            g_printerr("readout tokenize: prompt %d: %s\n", i, error->message);
            return 1;
        }
        GString *line = g_string_sized_new(6 * RG_TOKENIZER_CONTEXT_LENGTH);
        for (int k = 0; k < RG_TOKENIZER_CONTEXT_LENGTH; k++)
            g_string_append_printf(line, "%s%" G_GINT64_FORMAT, k ? " " : "", (gint64)ids[k]);
        printf("%s\n", line->str);
        g_string_free(line, TRUE);
    }
    return 0;
}
