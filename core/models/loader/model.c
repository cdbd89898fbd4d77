/* model.c — rg_model: finds the layout of a model path (diffusers folder or
 * single file), reads the safetensors headers of its components, maps single
 * file names to diffusers names (name_map.c), and builds rg_weights for a
 * component when asked. The model type and the report are in describe.c.
 *
 * Everything read here is untrusted: headers go through the hardened
 * safetensors reader, JSON files through rg_json_parse_untrusted(), and the
 * file names in a sharded index must be plain names inside the folder.
 */
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "io/json_untrusted.h"
#include "models/loader/model_impl.h"
#include "readout/vae.h"

static void tensor_clear(model_tensor *t)
{
    g_free(t->name);
    g_free(t->stored);
}

static void part_init(model_part *p)
{
    p->files = g_ptr_array_new_with_free_func(g_free);
    p->tensors = g_array_new(FALSE, TRUE, sizeof(model_tensor));
    g_array_set_clear_func(p->tensors, (GDestroyNotify)tensor_clear);
    p->by_name = g_hash_table_new(g_str_hash, g_str_equal);
}

static void part_clear(model_part *p)
{
    g_free(p->dir);
    g_free(p->config);
    g_free(p->why_absent);
    g_free(p->origin);
    g_ptr_array_unref(p->files);
    g_hash_table_unref(p->by_name);
    g_array_unref(p->tensors);
}

void rg_model_free(rg_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < RG_N_PARTS; i++)
        part_clear(&m->parts[i]);
    g_free(m->path);
    g_free(m->tokenizer_dir);
    g_free(m->tokenizer_why_absent);
    g_free(m->class_name);
    g_free(m->ignored_example);
    g_free(m->type_name);
    g_free(m->type_details);
    g_free(m->unsupported);
    g_free(m);
}

const model_tensor *rg_loader_find(const rg_model *m, rg_part part, const char *name)
{
    const model_part *p = &m->parts[part];
    int idx = GPOINTER_TO_INT(g_hash_table_lookup(p->by_name, name));
    return idx ? &g_array_index(p->tensors, model_tensor, idx - 1) : NULL;
}

static void note_ignored(rg_model *m, const char *name)
{
    if (g_str_has_prefix(name, "model_ema.")) {
        m->n_ema++;
        return;
    }
    if (m->n_ignored++ == 0)
        m->ignored_example = g_strdup(name);
}

/* Adds tensor @stored of @st (whose file is the part's last) as @name;
 * @conv1x1: seen as (C,C) when stored as (C,C,1,1). */
static gboolean add_tensor(rg_model *m, rg_part part, const char *name, const char *stored, rg_safetensors *st,
                           gboolean conv1x1, GError **error)
{
    model_part *p = &m->parts[part];
    const char *path = g_ptr_array_index(p->files, p->files->len - 1);
    const model_tensor *old = rg_loader_find(m, part, name);
    if (old) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: tensors \"%s\" and \"%s\" both give the %s tensor \"%s\"",
                    path, old->stored, stored, rg_part_name(part), name);
        return FALSE;
    }
    model_tensor t = { .name = g_strdup(name), .stored = g_strdup(stored), .path = path };
    t.known = rg_safetensors_info(st, stored, &t.dtype, &t.ndim, t.shape);
    if (t.known && conv1x1 && t.ndim == 4 && t.shape[2] == 1 && t.shape[3] == 1) {
        t.ndim = 2;
        t.reshaped = TRUE;
    }
    g_array_append_val(p->tensors, t);
    g_hash_table_insert(p->by_name, g_array_index(p->tensors, model_tensor, p->tensors->len - 1).name,
                        GINT_TO_POINTER(p->tensors->len));
    p->present = TRUE;
    return TRUE;
}

/* The first bytes of @path, for telling other kinds of files apart. */
static gsize read_magic(const char *path, guint8 *buf, gsize n)
{
    FILE *f = g_fopen(path, "rb");
    if (!f)
        return 0;
    gsize got = fread(buf, 1, n, f);
    fclose(f);
    return got;
}

/* ---- single files --------------------------------------------------------- */

static gboolean any_name(rg_safetensors *st, const char *needle)
{
    for (int i = 0; i < rg_safetensors_count(st); i++)
        if (strstr(rg_safetensors_name(st, i), needle))
            return TRUE;
    return FALSE;
}

/* Why a safetensors file with no known prefix is not a model. */
static void explain_unknown_file(const char *path, rg_safetensors *st, GError **error)
{
    int n = rg_safetensors_count(st);
    const char *why;
    if (n == 0)
        why = "it holds no tensors";
    else if (any_name(st, "lora_") || any_name(st, ".lora.") || any_name(st, "lora_A") || any_name(st, ".alpha"))
        why = "it is a LoRA (low-rank adapter), not a full model";
    else if (rg_safetensors_contains(st, "emb_params") || any_name(st, "string_to_param"))
        why = "it is a textual-inversion embedding, not a full model";
    else if (rg_safetensors_contains(st, "conv_in.weight") && rg_safetensors_contains(st, "time_embedding.linear_1.weight"))
        why = "it is the UNet file of a diffusers folder; pass the folder above unet/ (the one with model_index.json)";
    else if (rg_safetensors_contains(st, "text_model.embeddings.token_embedding.weight"))
        why = "it is the text encoder file of a diffusers folder; pass the folder above text_encoder/";
    else
        why = "none of its tensors has a Stable Diffusion checkpoint name (model.diffusion_model.*, "
              "first_stage_model.*, cond_stage_model.transformer.*)";
    g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s is not a Stable Diffusion model: %s%s%s%s", path, why,
                n ? " (first tensor: \"" : "", n ? rg_safetensors_name(st, 0) : "", n ? "\")" : "");
}

/* A standalone VAE in LDM names (encoder.down.0...) or diffusers names. */
static gboolean open_vae_file(rg_model *m, rg_safetensors *st, GError **error)
{
    m->vae_file = TRUE;
    g_ptr_array_add(m->parts[RG_PART_VAE].files, g_strdup(m->path));
    for (int i = 0; i < rg_safetensors_count(st); i++) {
        const char *stored = rg_safetensors_name(st, i);
        gboolean conv1x1;
        g_autofree char *name = rg_name_vae_ldm_to_diffusers(stored, &conv1x1);
        if (!name) {
            g_autofree char *legacy = rg_name_vae_legacy(stored);
            g_autofree char *ldm = rg_name_vae_diffusers_to_ldm(legacy ? legacy : stored, &conv1x1);
            if (ldm)
                name = g_strdup(legacy ? legacy : stored);
        }
        if (!name)
            note_ignored(m, stored);
        else if (!add_tensor(m, RG_PART_VAE, name, stored, st, conv1x1, error))
            return FALSE;
    }
    return TRUE;
}

static gboolean open_file(rg_model *m, GError **error)
{
    guint8 magic[8] = { 0 };
    gsize got = read_magic(m->path, magic, sizeof magic);
    const char *other = NULL;
    if (got >= 4 && !memcmp(magic, "PK\x03\x04", 4))
        other = "a PyTorch checkpoint (a zip archive, as .ckpt, .pt and .bin files are)";
    else if (got >= 2 && magic[0] == 0x80 && magic[1] >= 2 && magic[1] <= 5)
        other = "a PyTorch pickle (.ckpt, .pt, .bin)";
    else if (got >= 4 && !memcmp(magic, "GGUF", 4))
        other = "a GGUF file (stable-diffusion.cpp's format)";
    else if (got >= 1 && magic[0] == '{')
        other = g_str_has_suffix(m->path, "model_index.json") ? "the model_index.json of a diffusers folder (pass "
                                                                 "the folder that holds it)"
                                                               : "a JSON text";
    if (other) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s is %s; Readout reads Stable Diffusion models as a "
                    ".safetensors file or a diffusers folder", m->path, other);
        return FALSE;
    }
    g_autoptr(rg_safetensors) st = rg_safetensors_open(m->path, error);
    if (!st)
        return FALSE;
    m->layout = LAYOUT_SINGLE;
    for (int i = 0; i < RG_N_PARTS; i++)
        m->parts[i].origin = g_strdup(m->path);

    gboolean known = FALSE; /* a name with a prefix of an LDM-family checkpoint (SD 1.x, 2.x, XL) */
    for (int i = 0; i < rg_safetensors_count(st) && !known; i++) {
        const char *s = rg_safetensors_name(st, i);
        known = g_str_has_prefix(s, "model.diffusion_model.") || g_str_has_prefix(s, "first_stage_model.") ||
                g_str_has_prefix(s, "cond_stage_model.") || g_str_has_prefix(s, "conditioner.");
    }
    if (!known) {
        if (rg_safetensors_contains(st, "encoder.conv_in.weight") &&
            rg_safetensors_contains(st, "decoder.conv_in.weight"))
            return open_vae_file(m, st, error);
        explain_unknown_file(m->path, st, error);
        return FALSE;
    }
    for (int i = 0; i < RG_N_PARTS; i++)
        g_ptr_array_add(m->parts[i].files, g_strdup(m->path));
    for (int i = 0; i < rg_safetensors_count(st); i++) {
        const char *stored = rg_safetensors_name(st, i);
        m->has_conditioner |= g_str_has_prefix(stored, "conditioner.");
        m->has_openclip |= g_str_has_prefix(stored, "cond_stage_model.model.");
        m->has_label_emb |= g_str_has_prefix(stored, "model.diffusion_model.label_emb.");
        rg_part part;
        gboolean conv1x1;
        g_autofree char *name = rg_name_ldm_to_diffusers(stored, &part, &conv1x1);
        if (!name)
            note_ignored(m, stored);
        else if (!add_tensor(m, part, name, stored, st, conv1x1, error))
            return FALSE;
    }
    gboolean other_family = m->has_conditioner || m->has_openclip || m->has_label_emb; /* described, then refused */
    if (!m->parts[0].present && !m->parts[1].present && !m->parts[2].present && !other_family) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s is not a usable model: none of its %d tensors is a Stable "
                    "Diffusion 1.x weight (first tensor: \"%s\")", m->path, rg_safetensors_count(st),
                    rg_safetensors_name(st, 0));
        return FALSE;
    }
    return TRUE;
}

/* ---- diffusers folders ---------------------------------------------------- */

/* Adds every tensor of file @file (in @p's folder) to @part, or only
 * @only (a name -> file table of a sharded index) where given. */
static gboolean add_diffusers_file(rg_model *m, rg_part part, const char *file, GHashTable *only, GError **error)
{
    model_part *p = &m->parts[part];
    g_ptr_array_add(p->files, g_build_filename(p->dir, file, NULL));
    const char *path = g_ptr_array_index(p->files, p->files->len - 1);
    g_autoptr(rg_safetensors) st = rg_safetensors_open(path, error);
    if (!st)
        return FALSE;
    if (only) { /* the index's names that live in this file */
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, only);
        while (g_hash_table_iter_next(&it, &k, &v))
            if (!strcmp(v, file) && !rg_safetensors_contains(st, k)) {
                g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: the index puts tensor \"%s\" in %s, which lacks it",
                            p->origin, (const char *)k, path);
                return FALSE;
            }
    }
    for (int i = 0; i < rg_safetensors_count(st); i++) {
        const char *stored = rg_safetensors_name(st, i);
        const char *in = only ? g_hash_table_lookup(only, stored) : file;
        if (!in || strcmp(in, file) != 0)
            continue; /* not listed for this shard */
        g_autofree char *legacy = part == RG_PART_VAE ? rg_name_vae_legacy(stored) : NULL;
        const char *name = legacy ? legacy : stored;
        gboolean conv1x1 = FALSE;
        if (part == RG_PART_VAE)
            g_free(rg_name_vae_diffusers_to_ldm(name, &conv1x1));
        if (part == RG_PART_TEXT_ENCODER && !strcmp(name, "text_model.embeddings.position_ids")) {
            note_ignored(m, stored); /* a buffer */
            continue;
        }
        if (!add_tensor(m, part, name, stored, st, conv1x1, error))
            return FALSE;
    }
    return TRUE;
}

/* A sharded component: @index lists "weight_map": {tensor: shard file}. */
static gboolean add_sharded(rg_model *m, rg_part part, const char *index, GError **error)
{
    model_part *p = &m->parts[part];
    g_autoptr(JsonNode) root = rg_json_read_object_file(index, error);
    if (!root)
        return FALSE;
    JsonNode *map = json_object_get_member(json_node_get_object(root), "weight_map");
    if (!map || !JSON_NODE_HOLDS_OBJECT(map)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s has no \"weight_map\" object", index);
        return FALSE;
    }
    JsonObject *o = json_node_get_object(map);
    g_autoptr(GHashTable) where = g_hash_table_new(g_str_hash, g_str_equal); /* name -> file (borrowed) */
    g_autoptr(GPtrArray) files = g_ptr_array_new();                          /* unique files, in order */
    g_autoptr(GList) members = json_object_get_members(o);
    for (GList *l = members; l; l = l->next) {
        JsonNode *v = json_object_get_member(o, l->data);
        const char *file = JSON_NODE_HOLDS_VALUE(v) && json_node_get_value_type(v) == G_TYPE_STRING
                               ? json_node_get_string(v) : NULL;
        if (!file || !*file || strchr(file, '/') || strchr(file, '\\') || !strcmp(file, "..") ||
            !strcmp(file, ".")) {
            g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: tensor \"%s\" must name a file in %s", index,
                        (const char *)l->data, p->dir);
            return FALSE;
        }
        g_hash_table_insert(where, l->data, (gpointer)file);
        gboolean seen = FALSE;
        for (guint i = 0; i < files->len && !seen; i++)
            seen = !strcmp(files->pdata[i], file);
        if (!seen)
            g_ptr_array_add(files, (gpointer)file);
    }
    g_free(p->origin);
    p->origin = g_strdup_printf("%s (%u shard%s)", index, files->len, files->len == 1 ? "" : "s");
    for (guint i = 0; i < files->len; i++)
        if (!add_diffusers_file(m, part, files->pdata[i], where, error))
            return FALSE;
    return TRUE;
}

static gboolean open_part_folder(rg_model *m, rg_part part, GError **error)
{
    model_part *p = &m->parts[part];
    const char *pn = rg_part_name(part);
    p->dir = g_build_filename(m->path, pn, NULL);
    if (!g_file_test(p->dir, G_FILE_TEST_IS_DIR)) {
        p->why_absent = g_strdup_printf("there is no %s/ folder", pn);
        return TRUE;
    }
    g_autofree char *config = g_build_filename(p->dir, "config.json", NULL);
    if (g_file_test(config, G_FILE_TEST_EXISTS)) {
        g_autoptr(JsonNode) root = rg_json_read_object_file(config, error);
        if (!root)
            return FALSE;
        const char *cls = json_object_get_string_member_with_default(json_node_get_object(root), "_class_name", "");
        if (part == RG_PART_VAE && !strcmp(cls, "ReadoutSpaceToDepth")) { // an autoencoder without weights
            rg_vae_config vc;
            if (!rg_vae_config_load(&vc, config, error))
                return FALSE;
            m->space_to_depth_channels = vc.latent_channels;
            p->present = TRUE;
            p->origin = g_strdup(config);
            p->config = g_steal_pointer(&config);
            return TRUE;
        }
        p->config = g_steal_pointer(&config);
    }
    const char *base = part == RG_PART_TEXT_ENCODER ? "model" : "diffusion_pytorch_model";
    /* full precision first: it is the exact model; then the fp16 variant */
    const char *forms[4] = { "%s.safetensors", "%s.safetensors.index.json", "%s.fp16.safetensors",
                             "%s.safetensors.index.fp16.json" };
    for (int i = 0; i < 4; i++) {
        g_autofree char *file = g_strdup_printf(forms[i], base);
        g_autofree char *full = g_build_filename(p->dir, file, NULL);
        if (!g_file_test(full, G_FILE_TEST_IS_REGULAR))
            continue;
        p->origin = g_strdup(full);
        return g_str_has_suffix(file, ".json") ? add_sharded(m, part, full, error)
                                               : add_diffusers_file(m, part, file, NULL, error);
    }
    g_autofree char *bin = g_strdup_printf("%s/%s.bin", p->dir, base);
    if (g_file_test(bin, G_FILE_TEST_EXISTS))
        p->why_absent = g_strdup_printf("%s/ holds %s.bin, a PyTorch pickle; Readout reads .safetensors only", pn, base);
    else
        p->why_absent = g_strdup_printf("%s/ holds no %s.safetensors", pn, base);
    return TRUE;
}

static void open_tokenizer_folder(rg_model *m)
{
    g_autofree char *dir = g_build_filename(m->path, "tokenizer", NULL);
    g_autofree char *vocab = g_build_filename(dir, "vocab.json", NULL);
    g_autofree char *merges = g_build_filename(dir, "merges.txt", NULL);
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
        m->tokenizer_why_absent = g_strdup("there is no tokenizer/ folder");
    else if (!g_file_test(vocab, G_FILE_TEST_IS_REGULAR) || !g_file_test(merges, G_FILE_TEST_IS_REGULAR))
        m->tokenizer_why_absent = g_strdup("tokenizer/ lacks vocab.json or merges.txt");
    else
        m->tokenizer_dir = g_steal_pointer(&dir);
}

static gboolean open_folder(rg_model *m, GError **error)
{
    m->layout = LAYOUT_DIFFUSERS;
    g_autofree char *index = g_build_filename(m->path, "model_index.json", NULL);
    gboolean has_index = g_file_test(index, G_FILE_TEST_EXISTS);
    if (has_index) {
        g_autoptr(JsonNode) root = rg_json_read_object_file(index, error);
        if (!root)
            return FALSE;
        JsonNode *cn = json_object_get_member(json_node_get_object(root), "_class_name");
        if (cn && JSON_NODE_HOLDS_VALUE(cn) && json_node_get_value_type(cn) == G_TYPE_STRING)
            m->class_name = g_strdup(json_node_get_string(cn));
    }
    for (int i = 0; i < RG_N_PARTS; i++)
        if (!open_part_folder(m, (rg_part)i, error))
            return FALSE;
    open_tokenizer_folder(m);
    if (m->parts[0].present || m->parts[1].present || m->parts[2].present || m->tokenizer_dir)
        return TRUE;

    /* nothing usable: say why, and spot a component folder passed on its own */
    g_autofree char *config = g_build_filename(m->path, "config.json", NULL);
    g_autofree char *base = g_path_get_basename(m->path);
    if (!has_index && g_file_test(config, G_FILE_TEST_EXISTS)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s looks like one component (%s/) of a diffusers model: pass "
                    "the folder above it, the one with model_index.json", m->path, base);
        return FALSE;
    }
    if (!has_index && !g_file_test(m->parts[0].dir, G_FILE_TEST_IS_DIR) &&
        !g_file_test(m->parts[1].dir, G_FILE_TEST_IS_DIR) && !g_file_test(m->parts[2].dir, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s is a folder but not a diffusers model: it holds no "
                    "model_index.json and none of unet/, vae/, text_encoder/, tokenizer/", m->path);
        return FALSE;
    }
    g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s holds no usable component: %s; %s; %s; %s", m->path,
                m->parts[0].why_absent, m->parts[1].why_absent, m->parts[2].why_absent, m->tokenizer_why_absent);
    return FALSE;
}

rg_model *rg_model_open(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    g_autoptr(rg_model) m = g_new0(rg_model, 1);
    m->path = g_strdup(path);
    for (int i = 0; i < RG_N_PARTS; i++)
        part_init(&m->parts[i]);
    gboolean ok;
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        ok = open_folder(m, error);
    } else if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        ok = open_file(m, error);
    } else if (g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s is neither a file nor a folder", path);
        return NULL;
    } else {
        g_set_error(error, RG_ERROR, RG_ERROR_IO, "%s: no such file or folder", path);
        return NULL;
    }
    if (!ok)
        return NULL;
    for (int i = 0; i < RG_N_PARTS; i++) {
        model_part *p = &m->parts[i];
        if (!p->present && !p->why_absent)
            p->why_absent = m->vae_file ? g_strdup("the file is a standalone VAE")
                                        : g_strdup_printf("the file has no tensor named %s*",
                                                          rg_part_ldm_prefix((rg_part)i));
    }
    if (!m->tokenizer_dir && !m->tokenizer_why_absent)
        m->tokenizer_why_absent = g_strdup("single files carry no tokenizer");
    rg_loader_detect_type(m);
    return g_steal_pointer(&m);
}

/* ---- queries -------------------------------------------------------------- */

const char *rg_model_layout_name(const rg_model *m)
{
    return m->layout == LAYOUT_DIFFUSERS ? "diffusers folder" : "single file";
}

const char *rg_model_type_name(const rg_model *m)
{
    return m->type_name;
}

gboolean rg_model_check(const rg_model *m, GError **error)
{
    if (!m->unsupported)
        return TRUE;
    g_set_error(error, RG_ERROR, RG_ERROR_UNSUPPORTED, "%s holds %s, which Readout does not support: %s", m->path,
                m->type_name, m->unsupported);
    return FALSE;
}

gboolean rg_model_has_component(const rg_model *m, const char *component)
{
    rg_part part;
    if (component && !strcmp(component, "tokenizer"))
        return m->tokenizer_dir != NULL;
    return rg_part_from_name(component, &part) && m->parts[part].present;
}

/* The single-file name of a missing diffusers name, for messages. */
static char *ldm_name_of(const char *name, gpointer part)
{
    gboolean conv1x1;
    return rg_name_diffusers_to_ldm((rg_part)GPOINTER_TO_INT(part), name, &conv1x1);
}

static char *vae_file_name_of(const char *name, gpointer unused)
{
    gboolean conv1x1;
    return rg_name_vae_diffusers_to_ldm(name, &conv1x1);
}

rg_weights *rg_model_weights(rg_model *m, const char *component, GError **error)
{
    rg_part part;
    if (!rg_part_from_name(component, &part)) {
        g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, "rg_model_weights: \"%s\" is not a component with weights "
                    "(unet, vae, text_encoder)", component ? component : "(null)");
        return NULL;
    }
    if (!rg_model_check(m, error))
        return NULL;
    const model_part *p = &m->parts[part];
    if (!p->present) {
        g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s has no %s: %s", m->path, component, p->why_absent);
        return NULL;
    }
    if (!m->noted && (m->n_ema || m->n_ignored)) {
        m->noted = TRUE;
        g_autofree char *ignored = rg_loader_ignored_summary(m);
        g_message("%s: ignoring %s", m->path, ignored);
    }
    g_autoptr(rg_weights) w = rg_weights_new();
    for (guint i = 0; i < p->tensors->len; i++) {
        const model_tensor *t = &g_array_index(p->tensors, model_tensor, i);
        gboolean ok = t->reshaped ? rg_weights_add_reshaped(w, t->name, t->path, t->stored, t->ndim, t->shape, error)
                                  : rg_weights_add(w, t->name, t->path, t->stored, error);
        if (!ok)
            return NULL;
    }
    if (m->layout == LAYOUT_SINGLE)
        rg_weights_set_origin(w, p->origin, m->vae_file ? vae_file_name_of : ldm_name_of, GINT_TO_POINTER(part));
    else
        rg_weights_set_origin(w, p->origin, NULL, NULL);
    return g_steal_pointer(&w);
}

char *rg_model_config_path(const rg_model *m, const char *component)
{
    rg_part part;
    if (component && !strcmp(component, "tokenizer")) {
        if (!m->tokenizer_dir)
            return NULL;
        char *c = g_build_filename(m->tokenizer_dir, "tokenizer_config.json", NULL);
        if (g_file_test(c, G_FILE_TEST_IS_REGULAR))
            return c;
        g_free(c);
        return NULL;
    }
    if (!rg_part_from_name(component, &part))
        return NULL;
    return g_strdup(m->parts[part].config);
}

char *rg_model_tokenizer_dir(const rg_model *m)
{
    return g_strdup(m->tokenizer_dir);
}
