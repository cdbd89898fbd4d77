/* pickle_restricted.c — the restricted unpickler (see pickle_restricted.h).
 *
 * The pickle is untrusted: the machine below knows only the opcodes that
 * torch.save (protocols 2 to 4) emits for dicts of tensors and plain values,
 * resolves only four kinds of globals, and treats REDUCE as a call to one of
 * two known constructors (OrderedDict() and _rebuild_tensor_v2); BUILD may
 * only set an OrderedDict's _metadata. Every read is bounds-checked; every
 * value lives in one arena freed at the end, so cycles made through the memo
 * cannot leak. A tensor may not hold more elements than its storage, and all
 * tensors together no more than the caller allows, so a small file cannot
 * make the reader allocate much.
 */
#include <string.h>

#include "io/pickle_restricted.h"
#include "tensor/tensor_impl.h"

/* A readout head's pickle makes ~3,000 values, SD's UNet state dict ~20,000. */
#define MAX_VALUES (1u << 20)

const char *const rg_pv_kind_names[] = {"None", "bool", "int", "float", "str", "tuple", "list", "dict",
                                         "collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                                         "storage type", "storage", "tensor"};

struct rg_pickle {
    GPtrArray *arena; /* rg_pv, all of them */
    rg_pv *root;
};



typedef struct {
    const char *what;
    const rg_zip *zip;
    const char *prefix;  /* "<name>/" */
    const guint8 *p;     /* the pickle */
    gsize len, pos, op_pos;
    GPtrArray *arena;    /* rg_pv, all of them (owned by the rg_pickle) */
    GPtrArray *stack;
    GArray *marks;       /* gsize stack lengths */
    GHashTable *memo;    /* index -> rg_pv */
    GHashTable *storages; /* key -> rg_pv */
    int64_t numel_left;  /* elements tensors may still take, all together */
} vm;

static void value_free(gpointer p)
{
    rg_pv *v = p;
    g_free(v->s);
    if (v->items)
        g_ptr_array_free(v->items, TRUE);
    if (v->keys)
        g_ptr_array_free(v->keys, TRUE);
    if (v->index)
        g_hash_table_destroy(v->index);
    if (v->tensor)
        rg_tensor_unref(v->tensor);
    g_free(v);
}

static rg_pv *new_value(vm *m, rg_pv_kind k)
{
    rg_pv *v = g_new0(rg_pv, 1);
    v->kind = k;
    if (k == RG_PV_TUPLE || k == RG_PV_LIST || k == RG_PV_DICT)
        v->items = g_ptr_array_new();
    if (k == RG_PV_DICT)
        v->keys = g_ptr_array_new(); /* index: made on the first key */
    g_ptr_array_add(m->arena, v);
    return v;
}

/* "x.pt: data.pkl offset 123, opcode REDUCE: ..." */
static gboolean vm_fail(vm *m, GError **error, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static gboolean vm_fail(vm *m, GError **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, RG_ERROR, RG_ERROR_FORMAT, "%s: %sdata.pkl offset %" G_GSIZE_FORMAT ": %s", m->what, m->prefix,
                m->op_pos, msg);
    g_free(msg);
    return FALSE;
}

static const guint8 *take(vm *m, gsize n, GError **error)
{
    if (n > m->len - m->pos) {
        vm_fail(m, error, "the pickle ends in the middle of an opcode (truncated?)");
        return NULL;
    }
    const guint8 *r = m->p + m->pos;
    m->pos += n;
    return r;
}

static rg_pv *pop(vm *m, GError **error)
{
    gsize floor = m->marks->len ? g_array_index(m->marks, gsize, m->marks->len - 1) : 0;
    if (m->stack->len <= floor) {
        vm_fail(m, error, "stack underflow");
        return NULL;
    }
    return g_ptr_array_steal_index(m->stack, m->stack->len - 1);
}

static rg_pv *top(vm *m, GError **error)
{
    gsize floor = m->marks->len ? g_array_index(m->marks, gsize, m->marks->len - 1) : 0;
    if (m->stack->len <= floor) {
        vm_fail(m, error, "stack underflow");
        return NULL;
    }
    return m->stack->pdata[m->stack->len - 1];
}

/* Removes the last MARK; the items above it start at stack index *start. */
static gboolean pop_mark(vm *m, gsize *start, GError **error)
{
    if (!m->marks->len)
        return vm_fail(m, error, "no MARK on the stack");
    *start = g_array_index(m->marks, gsize, m->marks->len - 1);
    g_array_set_size(m->marks, m->marks->len - 1);
    return TRUE;
}

/* The value just below stack index @start (the list of APPENDS, the dict of
 * SETITEMS), which must lie above the next MARK. */
static rg_pv *below(vm *m, gsize start, GError **error)
{
    gsize floor = m->marks->len ? g_array_index(m->marks, gsize, m->marks->len - 1) : 0;
    if (start <= floor) {
        vm_fail(m, error, "stack underflow");
        return NULL;
    }
    return m->stack->pdata[start - 1];
}

static gboolean dict_set(vm *m, rg_pv *d, rg_pv *k, rg_pv *v, GError **error)
{
    if (d->kind != RG_PV_DICT)
        return vm_fail(m, error, "SETITEM on a %s", rg_pv_kind_names[d->kind]);
    if (k->kind != RG_PV_STR)
        return vm_fail(m, error, "dict key is not a str but a %s", rg_pv_kind_names[k->kind]);
    if (!d->index)
        d->index = g_hash_table_new(g_str_hash, g_str_equal);
    if (g_hash_table_contains(d->index, k->s))
        return vm_fail(m, error, "dict key \"%s\" appears twice", k->s);
    g_hash_table_add(d->index, k->s);
    g_ptr_array_add(d->keys, k->s);
    g_ptr_array_add(d->items, v);
    return TRUE;
}

static gboolean push_string(vm *m, gsize n, GError **error)
{
    const guint8 *s = take(m, n, error);
    if (!s)
        return FALSE;
    if (!g_utf8_validate((const char *)s, (gssize)n, NULL) || memchr(s, 0, n))
        return vm_fail(m, error, "a string is not UTF-8 text without NUL");
    rg_pv *v = new_value(m, RG_PV_STR);
    v->s = g_strndup((const char *)s, n);
    g_ptr_array_add(m->stack, v);
    return TRUE;
}

/* GLOBAL / STACK_GLOBAL: only the four kinds of names torch.save uses. */
static gboolean push_global(vm *m, const char *module, const char *name, GError **error)
{
    static const struct { const char *name; rg_dtype dtype; } storages[] = {
        {"FloatStorage", RG_DTYPE_F32}, {"HalfStorage", RG_DTYPE_F16}, {"BFloat16Storage", RG_DTYPE_BF16}};
    rg_pv *v = NULL;
    if (!strcmp(module, "collections") && !strcmp(name, "OrderedDict"))
        v = new_value(m, RG_PV_ODICT_CLASS);
    else if (!strcmp(module, "torch._utils") && !strcmp(name, "_rebuild_tensor_v2"))
        v = new_value(m, RG_PV_REBUILD_FN);
    else if (!strcmp(module, "torch"))
        for (guint k = 0; k < G_N_ELEMENTS(storages) && !v; k++)
            if (!strcmp(name, storages[k].name)) {
                v = new_value(m, RG_PV_STORAGE_CLASS);
                v->dtype = storages[k].dtype;
            }
    if (!v) {
        char *em = g_strescape(module, NULL), *en = g_strescape(name, NULL);
        vm_fail(m, error,
                "global %s.%s is not allowed (only collections.OrderedDict, torch._utils._rebuild_tensor_v2 and "
                "torch.FloatStorage/HalfStorage/BFloat16Storage); the file was not loaded and nothing in it was run",
                em, en);
        g_free(em);
        g_free(en);
        return FALSE;
    }
    g_ptr_array_add(m->stack, v);
    return TRUE;
}

static gboolean read_line(vm *m, char **out, GError **error)
{
    const guint8 *s = m->p + m->pos, *nl = memchr(s, '\n', MIN(m->len - m->pos, (gsize)256));
    if (!nl)
        return vm_fail(m, error, "GLOBAL name without an end of line");
    *out = g_strndup((const char *)s, (gsize)(nl - s));
    m->pos += (gsize)(nl - s) + 1;
    return TRUE;
}

/* BINPERSID ('storage', type, key, location, numel). */
static gboolean persistent_load(vm *m, rg_pv *pid, GError **error)
{
    if (pid->kind != RG_PV_TUPLE || pid->items->len != 5)
        return vm_fail(m, error, "persistent id is not a 5-tuple ('storage', type, key, location, numel)");
    rg_pv **it = (rg_pv **)pid->items->pdata;
    if (it[0]->kind != RG_PV_STR || strcmp(it[0]->s, "storage") || it[1]->kind != RG_PV_STORAGE_CLASS ||
        it[2]->kind != RG_PV_STR || it[3]->kind != RG_PV_STR || it[4]->kind != RG_PV_INT || it[4]->i < 0)
        return vm_fail(m, error, "persistent id is not ('storage', type, key, location, numel)");
    rg_pv *s = g_hash_table_lookup(m->storages, it[2]->s);
    if (s) {
        if (s->dtype != it[1]->dtype || s->i != it[4]->i)
            return vm_fail(m, error, "storage %s is declared twice with different types or sizes", it[2]->s);
        g_ptr_array_add(m->stack, s);
        return TRUE;
    }
    char *entry_name = g_strconcat(m->prefix, "data/", it[2]->s, NULL);
    const rg_zip_entry *e = rg_zip_find(m->zip, entry_name);
    g_free(entry_name);
    if (!e)
        return vm_fail(m, error, "storage %s has no entry %sdata/%s in the archive", it[2]->s, m->prefix, it[2]->s);
    guint64 esize = rg_dtype_size(it[1]->dtype);
    if ((guint64)it[4]->i > e->size / esize || (guint64)it[4]->i * esize != e->size)
        return vm_fail(m, error, "storage %s declares %" G_GINT64_FORMAT " %s elements but holds %" G_GUINT64_FORMAT
                       " bytes", it[2]->s, it[4]->i, rg_dtype_name(it[1]->dtype), e->size);
    if (!rg_zip_check_crc(e, m->what, error))
        return FALSE;
    s = new_value(m, RG_PV_STORAGE);
    s->dtype = it[1]->dtype;
    s->i = it[4]->i;
    s->data = e;
    g_hash_table_insert(m->storages, it[2]->s, s);
    g_ptr_array_add(m->stack, s);
    return TRUE;
}

static float element(const guint8 *p, rg_dtype dtype)
{
    if (dtype == RG_DTYPE_F32) {
        float f;
        memcpy(&f, p, 4);
        return f;
    }
    uint16_t h = (uint16_t)(p[0] | p[1] << 8);
    return dtype == RG_DTYPE_F16 ? rg_f16_to_f32(h) : rg_bf16_to_f32(h);
}

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]) */
static rg_pv *rebuild_tensor(vm *m, rg_pv *args, GError **error)
{
    rg_pv **a = (rg_pv **)args->items->pdata;
    if (args->kind != RG_PV_TUPLE || (args->items->len != 6 && args->items->len != 7) || a[0]->kind != RG_PV_STORAGE ||
        a[1]->kind != RG_PV_INT || a[2]->kind != RG_PV_TUPLE || a[3]->kind != RG_PV_TUPLE || a[4]->kind != RG_PV_BOOL ||
        a[5]->kind != RG_PV_DICT || a[5]->items->len || (args->items->len == 7 && a[6]->kind != RG_PV_NONE)) {
        vm_fail(m, error, "_rebuild_tensor_v2 arguments are not (storage, offset, size, stride, requires_grad, "
                          "OrderedDict())");
        return NULL;
    }
    rg_pv *st = a[0];
    int ndim = (int)a[2]->items->len;
    if (ndim > RG_MAX_DIMS || a[3]->items->len != (guint)ndim) {
        vm_fail(m, error, "tensor with %d sizes and %u strides (at most %d dimensions)", ndim, a[3]->items->len,
                RG_MAX_DIMS);
        return NULL;
    }
    int64_t shape[RG_MAX_DIMS], stride[RG_MAX_DIMS], numel = 1, last = a[1]->i;
    gboolean contiguous = TRUE, empty = FALSE;
    for (int d = 0; d < ndim; d++) {
        rg_pv *sz = a[2]->items->pdata[d];
        empty |= sz->kind == RG_PV_INT && sz->i == 0;
    }
    /* An empty tensor reads nothing: its sizes and strides need only be sane. */
    int64_t limit = empty ? G_GINT64_CONSTANT(1) << 32 : st->i;
    for (int d = ndim - 1; d >= 0; d--) {
        rg_pv *sz = a[2]->items->pdata[d], *sd = a[3]->items->pdata[d];
        if (sz->kind != RG_PV_INT || sd->kind != RG_PV_INT || sz->i < 0 || sd->i < 0 || sz->i > limit || sd->i > limit ||
            (!empty && sz->i > 1 && sd->i > st->i / (sz->i - 1))) {
            vm_fail(m, error, "tensor size or stride out of range for its storage of %" G_GINT64_FORMAT " elements",
                    st->i);
            return NULL;
        }
        shape[d] = sz->i;
        stride[d] = sd->i;
        if (shape[d] != 1 && stride[d] != numel)
            contiguous = FALSE;
        numel = empty ? 0 : numel * shape[d]; /* <= st->i below, so no overflow */
        if (numel > st->i) {
            vm_fail(m, error, "tensor of more elements than its storage (%" G_GINT64_FORMAT ")", st->i);
            return NULL;
        }
        if (shape[d])
            last += (shape[d] - 1) * stride[d]; /* each term <= st->i, which < 2^48 (it is in memory) */
    }
    if (numel && (a[1]->i < 0 || a[1]->i > st->i || last >= st->i)) {
        vm_fail(m, error, "tensor reaches past the end of its storage of %" G_GINT64_FORMAT " elements", st->i);
        return NULL;
    }
    /* Storages shared by many tensors must not multiply memory. */
    if (numel > m->numel_left) {
        vm_fail(m, error, "the tensors hold more elements in total than the file has bytes");
        return NULL;
    }
    m->numel_left -= numel;
    rg_tensor *t;
    gsize esize = rg_dtype_size(st->dtype);
    const guint8 *base = st->data->data + (numel ? (gsize)a[1]->i * esize : 0);
    if (contiguous && (guintptr)base % esize == 0) {
        t = rg_tensor_new_from_data(st->dtype, ndim, shape, base, error);
    } else {
        t = rg_tensor_new(RG_DTYPE_F32, ndim, shape, error);
        if (t) {
            float *out = rg_tensor_data_f32(t); // shape
            int64_t idx[RG_MAX_DIMS] = {0};
            for (int64_t i = 0; i < numel; i++) {
                int64_t off = 0;
                for (int d = 0; d < ndim; d++)
                    off += idx[d] * stride[d];
                out[i] = element(base + (gsize)off * esize, st->dtype);
                for (int d = ndim - 1; d >= 0 && ++idx[d] == shape[d]; d--)
                    idx[d] = 0;
            }
        }
    }
    if (!t)
        return NULL;
    rg_pv *v = new_value(m, RG_PV_TENSOR);
    v->tensor = t;
    return v;
}

static gboolean reduce(vm *m, GError **error)
{
    rg_pv *args = pop(m, error), *fn = args ? pop(m, error) : NULL;
    if (!fn)
        return FALSE;
    if (args->kind != RG_PV_TUPLE)
        return vm_fail(m, error, "REDUCE arguments are a %s, not a tuple", rg_pv_kind_names[args->kind]);
    rg_pv *r = NULL;
    if (fn->kind == RG_PV_ODICT_CLASS) {
        if (args->items->len)
            return vm_fail(m, error, "REDUCE: OrderedDict called with arguments");
        r = new_value(m, RG_PV_DICT);
        r->ordered = TRUE;
    } else if (fn->kind == RG_PV_REBUILD_FN) {
        r = rebuild_tensor(m, args, error);
        if (!r)
            return FALSE;
    } else {
        return vm_fail(m, error, "REDUCE may call only OrderedDict and _rebuild_tensor_v2, not a %s",
                       fn->kind == RG_PV_STORAGE_CLASS ? "torch storage type" : rg_pv_kind_names[fn->kind]);
    }
    g_ptr_array_add(m->stack, r);
    return TRUE;
}

/* BUILD: allowed only as state_dict() pickles, to set OrderedDict._metadata. */
static gboolean build(vm *m, GError **error)
{
    rg_pv *state = pop(m, error), *obj = state ? top(m, error) : NULL;
    if (!obj)
        return FALSE;
    if (obj->kind != RG_PV_DICT || !obj->ordered)
        return vm_fail(m, error, "opcode BUILD (setting the state of an object) on a %s is not allowed",
                       rg_pv_kind_names[obj->kind]);
    if (state->kind == RG_PV_NONE)
        return TRUE;
    if (state->kind != RG_PV_DICT || state->keys->len > 1 ||
        (state->keys->len == 1 && strcmp(state->keys->pdata[0], "_metadata")))
        return vm_fail(m, error, "opcode BUILD on an OrderedDict may set only _metadata");
    return TRUE; /* _metadata (module versions) is not needed */
}

static gboolean memo_put(vm *m, guint64 idx, GError **error)
{
    rg_pv *v = top(m, error);
    if (!v)
        return FALSE;
    g_hash_table_insert(m->memo, GSIZE_TO_POINTER((gsize)idx), v);
    return TRUE;
}

static gboolean memo_get(vm *m, guint64 idx, GError **error)
{
    rg_pv *v = g_hash_table_lookup(m->memo, GSIZE_TO_POINTER((gsize)idx));
    if (!v)
        return vm_fail(m, error, "memo entry %" G_GUINT64_FORMAT " was never stored", idx);
    g_ptr_array_add(m->stack, v);
    return TRUE;
}

static const char *opcode_name(guint8 op)
{
    switch (op) {
    case 'i': return "INST";
    case 'o': return "OBJ";
    case 0x81: return "NEWOBJ";
    case 0x92: return "NEWOBJ_EX";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 'P': return "PERSID";
    case 'I': return "INT";
    case 'L': return "LONG";
    case 'F': return "FLOAT";
    case 'S': return "STRING";
    case 'V': return "UNICODE";
    case 'T': return "BINSTRING";
    case 'U': return "SHORT_BINSTRING";
    case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";
    case 0x8e: return "BINBYTES8";
    case 0x8b: return "LONG4";
    case 'g': return "GET";
    case 'p': return "PUT";
    case '0': return "POP";
    case '1': return "POP_MARK";
    case '2': return "DUP";
    case 'l': return "LIST";
    case 'd': return "DICT";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return "unknown";
    }
}

/* Runs the pickle; the result is left in *result. */
static gboolean run(vm *m, rg_pv **result, GError **error)
{
    const guint8 *b;
    while (m->pos < m->len) {
        m->op_pos = m->pos;
        guint8 op = m->p[m->pos++];
        if (m->arena->len >= MAX_VALUES)
            return vm_fail(m, error, "more than %u values in the pickle", MAX_VALUES);
        rg_pv *v, *k;
        gsize start = 0;
        switch (op) {
        case 0x80: /* PROTO */
            if (!(b = take(m, 1, error)))
                return FALSE;
            if (b[0] < 2 || b[0] > 5)
                return vm_fail(m, error, "pickle protocol %u (2 to 5 are read)", b[0]);
            break;
        case 0x95: /* FRAME: framing only */
            if (!take(m, 8, error))
                return FALSE;
            break;
        case '.': /* STOP */
            if (!(v = pop(m, error)))
                return FALSE;
            if (m->stack->len || m->marks->len)
                return vm_fail(m, error, "STOP with more than one value on the stack");
            *result = v;
            return TRUE;
        case '(': /* MARK */
            start = m->stack->len;
            g_array_append_val(m->marks, start);
            break;
        case '}': g_ptr_array_add(m->stack, new_value(m, RG_PV_DICT)); break;
        case ']': g_ptr_array_add(m->stack, new_value(m, RG_PV_LIST)); break;
        case ')': g_ptr_array_add(m->stack, new_value(m, RG_PV_TUPLE)); break;
        case 'N': g_ptr_array_add(m->stack, new_value(m, RG_PV_NONE)); break;
        case 0x88: case 0x89: /* NEWTRUE, NEWFALSE */
            v = new_value(m, RG_PV_BOOL);
            v->i = op == 0x88;
            g_ptr_array_add(m->stack, v);
            break;
        case 't': case 0x85: case 0x86: case 0x87: /* TUPLE, TUPLE1..3 */
            if (op == 't') {
                if (!pop_mark(m, &start, error))
                    return FALSE;
            } else {
                gsize n = (gsize)(op - 0x84);
                gsize floor = m->marks->len ? g_array_index(m->marks, gsize, m->marks->len - 1) : 0;
                if (m->stack->len < floor + n)
                    return vm_fail(m, error, "stack underflow");
                start = m->stack->len - n;
            }
            v = new_value(m, RG_PV_TUPLE);
            for (gsize i = start; i < m->stack->len; i++)
                g_ptr_array_add(v->items, m->stack->pdata[i]);
            g_ptr_array_set_size(m->stack, (guint)start);
            g_ptr_array_add(m->stack, v);
            break;
        case 'a': /* APPEND */
            if (!(v = pop(m, error)) || !(k = top(m, error)))
                return FALSE;
            if (k->kind != RG_PV_LIST)
                return vm_fail(m, error, "APPEND to a %s", rg_pv_kind_names[k->kind]);
            g_ptr_array_add(k->items, v);
            break;
        case 'e': /* APPENDS */
            if (!pop_mark(m, &start, error) || !(k = below(m, start, error)))
                return FALSE;
            if (k->kind != RG_PV_LIST)
                return vm_fail(m, error, "APPENDS to a %s", rg_pv_kind_names[k->kind]);
            for (gsize i = start; i < m->stack->len; i++)
                g_ptr_array_add(k->items, m->stack->pdata[i]);
            g_ptr_array_set_size(m->stack, (guint)start);
            break;
        case 's': /* SETITEM */
            if (!(v = pop(m, error)) || !(k = pop(m, error)) || !top(m, error))
                return FALSE;
            if (!dict_set(m, top(m, NULL), k, v, error))
                return FALSE;
            break;
        case 'u': /* SETITEMS */
            if (!pop_mark(m, &start, error) || !(v = below(m, start, error)))
                return FALSE;
            if ((m->stack->len - start) % 2)
                return vm_fail(m, error, "SETITEMS with an odd number of items");
            for (gsize i = start; i < m->stack->len; i += 2)
                if (!dict_set(m, v, m->stack->pdata[i], m->stack->pdata[i + 1], error))
                    return FALSE;
            g_ptr_array_set_size(m->stack, (guint)start);
            break;
        case 'q': case 'r': case 0x94: /* BINPUT, LONG_BINPUT, MEMOIZE */
            if (op == 0x94) {
                if (!memo_put(m, g_hash_table_size(m->memo), error))
                    return FALSE;
            } else {
                if (!(b = take(m, op == 'q' ? 1 : 4, error)) || !memo_put(m, op == 'q' ? b[0] : (guint64)b[0] | (guint64)b[1] << 8 | (guint64)b[2] << 16 | (guint64)b[3] << 24,
                                   error))
                    return FALSE;
            }
            break;
        case 'h': case 'j': /* BINGET, LONG_BINGET */
            if (!(b = take(m, op == 'h' ? 1 : 4, error)))
                return FALSE;
            if (!memo_get(m, op == 'h' ? b[0] : (guint64)b[0] | (guint64)b[1] << 8 | (guint64)b[2] << 16 |
                                                 (guint64)b[3] << 24, error))
                return FALSE;
            break;
        case 'X': case 0x8c: case 0x8d: { /* BINUNICODE, SHORT_BINUNICODE, BINUNICODE8 */
            gsize nb = op == 'X' ? 4 : op == 0x8c ? 1 : 8;
            if (!(b = take(m, nb, error)))
                return FALSE;
            guint64 n = 0;
            for (gsize i = nb; i-- > 0;)
                n = n << 8 | b[i];
            if (n > m->len - m->pos)
                return vm_fail(m, error, "string of %" G_GUINT64_FORMAT " bytes runs past the pickle", n);
            if (!push_string(m, (gsize)n, error))
                return FALSE;
            break;
        }
        case 'K': case 'M': case 'J': { /* BININT1, BININT2, BININT */
            gsize nb = op == 'K' ? 1 : op == 'M' ? 2 : 4;
            if (!(b = take(m, nb, error)))
                return FALSE;
            v = new_value(m, RG_PV_INT);
            v->i = op == 'K' ? b[0] : op == 'M' ? (gint64)(b[0] | b[1] << 8)
                                                : (gint64)(gint32)((guint32)b[0] | (guint32)b[1] << 8 |
                                                                   (guint32)b[2] << 16 | (guint32)b[3] << 24);
            g_ptr_array_add(m->stack, v);
            break;
        }
        case 0x8a: { /* LONG1 */
            if (!(b = take(m, 1, error)))
                return FALSE;
            gsize n = b[0];
            if (n > 8)
                return vm_fail(m, error, "integer of %" G_GSIZE_FORMAT " bytes (at most 8 are read)", n);
            if (!(b = take(m, n, error)))
                return FALSE;
            guint64 u = 0;
            for (gsize i = n; i-- > 0;)
                u = u << 8 | b[i];
            if (n && n < 8 && (b[n - 1] & 0x80))
                u |= ~(guint64)0 << (8 * n);
            v = new_value(m, RG_PV_INT);
            v->i = (gint64)u;
            g_ptr_array_add(m->stack, v);
            break;
        }
        case 'G': { /* BINFLOAT, big-endian */
            if (!(b = take(m, 8, error)))
                return FALSE;
            guint64 u = 0;
            for (int i = 0; i < 8; i++)
                u = u << 8 | b[i];
            v = new_value(m, RG_PV_FLOAT);
            memcpy(&v->f, &u, 8);
            g_ptr_array_add(m->stack, v);
            break;
        }
        case 'c': { /* GLOBAL "module\nname\n" */
            char *mod = NULL, *name = NULL;
            gboolean ok = read_line(m, &mod, error) && read_line(m, &name, error) &&
                          push_global(m, mod, name, error);
            g_free(mod);
            g_free(name);
            if (!ok)
                return FALSE;
            break;
        }
        case 0x93: /* STACK_GLOBAL */
            if (!(v = pop(m, error)) || !(k = pop(m, error)))
                return FALSE;
            if (v->kind != RG_PV_STR || k->kind != RG_PV_STR)
                return vm_fail(m, error, "STACK_GLOBAL of non-strings");
            if (!push_global(m, k->s, v->s, error))
                return FALSE;
            break;
        case 'R': /* REDUCE */
            if (!reduce(m, error))
                return FALSE;
            break;
        case 'b': /* BUILD */
            if (!build(m, error))
                return FALSE;
            break;
        case 'Q': /* BINPERSID */
            if (!(v = pop(m, error)) || !persistent_load(m, v, error))
                return FALSE;
            break;
        default:
            return vm_fail(m, error, "opcode %s (0x%02x) is not allowed in a weights file; nothing was loaded",
                           opcode_name(op), op);
        }
    }
    m->op_pos = m->pos;
    return vm_fail(m, error, "the pickle ends without STOP (truncated?)");
}

rg_pickle *rg_pickle_run(const rg_zip *zip, const char *prefix, const rg_zip_entry *pkl, int64_t max_numel,
                         const char *what, GError **error)
{
    rg_pickle *pk = g_new0(rg_pickle, 1);
    pk->arena = g_ptr_array_new_with_free_func(value_free);
    vm m = {.what = what, .zip = zip, .prefix = prefix, .p = pkl->data, .len = pkl->size, .arena = pk->arena,
            .numel_left = max_numel};
    m.stack = g_ptr_array_new();
    m.marks = g_array_new(FALSE, FALSE, sizeof(gsize));
    m.memo = g_hash_table_new(g_direct_hash, g_direct_equal);
    m.storages = g_hash_table_new(g_str_hash, g_str_equal);
    gboolean ok = run(&m, &pk->root, error);
    g_hash_table_destroy(m.storages);
    g_hash_table_destroy(m.memo);
    g_array_free(m.marks, TRUE);
    g_ptr_array_free(m.stack, TRUE);
    if (!ok) {
        rg_pickle_free(pk);
        return NULL;
    }
    return pk;
}

rg_pv *rg_pickle_root(rg_pickle *pk) { return pk->root; }

void rg_pickle_free(rg_pickle *pk)
{
    if (!pk)
        return;
    g_ptr_array_free(pk->arena, TRUE);
    g_free(pk);
}
