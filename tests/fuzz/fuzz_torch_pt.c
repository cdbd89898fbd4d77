/* fuzz_torch_pt.c — libFuzzer target for the restricted .pt reader: any
 * bytes must give either a handle whose tensors and JSON are all readable,
 * or an RG_ERROR GError, never a crash, a leak or a large allocation.
 * Seeds: tests/fuzz/corpus/torch_pt/ (copies of tests/reference/golden/pt). */
#include <string.h>

#include "readout/readout.h"
#include "readout/torch_pt.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    GError *error = NULL;
    rg_torch_pt *pt = rg_torch_pt_open_bytes(data, size, "fuzz.pt", &error);
    if (!pt) {
        g_assert(error != NULL && error->domain == RG_ERROR);
        g_error_free(error);
        return 0;
    }
    g_assert(error == NULL);
    double sum = 0;
    for (int i = 0; i < rg_torch_pt_count(pt); i++) {
        rg_tensor *t = rg_torch_pt_get(pt, rg_torch_pt_name(pt, i));
        g_assert(t != NULL && rg_tensor_is_contiguous(t));
        const float *x = rg_tensor_data_f32(t);
        for (int64_t k = 0; k < rg_tensor_numel(t); k++)
            sum += x[k];
    }
    g_assert(strlen(rg_torch_pt_values_json(pt)) > 0);
    rg_torch_pt_free(pt);
    return sum == 12345.678; /* keeps the reads */
}
