/* test_dtype.c — f16 and bf16 storage: loading converts exactly to f32 (as
 * PyTorch's .float()), and the f32 -> f16/bf16 rounding matches PyTorch's
 * (round to nearest even, overflow to infinity, subnormals). Golden data from
 * tests/reference/dtype.py. */
#include "rg_test.h"

#include <math.h>
#include <string.h>

static gboolean check_storage(rg_safetensors *g, const char *name, uint16_t (*to16)(float))
{
    GError *error = NULL;
    g_autofree char *stored = g_strdup_printf("%s.stored", name);
    g_autoptr(rg_tensor) loaded = rg_safetensors_load(g, stored, &error); /* converted to F32 */
    rg_assert_no_error(error);
    g_autoptr(rg_tensor) value = rg_test_load(g, name, "value");
    g_autoptr(rg_tensor) source = rg_test_load(g, name, "source");
    gboolean ok = rg_check_tensor(name, loaded, value, 0, 0);

    /* round trip: f32 source -> 16 bits -> f32 equals PyTorch's conversion */
    const float *src = rg_tensor_data_f32(source), *val = rg_tensor_data_f32(value);
    int bad = 0;
    for (int64_t i = 0; i < rg_tensor_numel(source); i++) {
        uint16_t h = to16(src[i]);
        float back = to16 == rg_f32_to_f16 ? rg_f16_to_f32(h) : rg_bf16_to_f32(h);
        if (memcmp(&back, &val[i], 4) != 0 && !(isnan(back) && isnan(val[i]))) {
            if (bad++ < 5)
                g_print("  %s rounding of %.9g: got %.9g, PyTorch %.9g\n", name, src[i], back, val[i]);
        }
    }
    g_print("%s %s rounding matches PyTorch\n", bad ? "NOT OK" : "OK", name);
    return ok && bad == 0;
}

static gboolean integers(rg_safetensors *g)
{
    GError *error = NULL;
    g_autoptr(rg_tensor) i32 = rg_safetensors_load(g, "i32.stored", &error);
    rg_assert_no_error(error);
    g_autoptr(rg_tensor) i64 = rg_safetensors_load(g, "i64.stored", &error);
    rg_assert_no_error(error);
    const int64_t *a = rg_tensor_data_i64(i32), *b = rg_tensor_data_i64(i64);
    gboolean ok = rg_tensor_dtype(i32) == RG_DTYPE_I64 && a[0] == -7 && a[1] == 0 && a[2] == 2147483647 &&
                  b[0] == -(INT64_C(1) << 40) && b[1] == 5;
    g_print("%s integers load as I64\n", ok ? "OK" : "NOT OK");
    return ok;
}

static gboolean nan_stays_nan(void)
{
    gboolean ok = isnan(rg_f16_to_f32(rg_f32_to_f16(NAN))) && isnan(rg_bf16_to_f32(rg_f32_to_bf16(NAN)));
    g_print("%s NaN survives both storage types\n", ok ? "OK" : "NOT OK");
    return ok;
}

static gboolean new_from_data(void)
{
    GError *error = NULL;
    uint16_t halves[3] = { 0x3c00, 0xc000, 0x7bff }; /* 1, -2, 65504 */
    int64_t n = 3;
    g_autoptr(rg_tensor) t = rg_tensor_new_from_data(RG_DTYPE_F16, 1, &n, halves, &error);
    rg_assert_no_error(error);
    const float *p = rg_tensor_data_f32(t);
    gboolean ok = rg_tensor_dtype(t) == RG_DTYPE_F32 && p[0] == 1.0f && p[1] == -2.0f && p[2] == 65504.0f;
    g_print("%s rg_tensor_new_from_data converts F16 to F32\n", ok ? "OK" : "NOT OK");
    RG_EXPECT_ERROR(ok, "f16 compute tensor", rg_tensor_new(RG_DTYPE_F16, 1, &n, &err_), RG_ERROR_DTYPE, "tensor");
    int64_t huge[2] = { INT64_C(1) << 40, INT64_C(1) << 40 };
    RG_EXPECT_ERROR(ok, "huge shape", rg_tensor_new(RG_DTYPE_F32, 2, huge, &err_), RG_ERROR_SHAPE, "tensor");
    int64_t big = INT64_C(1) << 39; /* 2 TiB of floats: must fail cleanly */
    RG_EXPECT_ERROR(ok, "out of memory", rg_tensor_new(RG_DTYPE_F32, 1, &big, &err_), RG_ERROR_OUT_OF_MEMORY,
                    "out of memory");
    return ok;
}

int main(void)
{
    g_autoptr(rg_safetensors) g = rg_test_golden("dtype");
    gboolean ok = check_storage(g, "f16", rg_f32_to_f16);
    ok &= check_storage(g, "bf16", rg_f32_to_bf16);
    ok &= integers(g);
    ok &= nan_stays_nan();
    ok &= new_from_data();
    g_print("%s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
