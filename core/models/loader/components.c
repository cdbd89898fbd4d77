/* components.c — building a model's UNet, VAE and text encoder from its
 * weights and config.json (SD1.5's configuration where a single file has
 * none): what every user of rg_model does. */
#include "readout/clip.h"
#include "readout/model.h"
#include "readout/unet.h"
#include "readout/vae.h"

/* The weights are opened first (headers only), so that a model without the
 * component says so before its config is judged. */
rg_unet *rg_model_load_unet(rg_model *m, GError **error)
{
    g_autoptr(rg_weights) w = rg_model_weights(m, "unet", error);
    g_autofree char *config = w ? rg_model_config_path(m, "unet") : NULL;
    rg_unet_config c;
    if (!w || (config ? !rg_unet_config_load(&c, config, error) : (rg_unet_config_init_sd15(&c), FALSE)))
        return NULL;
    return rg_unet_new(&c, w, error);
}

rg_vae *rg_model_load_vae(rg_model *m, GError **error)
{
    g_autoptr(rg_weights) w = rg_model_weights(m, "vae", error);
    g_autofree char *config = w ? rg_model_config_path(m, "vae") : NULL;
    rg_vae_config c;
    if (!w || (config ? !rg_vae_config_load(&c, config, error) : (rg_vae_config_init_sd15(&c), FALSE)))
        return NULL;
    return rg_vae_new(&c, w, error);
}

rg_clip_text *rg_model_load_text_encoder(rg_model *m, GError **error)
{
    g_autoptr(rg_weights) w = rg_model_weights(m, "text_encoder", error);
    g_autofree char *config = w ? rg_model_config_path(m, "text_encoder") : NULL;
    rg_clip_text_config c;
    if (!w || (config ? !rg_clip_text_config_load(&c, config, error) : (rg_clip_text_config_init_sd15(&c), FALSE)))
        return NULL;
    return rg_clip_text_new(&c, w, error);
}
