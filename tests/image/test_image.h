/* test_image.h — helpers shared by the files of test_image. */
#pragma once

#include "readout/image.h"

/* A seeded image of uniform noise. */
rg_image *test_image_random(guint32 seed, int width, int height, int channels);
/* Same size, channels and bytes. */
gboolean test_image_equal(const rg_image *a, const rg_image *b);
/* An (H, W, C) tensor of 0..255 values (as tests/reference/image.py writes them) as an image. */
rg_image *test_image_from_hwc(rg_tensor *t);

void test_image_png_register(void);
void test_image_png_cleanup(void);
