/* preview.c — between latents and pictures: VAE encode / decode at the
 * diffusion scale, and the cheap per-step preview. */
#include "pipeline/pipeline_impl.h"

/* SD1.x latent (diffusion scale) -> RGB in about [-1, 1]: a least-squares
 * linear fit of the VAE decoder per pixel (the factors ComfyUI and others
 * use for SD1.5 previews). Rows are latent channels. */
static const float sd_latent_rgb[4][3] = {
    {0.3512f, 0.2297f, 0.3227f},
    {0.3250f, 0.4974f, 0.2350f},
    {-0.2829f, 0.1762f, 0.2721f},
    {-0.2120f, -0.2616f, -0.7177f},
};

rg_image *decode_image(rg_pipeline *p, rg_tensor *z, GError **error)
{
    const float scale = rg_vae_get_config(p->vae)->scaling_factor;
    g_autoptr(rg_tensor) raw = rg_scale(p->ctx, z, 1.0f / scale, 0.0f, error);
    g_autoptr(rg_tensor) img = raw ? rg_vae_decode(p->vae, p->ctx, raw, error) : NULL;
    return img ? rg_image_from_tensor(img, -1.0f, 1.0f, error) : NULL;
}

rg_image *preview_image(rg_pipeline *p, rg_tensor *x0, GError **error)
{
    if (!p->sd_latent_rgb)
        return decode_image(p, x0, error);
    g_autoptr(rg_tensor) c = rg_contiguous(p->ctx, x0, error);
    if (!c)
        return NULL;
    const int64_t *s = rg_tensor_shape(c), hw = s[2] * s[3];
    const int64_t shape[3] = {3, s[2], s[3]};
    g_autoptr(rg_tensor) rgb = rg_tensor_new(RG_DTYPE_F32, 3, shape, error);
    if (!rgb)
        return NULL;
    const float *in = rg_tensor_data_f32(c); // (1, 4, h, w)
    float *out = rg_tensor_data_f32(rgb);    // (3, h, w)
    for (int k = 0; k < 3; k++)
        for (int64_t i = 0; i < hw; i++)
            out[k * hw + i] = in[i] * sd_latent_rgb[0][k] + in[hw + i] * sd_latent_rgb[1][k] +
                              in[2 * hw + i] * sd_latent_rgb[2][k] + in[3 * hw + i] * sd_latent_rgb[3][k];
    return rg_image_from_tensor(rgb, -1.0f, 1.0f, error);
}

rg_tensor *encode_image(rg_pipeline *p, const rg_image *img, guint64 seed, GError **error)
{
    g_autoptr(rg_image) rgb = img->channels == 3 ? rg_image_copy(img, error) : rg_image_convert(img, 3, error);
    g_autoptr(rg_tensor) x = rgb ? rg_image_to_tensor(rgb, error) : NULL;
    g_autoptr(rg_tensor) mean = NULL, logvar = NULL;
    if (!x || !rg_vae_encode(p->vae, p->ctx, x, &mean, &logvar, error))
        return NULL;
    // the official code samples the posterior (latent_dist.sample()), not its mean
    rg_rng rng;
    noise_rng_init(&rng, seed, NOISE_POSTERIOR);
    const int64_t *s = rg_tensor_shape(mean);
    g_autoptr(rg_tensor) noise = noise_tensor(&rng, s[0], s[1], s[2], s[3], error);
    g_autoptr(rg_tensor) z = noise ? rg_vae_sample(p->ctx, mean, logvar, noise, error) : NULL;
    return z ? rg_scale(p->ctx, z, rg_vae_get_config(p->vae)->scaling_factor, 0.0f, error) : NULL;
}
