/* request.c — from what the user picked to a core job, and back to a layer. */
#include <math.h>
#include <string.h>

#include "i18n.h"
#include "readout/data.h"
#include "request.h"

/* Below this the model's grid has nothing left to edit. */
#define MIN_SIDE 8

RgRequest *rg_request_new(rg_job_kind kind)
{
    RgRequest *r = g_new0(RgRequest, 1);
    r->kind = kind;
    r->seed = 100;
    r->points = g_array_new(FALSE, FALSE, sizeof(float));
    return r;
}

void rg_request_free(RgRequest *r)
{
    if (!r)
        return;
    char **strings[] = {&r->prompt, &r->negative_prompt, &r->model, &r->heads, &r->device};
    for (size_t i = 0; i < G_N_ELEMENTS(strings); i++)
        g_free(*strings[i]);
    g_array_unref(r->points);
    rg_image *images[] = {r->image, r->reference, r->control, r->mask};
    for (size_t i = 0; i < G_N_ELEMENTS(images); i++)
        rg_image_free(images[i]);
    g_free(r);
}

void rg_request_add_point(RgRequest *r, float x0, float y0, float x1, float y1)
{
    const float xy[4] = {x0, y0, x1, y1};
    g_array_append_vals(r->points, xy, 4);
}

int rg_request_n_points(const RgRequest *r)
{
    return (int)(r->points->len / 4);
}

static gboolean has_text(const char *s)
{
    return s && *s;
}

static char *why_too_small(const char *what, const rg_image *img)
{
    if (img->width >= MIN_SIDE && img->height >= MIN_SIDE)
        return NULL;
    return g_strdup_printf(_("The %s is %d×%d pixels; Readout needs at least %d×%d."), what, img->width, img->height,
                           MIN_SIDE, MIN_SIDE);
}

char *rg_request_why_invalid(const RgRequest *r)
{
    char *why;
    switch (r->kind) {
    case RG_JOB_DRAG: {
        if (!r->image)
            return g_strdup(_("There is no layer to edit."));
        if ((why = why_too_small(_("layer"), r->image)))
            return why;
        const int n = rg_request_n_points(r);
        if (n == 0)
            return g_strdup(_("Drag on the picture to add a point: from what should move to where it should go."));
        const float *xy = (const float *)r->points->data;
        for (int k = 0; k < n; k++)
            for (int e = 0; e < 2; e++) {
                const float x = xy[4 * k + 2 * e], y = xy[4 * k + 2 * e + 1];
                if (!(x >= 0.0f && x < (float)r->image->width && y >= 0.0f && y < (float)r->image->height))
                    return g_strdup_printf(e ? _("The target of point %d (%g, %g) lies outside the %d×%d layer.")
                                             : _("The handle of point %d (%g, %g) lies outside the %d×%d layer."),
                                           k + 1, x, y, r->image->width, r->image->height);
            }
        return NULL;
    }
    case RG_JOB_IDENTITY:
        if (!r->reference)
            return g_strdup(_("Pick a reference layer whose look to keep."));
        if ((why = why_too_small(_("reference layer"), r->reference)))
            return why;
        if (r->has_box) {
            const int *b = r->box;
            if (b[0] < 0 || b[1] < 0 || b[2] > r->reference->width || b[3] > r->reference->height || b[2] <= b[0] ||
                b[3] <= b[1])
                return g_strdup_printf(_("The box %d,%d – %d,%d is empty or leaves the %d×%d reference layer."), b[0],
                                       b[1], b[2], b[3], r->reference->width, r->reference->height);
        }
        if (!has_text(r->prompt))
            return g_strdup(_("Describe the picture to make in the prompt."));
        return NULL;
    case RG_JOB_POSE:
        if (!r->image)
            return g_strdup(_("There is no layer to fill."));
        if ((why = why_too_small(_("layer"), r->image)))
            return why;
        if (!r->control)
            return g_strdup(_("Draw a pose or pick a pose-map layer."));
        if (r->mask && (r->mask->width != r->image->width || r->mask->height != r->image->height))
            return g_strdup_printf(_("The fill region is %d×%d pixels but the layer is %d×%d."), r->mask->width,
                                   r->mask->height, r->image->width, r->image->height);
        if (!has_text(r->prompt))
            return g_strdup(_("Describe the picture to make in the prompt."));
        return NULL;
    case RG_JOB_GENERATE:
        break;
    }
    return g_strdup(_("This kind of job has no editor."));
}

char *rg_request_result_name(const RgRequest *r)
{
    static const char *const names[] = {N_("Readout drag"), N_("Readout identity"), N_("Readout pose fill"),
                                        N_("Readout generate")};
    // the seed as text: a format macro inside the message would cut xgettext's msgid short
    g_autofree char *seed = g_strdup_printf("%" G_GUINT64_FORMAT, r->seed);
    return g_strdup_printf(_("%s (seed %s)"), _(names[r->kind]), seed);
}

/* ---- the engine: a loaded model and heads, kept between runs --------------- */

struct RgEngine {
    char *model_path, *heads_path, *device;
    rg_pipeline *pipeline;
    rg_head_set *heads;
};

RgEngine *rg_engine_new(void)
{
    return g_new0(RgEngine, 1);
}

static void engine_drop_model(RgEngine *e)
{
    g_clear_pointer(&e->pipeline, rg_pipeline_free);
    g_clear_pointer(&e->model_path, g_free);
    g_clear_pointer(&e->device, g_free);
}

static void engine_drop_heads(RgEngine *e)
{
    g_clear_pointer(&e->heads, rg_head_set_free);
    g_clear_pointer(&e->heads_path, g_free);
}

void rg_engine_free(RgEngine *e)
{
    if (!e)
        return;
    engine_drop_model(e);
    engine_drop_heads(e);
    g_free(e);
}

static gboolean engine_load(RgEngine *e, const RgRequest *r, GError **error)
{
    const char *model_arg = has_text(r->model) ? r->model : NULL;
    const char *device = has_text(r->device) ? r->device : "cpu";
    g_autofree char *model = rg_resolve_model_path(model_arg, error);
    if (!model)
        return FALSE;
    if (!e->pipeline || strcmp(e->model_path, model) || strcmp(e->device, device)) {
        engine_drop_model(e);
        if (!g_file_test(model, G_FILE_TEST_EXISTS)) {
            g_set_error(error, RG_ERROR, RG_ERROR_IO, _("The model folder %s does not exist."), model);
            return FALSE;
        }
        rg_backend *backend = NULL;
        if (!strcmp(device, "cuda")) {
            if (!(backend = rg_backend_cuda_new(0, error)))
                return FALSE;
        } else if (strcmp(device, "cpu")) {
            g_set_error(error, RG_ERROR, RG_ERROR_ARGUMENT, _("Unknown device \"%s\" (cpu or cuda)."), device);
            return FALSE;
        }
        if (!(e->pipeline = rg_pipeline_new(model, backend, error))) {
            g_prefix_error(error, _("The model %s cannot be used: "), model);
            return FALSE;
        }
        e->model_path = g_steal_pointer(&model);
        e->device = g_strdup(device);
    }

    // no heads folder: the demo model's own heads, none for other models (the check then names the missing head)
    GError *local = NULL;
    g_autofree char *heads = rg_resolve_heads_path(has_text(r->heads) ? r->heads : NULL, model_arg, &local);
    if (local) {
        g_propagate_error(error, local);
        return FALSE;
    }
    if (!e->heads || g_strcmp0(e->heads_path, heads)) {
        engine_drop_heads(e);
        if (heads && !g_file_test(heads, G_FILE_TEST_IS_DIR)) {
            g_set_error(error, RG_ERROR, RG_ERROR_IO, _("The heads folder %s does not exist."), heads);
            return FALSE;
        }
        if (!(e->heads = heads ? rg_head_set_open_dir(heads, error) : rg_head_set_new()))
            return FALSE;
        e->heads_path = g_steal_pointer(&heads);
    }
    return TRUE;
}

/* ---- running --------------------------------------------------------------- */

/* Where the drag's mask is zero, the layer's own pixels come back. */
static void keep_outside_mask(rg_image *rgba, const rg_image *source, const rg_image *mask)
{
    g_autoptr(rg_image) src = rg_image_convert(source, 4, NULL);
    if (!src || mask->width != rgba->width || mask->height != rgba->height)
        return;
    for (size_t i = 0; i < (size_t)rgba->width * rgba->height; i++) {
        const unsigned a = mask->data[(size_t)i * mask->channels];
        for (int c = 0; c < 4; c++)
            rgba->data[4 * i + c] =
                (guint8)((rgba->data[4 * i + c] * a + src->data[4 * i + c] * (255 - a) + 127) / 255);
    }
}

static void apply_settings(const RgRequest *r, rg_job *job)
{
    rg_job_init(job, r->kind);
    if (r->preset == RG_PRESET_FAST)
        rg_job_apply_fast_preset(job);
    if (r->steps > 0)
        job->steps = r->steps;
    job->seed = r->seed;
    if (r->guidance_weight > 0.0f)
        job->guidance_weight = r->guidance_weight;
    if (r->guidance_end > 0.0f)
        job->guidance_ratio[1] = MAX(r->guidance_end, job->guidance_ratio[0]);
    job->prompt = has_text(r->prompt) ? r->prompt : "";
    if (has_text(r->negative_prompt))
        job->negative_prompt = r->negative_prompt;
}

/* @out (RGB) as RGBA at @like's size, with @like's alpha when @keep_alpha, else opaque. */
static rg_image *to_layer_pixels(const rg_image *out, const rg_image *like, gboolean keep_alpha, GError **error)
{
    g_autoptr(rg_image) sized = NULL;
    if (like && (out->width != like->width || out->height != like->height)) {
        if (!(sized = rg_image_resize(out, like->width, like->height, RG_RESIZE_BILINEAR, error)))
            return NULL;
        out = sized;
    }
    rg_image *rgba = rg_image_convert(out, 4, error);
    if (rgba && keep_alpha && like && like->channels == 4 && like->width == rgba->width && like->height == rgba->height)
        for (size_t i = 0; i < (size_t)rgba->width * rgba->height; i++)
            rgba->data[4 * i + 3] = like->data[4 * i + 3];
    return rgba;
}

rg_image *rg_request_run(RgRequest *r, RgEngine *engine, const rg_job_callbacks *callbacks, GError **error)
{
    g_autofree char *why = rg_request_why_invalid(r);
    if (why) {
        g_set_error_literal(error, RG_ERROR, RG_ERROR_ARGUMENT, why);
        return NULL;
    }
    g_autoptr(RgEngine) own = NULL;
    if (!engine)
        engine = own = rg_engine_new();
    if (!engine_load(engine, r, error))
        return NULL;

    rg_job job;
    apply_settings(r, &job);
    job.heads = engine->heads;
    job.points = (const float *)r->points->data;
    job.n_points = rg_request_n_points(r);
    g_autoptr(rg_image) control = NULL, mask = NULL;
    switch (r->kind) {
    case RG_JOB_DRAG:
        job.image = r->image;
        break;
    case RG_JOB_IDENTITY:
        job.reference = r->reference;
        job.box = r->has_box ? r->box : NULL;
        break;
    case RG_JOB_POSE:
        // the pose map is drawn over the layer: same frame, any resolution
        job.image = r->image;
        if (r->control->width != r->image->width || r->control->height != r->image->height) {
            if (!(control = rg_image_resize(r->control, r->image->width, r->image->height, RG_RESIZE_BILINEAR, error)))
                return NULL;
        }
        job.control = control ? control : r->control;
        if (!r->mask) { // no selection: the whole layer is the fill region
            if (!(mask = rg_image_new(r->image->width, r->image->height, 1, error)))
                return NULL;
            memset(mask->data, 255, (size_t)mask->width * mask->height);
        }
        job.mask = mask ? mask : r->mask;
        break;
    case RG_JOB_GENERATE:
        break;
    }
    if (callbacks)
        job.callbacks = *callbacks;
    if (!rg_pipeline_check(engine->pipeline, &job, error))
        return NULL;
    g_autoptr(rg_image) out = rg_pipeline_run(engine->pipeline, &job, error);
    if (!out)
        return NULL;
    // an edit keeps the layer's transparency; a new picture is opaque
    rg_image *pixels = to_layer_pixels(out, r->image, r->kind != RG_JOB_IDENTITY, error);
    if (pixels && r->kind == RG_JOB_DRAG && r->mask)
        keep_outside_mask(pixels, r->image, r->mask);
    return pixels;
}
