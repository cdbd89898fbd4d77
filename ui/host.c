/* host.c — helpers shared by every host. */
#include "host.h"

void rg_host_layers_free(GArray *layers)
{
    if (!layers)
        return;
    for (guint i = 0; i < layers->len; i++)
        g_free(g_array_index(layers, RgHostLayer, i).name);
    g_array_unref(layers);
}
