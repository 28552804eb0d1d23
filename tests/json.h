/* tests/json.h - a tiny JSON reader for the test programs (not part of longctx).
 *
 * Parses a whole document into a tree of jval nodes: null, true/false, numbers
 * (double, via strtod), strings (escapes decoded; \uXXXX to UTF-8), arrays and
 * objects (keys kept in file order). It uses malloc: this is test code, never the
 * library. Malformed input, trailing garbage or nesting deeper than JSON_MAX_DEPTH
 * gives NULL.
 *
 *     jval *doc = jload("rope_hf.json");          // tests/data/, or $LCX_TEST_DATA/
 *     jval *cases = jget(doc, "cases");
 *     for (int i = 0; i < jlen(cases); i++) {
 *         jval *c = jat(cases, i);
 *         const char *name = jstr(jget(c, "name"));
 *         double theta = jnum(jget(c, "theta"), 10000.0);  // default when missing
 *     }
 *     jfree(doc);
 *
 * Accessors are NULL-tolerant: jget/jat on NULL or on the wrong type give NULL,
 * jlen gives -1, jnum gives its default, jstr gives NULL. So a lookup chain fails
 * once, at the end, where the test can report it.
 */
#ifndef LCX_TEST_JSON_H
#define LCX_TEST_JSON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval {
    jtype type;
    double num;          /* J_NUM; J_BOOL: 0 or 1 */
    char *str;           /* J_STR */
    int n;               /* J_ARR, J_OBJ: number of items */
    struct jval **items; /* J_ARR, J_OBJ: n items */
    char **keys;         /* J_OBJ: n keys */
} jval;

static inline void jfree(jval *v) {
    if (!v) return;
    for (int i = 0; i < v->n; i++) {
        jfree(v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

typedef struct { const char *p, *end; } jparser;

static inline void jskip_ws(jparser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static inline int jhex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A string starting at the opening quote; returns a malloc'd, NUL-terminated copy. */
static inline char *jparse_string(jparser *ps) {
    if (ps->p >= ps->end || *ps->p != '"') return NULL;
    ps->p++;
    const char *q = ps->p;
    while (q < ps->end && *q != '"') q += (*q == '\\') ? 2 : 1; /* find the end */
    if (q >= ps->end) return NULL;
    char *out = (char *)malloc((size_t)(q - ps->p) + 1), *o = out; /* decoded is never longer */
    if (!out) return NULL;
    while (ps->p < q) {
        unsigned char c = (unsigned char)*ps->p++;
        if (c < 0x20) { free(out); return NULL; } /* raw control character */
        if (c != '\\') { *o++ = (char)c; continue; }
        char e = *ps->p++;
        switch (e) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': { /* BMP code point to UTF-8 (surrogates kept as-is; tests never use them) */
            unsigned cp = 0;
            for (int k = 0; k < 4; k++) {
                int h = ps->p < q ? jhex(*ps->p++) : -1;
                if (h < 0) { free(out); return NULL; }
                cp = cp * 16 + (unsigned)h;
            }
            if (cp < 0x80) { *o++ = (char)cp; }
            else if (cp < 0x800) { *o++ = (char)(0xC0 | (cp >> 6)); *o++ = (char)(0x80 | (cp & 63)); }
            else { *o++ = (char)(0xE0 | (cp >> 12)); *o++ = (char)(0x80 | ((cp >> 6) & 63)); *o++ = (char)(0x80 | (cp & 63)); }
            break;
        }
        default: free(out); return NULL;
        }
    }
    *o = 0;
    ps->p = q + 1;
    return out;
}

/* Append item (and key, for objects) to v; 0 on allocation failure. */
static inline int jpush(jval *v, jval *item, char *key) {
    jval **items = (jval **)realloc(v->items, (size_t)(v->n + 1) * sizeof *items);
    if (!items) return 0;
    v->items = items;
    if (v->type == J_OBJ) {
        char **keys = (char **)realloc(v->keys, (size_t)(v->n + 1) * sizeof *keys);
        if (!keys) return 0;
        v->keys = keys;
        v->keys[v->n] = key;
    }
    v->items[v->n++] = item;
    return 1;
}

static inline jval *jparse_value(jparser *ps, int depth) {
    jskip_ws(ps);
    if (ps->p >= ps->end || depth > JSON_MAX_DEPTH) return NULL;
    jval *v = (jval *)calloc(1, sizeof *v);
    if (!v) return NULL;
    char c = *ps->p;
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        v->type = c == '{' ? J_OBJ : J_ARR;
        ps->p++;
        jskip_ws(ps);
        if (ps->p < ps->end && *ps->p == close) { ps->p++; return v; }
        for (;;) {
            char *key = NULL;
            if (v->type == J_OBJ) {
                jskip_ws(ps);
                key = jparse_string(ps);
                jskip_ws(ps);
                if (!key || ps->p >= ps->end || *ps->p != ':') { free(key); jfree(v); return NULL; }
                ps->p++;
            }
            jval *item = jparse_value(ps, depth + 1);
            if (!item || !jpush(v, item, key)) { jfree(item); free(key); jfree(v); return NULL; }
            jskip_ws(ps);
            if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
            if (ps->p < ps->end && *ps->p == close) { ps->p++; return v; }
            jfree(v);
            return NULL;
        }
    }
    if (c == '"') {
        v->type = J_STR;
        if (!(v->str = jparse_string(ps))) { jfree(v); return NULL; }
        return v;
    }
    static const char *const words[3] = {"true", "false", "null"};
    for (int w = 0; w < 3; w++) {
        size_t len = strlen(words[w]);
        if ((size_t)(ps->end - ps->p) >= len && memcmp(ps->p, words[w], len) == 0) {
            ps->p += len;
            v->type = w == 2 ? J_NULL : J_BOOL;
            v->num = w == 0;
            return v;
        }
    }
    /* a number, by JSON's grammar -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? (no '+',
       hex, inf or nan), then its value by strtod */
    const char *s = ps->p, *e = ps->end;
    if (s < e && *s == '-') s++;
    if (s < e && *s == '0') s++;
    else if (s < e && *s >= '1' && *s <= '9') while (s < e && *s >= '0' && *s <= '9') s++;
    else { jfree(v); return NULL; }
    if (s < e && *s == '.') {
        if (++s >= e || *s < '0' || *s > '9') { jfree(v); return NULL; }
        while (s < e && *s >= '0' && *s <= '9') s++;
    }
    if (s < e && (*s == 'e' || *s == 'E')) {
        if (++s < e && (*s == '+' || *s == '-')) s++;
        if (s >= e || *s < '0' || *s > '9') { jfree(v); return NULL; }
        while (s < e && *s >= '0' && *s <= '9') s++;
    }
    char *stop = NULL;
    v->type = J_NUM;
    v->num = strtod(ps->p, &stop);
    if (stop != s || v->num > 1.7976931348623157e308 || v->num < -1.7976931348623157e308) {
        jfree(v); /* not the span scanned, or overflow to infinity */
        return NULL;
    }
    ps->p = s;
    return v;
}

/* Parse a NUL-terminated document; NULL when malformed. */
static inline jval *jparse(const char *text) {
    jparser ps;
    ps.p = text;
    ps.end = text + strlen(text);
    jval *v = jparse_value(&ps, 0);
    jskip_ws(&ps);
    if (v && ps.p != ps.end) { jfree(v); return NULL; } /* trailing garbage */
    return v;
}

/* The directory test data is read from: $LCX_TEST_DATA, else tests/data (tests run
   from the repository root). */
static inline const char *jdata_dir(void) {
    const char *d = getenv("LCX_TEST_DATA");
    return (d && d[0]) ? d : "tests/data";
}

/* Read and parse jdata_dir()/name; NULL (with a message on stdout) when the file is
   missing or malformed. */
static inline jval *jload(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", jdata_dir(), name);
    FILE *f = fopen(path, "rb");
    long len = -1;
    char *buf = NULL;
    if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && len < (1L << 30) &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = (char *)malloc((size_t)len + 1)) != NULL &&
        fread(buf, 1, (size_t)len, f) == (size_t)len)
        buf[len] = 0;
    else
        len = -1;
    if (f) fclose(f);
    /* a NUL byte inside is malformed too */
    jval *v = len >= 0 && strlen(buf) == (size_t)len ? jparse(buf) : NULL;
    if (!v) printf("json: %s: %s\n", path, len < 0 ? "cannot read" : "not valid JSON");
    free(buf);
    return v;
}

/* ---- lookups (NULL-tolerant) ---------------------------------------------- */
static inline jval *jget(const jval *obj, const char *key) {
    if (!obj || obj->type != J_OBJ) return NULL;
    for (int i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0) return obj->items[i];
    return NULL;
}
static inline int jlen(const jval *arr) { return arr && arr->type == J_ARR ? arr->n : -1; }
static inline jval *jat(const jval *arr, int i) {
    return arr && arr->type == J_ARR && i >= 0 && i < arr->n ? arr->items[i] : NULL;
}
/* A number (or a bool as 0/1); dflt when v is missing or of another type. */
static inline double jnum(const jval *v, double dflt) {
    return v && (v->type == J_NUM || v->type == J_BOOL) ? v->num : dflt;
}
static inline const char *jstr(const jval *v) { return v && v->type == J_STR ? v->str : NULL; }

/* Copy a numeric array into out[max] (as double or as float); returns its length, or -1
   when it is not an array of numbers or is longer than max. */
static inline int jnums(const jval *arr, double *outd, float *outf, int max) {
    int n = jlen(arr);
    if (n < 0 || n > max) return -1;
    for (int i = 0; i < n; i++) {
        if (arr->items[i]->type != J_NUM) return -1;
        if (outd) outd[i] = arr->items[i]->num;
        if (outf) outf[i] = (float)arr->items[i]->num;
    }
    return n;
}
static inline int jdoubles(const jval *arr, double *out, int max) { return jnums(arr, out, NULL, max); }
static inline int jfloats(const jval *arr, float *out, int max) { return jnums(arr, NULL, out, max); }

#endif
