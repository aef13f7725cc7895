
/*
 * Copyright (C) crmsync authors
 *
 * Phone numbers to E.164, following libphonenumber-js's parse() and
 * isValid() with its "max" metadata (see ngx_http_crmsync_phone_data.c).
 *
 * Outline of a parse:
 *   1. RFC 3966 "tel:" URIs and ";phone-context=" are unwrapped, otherwise
 *      the number is cut out of the surrounding text: from the first '+' or
 *      digit to the last digit or '#';
 *   2. the candidate must look like a phone number (punctuation and digits,
 *      an optional extension), the extension is split off;
 *   3. digits (ASCII, full-width, Arabic-Indic, Eastern Arabic) are kept,
 *      and a leading '+';
 *   4. the calling code is read after '+' or after the default region's
 *      international prefix, or guessed when the national number starts
 *      with the region's own calling code; otherwise the number is national;
 *   5. the national prefix (and carrier code) is stripped, or rewritten by
 *      the transform rule, when what remains is still a possible number;
 *   6. the region is chosen among those sharing the calling code, and
 *      validity is the general pattern plus one of the type patterns.
 *
 * Pure C: no nginx headers, only libc and PCRE2.
 */


#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pcre2.h>

#include "ngx_http_crmsync_phone.h"


#define PHONE_MAX_INPUT        250    /* UTF-16 units, as in JS */
#define PHONE_BUF              1024
#define PHONE_MIN_NSN          2
#define PHONE_MAX_NSN          17
#define PHONE_MAX_CC           3
#define PHONE_OVEC             32

#define PHONE_IS_POSSIBLE      0
#define PHONE_TOO_SHORT        1
#define PHONE_TOO_LONG         2
#define PHONE_INVALID_LENGTH   3

/* JS character classes, as UTF-8 PCRE2 pattern text */
#define PHONE_DIGITS                                                        \
    "0-9\\x{FF10}-\\x{FF19}\\x{0660}-\\x{0669}\\x{06F0}-\\x{06F9}"
#define PHONE_PLUS  "+\\x{FF0B}"
#define PHONE_PUNCT                                                         \
    "\\-\\x{2010}-\\x{2015}\\x{2212}\\x{30FC}\\x{FF0D}"                     \
    "\\x{FF0F}/\\x{FF0E}. \\x{00A0}\\x{00AD}\\x{200B}\\x{2060}\\x{3000}"    \
    "()\\x{FF08}\\x{FF09}\\x{FF3B}\\x{FF3D}\\[\\]~\\x{2053}\\x{223C}"       \
    "\\x{FF5E}"

#define PHONE_EXT_SEP        "[ \\x{00A0}\\t,]*"
#define PHONE_EXT_AFTER      "[:\\.\\x{FF0E}]?[ \\x{00A0}\\t,-]*"
#define PHONE_EXT_NOCOMMA    "[ \\x{00A0}\\t]*"
#define PHONE_EXT_DIGITS(n)  "([" PHONE_DIGITS "]{1," #n "})"

#define PHONE_EXT                                                           \
    ";ext=" PHONE_EXT_DIGITS(20)                                            \
    "|" PHONE_EXT_SEP                                                       \
    "(?:e?xt(?:ensi(?:o\\x{0301}?|\\x{00F3}))?n?"                           \
    "|\\x{FF45}?\\x{FF58}\\x{FF54}\\x{FF4E}?|\\x{0434}\\x{043E}\\x{0431}"   \
    "|anexo)"                                                               \
    PHONE_EXT_AFTER PHONE_EXT_DIGITS(20) "#?"                               \
    "|" PHONE_EXT_SEP                                                       \
    "(?:[x\\x{FF58}#\\x{FF03}~\\x{FF5E}]|int|\\x{FF49}\\x{FF4E}\\x{FF54})"  \
    PHONE_EXT_AFTER PHONE_EXT_DIGITS(9) "#?"                                \
    "|[- ]+" PHONE_EXT_DIGITS(6) "#"                                        \
    "|" PHONE_EXT_NOCOMMA "(?:,{2}|;)" PHONE_EXT_AFTER                      \
    PHONE_EXT_DIGITS(15) "#?"                                               \
    "|" PHONE_EXT_NOCOMMA "(?:,)+" PHONE_EXT_AFTER PHONE_EXT_DIGITS(9) "#?"

#define PHONE_VIABLE                                                        \
    "^[" PHONE_DIGITS "]{2}$"                                               \
    "|^[" PHONE_PLUS "]{0,1}(?:[" PHONE_PUNCT "]*[" PHONE_DIGITS "]){3,}"   \
    "[" PHONE_PUNCT PHONE_DIGITS "]*(?:" PHONE_EXT ")?$"

#define PHONE_CTX_DIGITS                                                    \
    "^\\+([" PHONE_DIGITS "]|[\\-\\.\\(\\)]?)*[" PHONE_DIGITS "]"           \
    "([" PHONE_DIGITS "]|[\\-\\.\\(\\)]?)*$"

#define PHONE_CTX_DOMAIN                                                    \
    "^([" PHONE_DIGITS "]+((\\-)*[" PHONE_DIGITS "])*\\.)*"                 \
    "[a-zA-Z]+((\\-)*[" PHONE_DIGITS "])*\\.?$"


/*
 * The general, type and leading digits patterns use only digits, classes
 * of digits, \d, groups, '|', '?' and {n,m}, and are matched against
 * digit strings only for a yes/no answer.  They are compiled to a small
 * tree and matched by sets of positions (a bit per position, for subjects
 * of up to 62 digits): fast, and no backtracking limits.  The
 * international prefix and the national prefix for parsing need the
 * match length and captures, and go through PCRE2.
 */

#define PHONE_NODE_SET     0
#define PHONE_NODE_GROUP   1
#define PHONE_NODE_BRANCH  2
#define PHONE_NODE_MAXLEN  62

typedef struct {
    unsigned char   type;
    unsigned char   min;
    unsigned char   max;
    unsigned short  mask;      /* PHONE_NODE_SET: digits */
    unsigned int    next;      /* next item, or next branch */
    unsigned int    down;      /* group: first branch; branch: first item */
} ngx_http_crmsync_phone_node_t;

typedef struct {
    uint64_t        pos[10];   /* positions of each digit */
    uint64_t        any;
} ngx_http_crmsync_phone_subject_t;

typedef struct {
    pcre2_code     *idd;
    pcre2_code     *prefix;    /* national prefix for parsing */
    unsigned int    prefix_groups;
    unsigned int    general;   /* pattern trees, 0 if absent */
    unsigned int    leading;
    unsigned int    types[NGX_HTTP_CRMSYNC_PHONE_NTYPES];
} ngx_http_crmsync_phone_re_t;


typedef struct {
    char    *p;
    size_t   len;
} ngx_http_crmsync_phone_str_t;


static unsigned int ngx_http_crmsync_phone_node(unsigned char type);
static unsigned int ngx_http_crmsync_phone_tree(const char *p);
static unsigned int ngx_http_crmsync_phone_tree_group(const char *p,
    size_t *i, int depth);
static uint64_t ngx_http_crmsync_phone_eval(unsigned int n, uint64_t set,
    ngx_http_crmsync_phone_subject_t *subj);
static int ngx_http_crmsync_phone_tree_match(unsigned int root,
    const char *s, size_t len, int full);
static int ngx_http_crmsync_phone_find_region(const char *region,
    size_t len);
static int ngx_http_crmsync_phone_cc_index(const char *s, size_t len);
static pcre2_code *ngx_http_crmsync_phone_compile(const char *pattern,
    const char *pre, const char *post, uint32_t options, int jit);
static int ngx_http_crmsync_phone_match(pcre2_code *re, const char *s,
    size_t len);
static int ngx_http_crmsync_phone_full(pcre2_code *re, const char *s,
    size_t len);
static int ngx_http_crmsync_phone_check_length(unsigned int t, size_t len);
static int ngx_http_crmsync_phone_is_type(unsigned int t, const char *s,
    size_t len);
static int ngx_http_crmsync_phone_region_for_cc(unsigned int ci,
    const char *nsn, size_t len);
static size_t ngx_http_crmsync_phone_strip_prefix(unsigned int t,
    const char *s, size_t len, char *out);
static size_t ngx_http_crmsync_phone_national(unsigned int t, const char *s,
    size_t len, char *out);
static size_t ngx_http_crmsync_phone_sanitize(const unsigned char *s,
    size_t len, char *out, size_t *units);
static uint32_t ngx_http_crmsync_phone_decode(const char *s, size_t len,
    size_t *n);
static int ngx_http_crmsync_phone_digit(uint32_t c);
static char *ngx_http_crmsync_phone_find(const char *s, size_t len,
    const char *needle);
static int ngx_http_crmsync_phone_extract(char *buf, size_t len,
    ngx_http_crmsync_phone_str_t *num);
static int ngx_http_crmsync_phone_do_parse(const char *num, size_t len,
    int def, ngx_http_crmsync_phone_t *out);


static int                           ngx_http_crmsync_phone_ready;
static ngx_http_crmsync_phone_re_t  *ngx_http_crmsync_phone_res;
static pcre2_code                   *ngx_http_crmsync_phone_viable_re;
static pcre2_code                   *ngx_http_crmsync_phone_ext_re;
static pcre2_code                   *ngx_http_crmsync_phone_ctx_digits_re;
static pcre2_code                   *ngx_http_crmsync_phone_ctx_domain_re;
static pcre2_match_data             *ngx_http_crmsync_phone_md;
static size_t                        ngx_http_crmsync_phone_mem;
static short  ngx_http_crmsync_phone_region_idx[26 * 26];
static short  ngx_http_crmsync_phone_cc_idx[1000];
static ngx_http_crmsync_phone_node_t  *ngx_http_crmsync_phone_nodes;
static unsigned int                    ngx_http_crmsync_phone_nnodes;
static unsigned int                    ngx_http_crmsync_phone_nalloc;
static int                             ngx_http_crmsync_phone_tree_err;


int
ngx_http_crmsync_phone_init(void)
{
    uint32_t                                   utf;
    unsigned int                               i, j;
    const char                                *p;
    ngx_http_crmsync_phone_re_t               *re;
    ngx_http_crmsync_phone_node_t             *nodes;
    const ngx_http_crmsync_phone_territory_t  *t;

    if (ngx_http_crmsync_phone_ready) {
        return 0;
    }

    ngx_http_crmsync_phone_mem = sizeof(ngx_http_crmsync_phone_region_idx)
                                 + sizeof(ngx_http_crmsync_phone_cc_idx);

    for (i = 0; i < 26 * 26; i++) {
        ngx_http_crmsync_phone_region_idx[i] = -1;
    }

    for (i = 0; i < 1000; i++) {
        ngx_http_crmsync_phone_cc_idx[i] = -1;
    }

    for (i = 0; i < ngx_http_crmsync_phone_nccs; i++) {
        ngx_http_crmsync_phone_cc_idx[ngx_http_crmsync_phone_ccs[i].cc] =
                                                                 (short) i;
    }

    ngx_http_crmsync_phone_res = calloc(ngx_http_crmsync_phone_nterritories,
                                        sizeof(ngx_http_crmsync_phone_re_t));
    if (ngx_http_crmsync_phone_res == NULL) {
        return -1;
    }

    ngx_http_crmsync_phone_mem += ngx_http_crmsync_phone_nterritories
                                  * (sizeof(ngx_http_crmsync_phone_re_t)
                                  + sizeof(ngx_http_crmsync_phone_territory_t));

    for (i = 0; i < ngx_http_crmsync_phone_nterritories; i++) {
        t = &ngx_http_crmsync_phone_territories[i];
        re = &ngx_http_crmsync_phone_res[i];

        if (t->id[0] >= 'A' && t->id[0] <= 'Z'
            && t->id[1] >= 'A' && t->id[1] <= 'Z')
        {
            ngx_http_crmsync_phone_region_idx[(t->id[0] - 'A') * 26
                                              + t->id[1] - 'A'] = (short) i;
        }

        if (t->idd) {
            re->idd = ngx_http_crmsync_phone_compile(t->idd, "^(?:", ")",
                                                     0, 0);
            if (re->idd == NULL) {
                goto failed;
            }
        }

        re->general = ngx_http_crmsync_phone_tree(t->general);

        p = t->prefix_for_parsing ? t->prefix_for_parsing
                                  : t->national_prefix;
        if (p) {
            re->prefix = ngx_http_crmsync_phone_compile(p, "^(?:", ")", 0, 0);
            if (re->prefix == NULL) {
                goto failed;
            }

            if (pcre2_pattern_info(re->prefix, PCRE2_INFO_CAPTURECOUNT,
                                   &re->prefix_groups)
                != 0)
            {
                goto failed;
            }
        }

        if (t->leading_digits) {
            re->leading = ngx_http_crmsync_phone_tree(t->leading_digits);
        }

        for (j = 0; j < NGX_HTTP_CRMSYNC_PHONE_NTYPES; j++) {
            if (t->types[j].pattern == NULL || t->types[j].pattern[0] == 0) {
                continue;
            }

            re->types[j] = ngx_http_crmsync_phone_tree(t->types[j].pattern);
        }
    }

    if (ngx_http_crmsync_phone_tree_err) {
        goto failed;
    }

    /* trim the node array to its size */

    nodes = realloc(ngx_http_crmsync_phone_nodes,
                    ngx_http_crmsync_phone_nnodes
                    * sizeof(ngx_http_crmsync_phone_node_t));
    if (nodes) {
        ngx_http_crmsync_phone_nodes = nodes;
        ngx_http_crmsync_phone_nalloc = ngx_http_crmsync_phone_nnodes;
    }

    ngx_http_crmsync_phone_mem += ngx_http_crmsync_phone_nalloc
                                  * sizeof(ngx_http_crmsync_phone_node_t);

    utf = PCRE2_UTF | PCRE2_NO_UTF_CHECK;

    ngx_http_crmsync_phone_viable_re = ngx_http_crmsync_phone_compile(
                                 PHONE_VIABLE, "", "", utf | PCRE2_CASELESS,
                                 1);
    ngx_http_crmsync_phone_ext_re = ngx_http_crmsync_phone_compile(
                                 PHONE_EXT, "(?:", ")$", utf | PCRE2_CASELESS,
                                 1);
    ngx_http_crmsync_phone_ctx_digits_re = ngx_http_crmsync_phone_compile(
                                 PHONE_CTX_DIGITS, "", "", utf, 0);
    ngx_http_crmsync_phone_ctx_domain_re = ngx_http_crmsync_phone_compile(
                                 PHONE_CTX_DOMAIN, "", "", utf, 0);

    if (ngx_http_crmsync_phone_viable_re == NULL
        || ngx_http_crmsync_phone_ext_re == NULL
        || ngx_http_crmsync_phone_ctx_digits_re == NULL
        || ngx_http_crmsync_phone_ctx_domain_re == NULL)
    {
        goto failed;
    }

    ngx_http_crmsync_phone_md = pcre2_match_data_create(PHONE_OVEC, NULL);
    if (ngx_http_crmsync_phone_md == NULL) {
        goto failed;
    }

    ngx_http_crmsync_phone_mem += PHONE_OVEC * 2 * sizeof(PCRE2_SIZE);

    ngx_http_crmsync_phone_ready = 1;

    return 0;

failed:

    ngx_http_crmsync_phone_cleanup();

    return -1;
}


void
ngx_http_crmsync_phone_cleanup(void)
{
    unsigned int                  i;
    ngx_http_crmsync_phone_re_t  *re;

    if (ngx_http_crmsync_phone_res) {
        for (i = 0; i < ngx_http_crmsync_phone_nterritories; i++) {
            re = &ngx_http_crmsync_phone_res[i];

            pcre2_code_free(re->idd);
            pcre2_code_free(re->prefix);
        }

        free(ngx_http_crmsync_phone_res);
        ngx_http_crmsync_phone_res = NULL;
    }

    free(ngx_http_crmsync_phone_nodes);
    ngx_http_crmsync_phone_nodes = NULL;
    ngx_http_crmsync_phone_nnodes = 0;
    ngx_http_crmsync_phone_nalloc = 0;
    ngx_http_crmsync_phone_tree_err = 0;

    pcre2_code_free(ngx_http_crmsync_phone_viable_re);
    pcre2_code_free(ngx_http_crmsync_phone_ext_re);
    pcre2_code_free(ngx_http_crmsync_phone_ctx_digits_re);
    pcre2_code_free(ngx_http_crmsync_phone_ctx_domain_re);
    pcre2_match_data_free(ngx_http_crmsync_phone_md);

    ngx_http_crmsync_phone_viable_re = NULL;
    ngx_http_crmsync_phone_ext_re = NULL;
    ngx_http_crmsync_phone_ctx_digits_re = NULL;
    ngx_http_crmsync_phone_ctx_domain_re = NULL;
    ngx_http_crmsync_phone_md = NULL;
    ngx_http_crmsync_phone_mem = 0;
    ngx_http_crmsync_phone_ready = 0;
}


size_t
ngx_http_crmsync_phone_memory(void)
{
    return ngx_http_crmsync_phone_mem;
}


int
ngx_http_crmsync_phone_region_known(const char *region, size_t len)
{
    return ngx_http_crmsync_phone_find_region(region, len) >= 0;
}


static int
ngx_http_crmsync_phone_find_region(const char *region, size_t len)
{
    unsigned int                               i;
    char                                       a, b;
    const ngx_http_crmsync_phone_territory_t  *t;

    if (region == NULL || len != 2) {
        return -1;
    }

    a = region[0];
    b = region[1];

    if (a >= 'a' && a <= 'z') {
        a = (char) (a - 'a' + 'A');
    }

    if (b >= 'a' && b <= 'z') {
        b = (char) (b - 'a' + 'A');
    }

    if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z') {
        return -1;
    }

    if (ngx_http_crmsync_phone_ready) {
        return ngx_http_crmsync_phone_region_idx[(a - 'A') * 26 + b - 'A'];
    }

    /* config checks may run before init */

    for (i = 0; i < ngx_http_crmsync_phone_nterritories; i++) {
        t = &ngx_http_crmsync_phone_territories[i];

        if (t->id[0] == a && t->id[1] == b) {
            return (int) i;
        }
    }

    return -1;
}


static int
ngx_http_crmsync_phone_cc_index(const char *s, size_t len)
{
    size_t        i;
    unsigned int  cc;

    if (len == 0 || len > PHONE_MAX_CC) {
        return -1;
    }

    cc = 0;

    for (i = 0; i < len; i++) {
        cc = cc * 10 + (unsigned int) (s[i] - '0');
    }

    return ngx_http_crmsync_phone_cc_idx[cc];
}


static pcre2_code *
ngx_http_crmsync_phone_compile(const char *pattern, const char *pre,
    const char *post, uint32_t options, int jit)
{
    int          err;
    char         buf[4096];
    size_t       n, size;
    PCRE2_SIZE   off;
    pcre2_code  *re;

    n = strlen(pre) + strlen(pattern) + strlen(post);
    if (n >= sizeof(buf)) {
        return NULL;
    }

    strcpy(buf, pre);
    strcat(buf, pattern);
    strcat(buf, post);

    re = pcre2_compile((PCRE2_SPTR) buf, n,
                       options | PCRE2_DOLLAR_ENDONLY, &err, &off, NULL);
    if (re == NULL) {
        return NULL;
    }

    if (jit) {
        (void) pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    }

    if (pcre2_pattern_info(re, PCRE2_INFO_SIZE, &size) == 0) {
        ngx_http_crmsync_phone_mem += size;
    }

    if (jit && pcre2_pattern_info(re, PCRE2_INFO_JITSIZE, &size) == 0) {
        ngx_http_crmsync_phone_mem += size;
    }

    ngx_http_crmsync_phone_mem += strlen(pattern) + 1;

    return re;
}


static unsigned int
ngx_http_crmsync_phone_node(unsigned char type)
{
    unsigned int                    n;
    ngx_http_crmsync_phone_node_t  *nodes;

    if (ngx_http_crmsync_phone_nnodes == ngx_http_crmsync_phone_nalloc) {
        n = ngx_http_crmsync_phone_nalloc ? ngx_http_crmsync_phone_nalloc * 2
                                          : 16384;
        nodes = realloc(ngx_http_crmsync_phone_nodes,
                        n * sizeof(ngx_http_crmsync_phone_node_t));
        if (nodes == NULL) {
            ngx_http_crmsync_phone_tree_err = 1;
            return 0;
        }

        ngx_http_crmsync_phone_nodes = nodes;
        ngx_http_crmsync_phone_nalloc = n;

        if (ngx_http_crmsync_phone_nnodes == 0) {
            /* index 0 means "none" */
            memset(&nodes[0], 0, sizeof(ngx_http_crmsync_phone_node_t));
            ngx_http_crmsync_phone_nnodes = 1;
        }
    }

    n = ngx_http_crmsync_phone_nnodes++;

    memset(&ngx_http_crmsync_phone_nodes[n], 0,
           sizeof(ngx_http_crmsync_phone_node_t));
    ngx_http_crmsync_phone_nodes[n].type = type;
    ngx_http_crmsync_phone_nodes[n].min = 1;
    ngx_http_crmsync_phone_nodes[n].max = 1;

    return n;
}


/* compiles a metadata pattern; sets the error flag on unexpected syntax */

static unsigned int
ngx_http_crmsync_phone_tree(const char *p)
{
    size_t        i;
    unsigned int  root;

    i = 0;
    root = ngx_http_crmsync_phone_tree_group(p, &i, 0);

    if (p[i] != '\0') {
        ngx_http_crmsync_phone_tree_err = 1;
    }

    return root;
}


static unsigned int
ngx_http_crmsync_phone_tree_group(const char *p, size_t *i, int depth)
{
    char                            a, b;
    unsigned int                    g, br, prev_br, it, prev, m;
    unsigned long                   v;
    ngx_http_crmsync_phone_node_t  *n;

    if (depth > 32) {
        ngx_http_crmsync_phone_tree_err = 1;
        return 0;
    }

    g = ngx_http_crmsync_phone_node(PHONE_NODE_GROUP);
    prev_br = 0;

    for ( ;; ) {
        br = ngx_http_crmsync_phone_node(PHONE_NODE_BRANCH);
        if (ngx_http_crmsync_phone_tree_err) {
            return 0;
        }

        if (prev_br) {
            ngx_http_crmsync_phone_nodes[prev_br].next = br;
        } else {
            ngx_http_crmsync_phone_nodes[g].down = br;
        }

        prev_br = br;
        prev = 0;

        while (p[*i] != '\0' && p[*i] != '|' && p[*i] != ')') {

            if (p[*i] == '(') {
                (*i)++;
                if (p[*i] == '?' && p[*i + 1] == ':') {
                    *i += 2;
                }

                it = ngx_http_crmsync_phone_tree_group(p, i, depth + 1);
                if (p[*i] != ')') {
                    ngx_http_crmsync_phone_tree_err = 1;
                    return 0;
                }

                (*i)++;

            } else {
                m = 0;

                if (p[*i] == '[') {
                    for ((*i)++; p[*i] != ']'; /* void */) {
                        if (p[*i] == '\\' && p[*i + 1] == 'd') {
                            m |= 0x3ff;
                            *i += 2;
                            continue;
                        }

                        a = p[*i];
                        if (a < '0' || a > '9') {
                            ngx_http_crmsync_phone_tree_err = 1;
                            return 0;
                        }

                        b = a;
                        if (p[*i + 1] == '-' && p[*i + 2] >= '0'
                            && p[*i + 2] <= '9')
                        {
                            b = p[*i + 2];
                            *i += 2;
                        }

                        for ( /* void */ ; a <= b; a++) {
                            m |= 1u << (a - '0');
                        }

                        (*i)++;
                    }

                    (*i)++;

                } else if (p[*i] == '\\' && p[*i + 1] == 'd') {
                    m = 0x3ff;
                    *i += 2;

                } else if (p[*i] >= '0' && p[*i] <= '9') {
                    m = 1u << (p[*i] - '0');
                    (*i)++;

                } else {
                    ngx_http_crmsync_phone_tree_err = 1;
                    return 0;
                }

                it = ngx_http_crmsync_phone_node(PHONE_NODE_SET);
                if (it) {
                    ngx_http_crmsync_phone_nodes[it].mask = (unsigned short) m;
                }
            }

            if (ngx_http_crmsync_phone_tree_err) {
                return 0;
            }

            n = &ngx_http_crmsync_phone_nodes[it];

            if (p[*i] == '?') {
                n->min = 0;
                n->max = 1;
                (*i)++;

            } else if (p[*i] == '{') {
                for (v = 0, (*i)++; p[*i] >= '0' && p[*i] <= '9'; (*i)++) {
                    v = v * 10 + (unsigned long) (p[*i] - '0');
                }

                n->min = (unsigned char) (v > 64 ? 64 : v);
                n->max = n->min;

                if (p[*i] == ',') {
                    for (v = 0, (*i)++; p[*i] >= '0' && p[*i] <= '9'; (*i)++)
                    {
                        v = v * 10 + (unsigned long) (p[*i] - '0');
                    }

                    n->max = (unsigned char) (v > 64 ? 64 : v);
                }

                if (p[*i] != '}' || n->max < n->min) {
                    ngx_http_crmsync_phone_tree_err = 1;
                    return 0;
                }

                (*i)++;
            }

            if (prev) {
                ngx_http_crmsync_phone_nodes[prev].next = it;
            } else {
                ngx_http_crmsync_phone_nodes[br].down = it;
            }

            prev = it;
        }

        if (p[*i] != '|') {
            break;
        }

        (*i)++;
    }

    return g;
}


/* the set of end positions reachable from the start positions in set */

static uint64_t
ngx_http_crmsync_phone_eval(unsigned int idx, uint64_t set,
    ngx_http_crmsync_phone_subject_t *subj)
{
    unsigned int                    k, d, m, b, it;
    uint64_t                        mask, cur, res, r, s;
    ngx_http_crmsync_phone_node_t  *n;

    n = &ngx_http_crmsync_phone_nodes[idx];
    mask = 0;

    if (n->type == PHONE_NODE_SET) {
        if (n->mask == 0x3ff) {
            mask = subj->any;

        } else {
            for (m = n->mask; m; m &= m - 1) {
                d = (unsigned int) __builtin_ctz(m);
                mask |= subj->pos[d];
            }
        }
    }

    res = (n->min == 0) ? set : 0;
    cur = set;

    for (k = 1; k <= n->max && cur; k++) {
        if (n->type == PHONE_NODE_SET) {
            cur = (cur & mask) << 1;

        } else {
            r = 0;

            for (b = n->down; b; b = ngx_http_crmsync_phone_nodes[b].next) {
                s = cur;

                for (it = ngx_http_crmsync_phone_nodes[b].down;
                     it && s;
                     it = ngx_http_crmsync_phone_nodes[it].next)
                {
                    s = ngx_http_crmsync_phone_eval(it, s, subj);
                }

                r |= s;
            }

            cur = r;
        }

        if (k >= n->min) {
            res |= cur;
        }
    }

    return res;
}


/* full: the whole subject matches; otherwise a prefix of it */

static int
ngx_http_crmsync_phone_tree_match(unsigned int root, const char *s,
    size_t len, int full)
{
    size_t                            i;
    uint64_t                          end;
    ngx_http_crmsync_phone_subject_t  subj;

    if (root == 0) {
        return 0;
    }

    if (len > PHONE_NODE_MAXLEN) {
        if (full) {
            return 0;
        }

        len = PHONE_NODE_MAXLEN;
    }

    memset(&subj, 0, sizeof(subj));

    for (i = 0; i < len; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            subj.pos[s[i] - '0'] |= (uint64_t) 1 << i;
        }
    }

    subj.any = ((uint64_t) 1 << len) - 1;

    end = ngx_http_crmsync_phone_eval(root, 1, &subj);

    if (full) {
        return (end >> len) & 1;
    }

    return end != 0;
}


/* returns the number of pairs set in the match data, or 0 */

static int
ngx_http_crmsync_phone_match(pcre2_code *re, const char *s, size_t len)
{
    int  rc;

    rc = pcre2_match(re, (PCRE2_SPTR) s, len, 0, PCRE2_NO_UTF_CHECK,
                     ngx_http_crmsync_phone_md, NULL);

    return rc > 0 ? rc : (rc == 0 ? PHONE_OVEC : 0);
}


static int
ngx_http_crmsync_phone_full(pcre2_code *re, const char *s, size_t len)
{
    if (re == NULL) {
        return 0;
    }

    return ngx_http_crmsync_phone_match(re, s, len) > 0;
}


/* checkNumberLength() against the territory's possible lengths */

static int
ngx_http_crmsync_phone_check_length(unsigned int t, size_t len)
{
    unsigned int  m, min, max;

    m = ngx_http_crmsync_phone_territories[t].lengths;

    if (m == 0) {
        return PHONE_IS_POSSIBLE;
    }

    for (min = 0; !(m & (1u << min)); min++) { /* void */ }
    for (max = 31; !(m & (1u << max)); max--) { /* void */ }

    if (len == min) {
        return PHONE_IS_POSSIBLE;
    }

    if (len < min) {
        return PHONE_TOO_SHORT;
    }

    if (len > max) {
        return PHONE_TOO_LONG;
    }

    return (m & (1u << len)) ? PHONE_IS_POSSIBLE : PHONE_INVALID_LENGTH;
}


/* getNumberType() !== undefined: general pattern and one type pattern */

static int
ngx_http_crmsync_phone_is_type(unsigned int t, const char *s, size_t len)
{
    unsigned int                               j, m;
    ngx_http_crmsync_phone_re_t               *re;
    const ngx_http_crmsync_phone_territory_t  *tt;

    tt = &ngx_http_crmsync_phone_territories[t];
    re = &ngx_http_crmsync_phone_res[t];

    if (!ngx_http_crmsync_phone_tree_match(re->general, s, len, 1)) {
        return 0;
    }

    for (j = 0; j < NGX_HTTP_CRMSYNC_PHONE_NTYPES; j++) {
        if (re->types[j] == 0) {
            continue;
        }

        m = tt->types[j].lengths ? tt->types[j].lengths : tt->lengths;

        if (m && (len > 31 || !(m & (1u << len)))) {
            continue;
        }

        if (ngx_http_crmsync_phone_tree_match(re->types[j], s, len, 1)) {
            return 1;
        }
    }

    return 0;
}


/*
 * getCountryByCallingCode(): the region among those sharing the calling
 * code, by leading digits or by number type; -1 if none (or non-geographic)
 */

static int
ngx_http_crmsync_phone_region_for_cc(unsigned int ci, const char *nsn,
    size_t len)
{
    unsigned int                        i, t;
    const ngx_http_crmsync_phone_cc_t  *cc;

    cc = &ngx_http_crmsync_phone_ccs[ci];
    t = ngx_http_crmsync_phone_cc_list[cc->first];

    if (ngx_http_crmsync_phone_territories[t].id[0] == '\0') {
        return -1;
    }

    if (cc->n == 1) {
        return (int) t;
    }

    for (i = 0; i < cc->n; i++) {
        t = ngx_http_crmsync_phone_cc_list[cc->first + i];

        if (ngx_http_crmsync_phone_res[t].leading) {
            if (len
                && ngx_http_crmsync_phone_tree_match(
                       ngx_http_crmsync_phone_res[t].leading, nsn, len, 0))
            {
                return (int) t;
            }

        } else if (ngx_http_crmsync_phone_is_type(t, nsn, len)) {
            return (int) t;
        }
    }

    return -1;
}


/*
 * the national prefix (and carrier code) stripped or transformed, into out
 * (at least PHONE_BUF bytes); returns the new length
 */

static size_t
ngx_http_crmsync_phone_strip_prefix(unsigned int t, const char *s,
    size_t len, char *out)
{
    int                           rc;
    size_t                        n, end, a, b;
    const char                   *r;
    PCRE2_SIZE                   *ov;
    ngx_http_crmsync_phone_re_t  *re;

    re = &ngx_http_crmsync_phone_res[t];

    if (re->prefix == NULL || len == 0) {
        goto unchanged;
    }

    rc = ngx_http_crmsync_phone_match(re->prefix, s, len);
    if (rc == 0) {
        goto unchanged;
    }

    ov = pcre2_get_ovector_pointer(ngx_http_crmsync_phone_md);
    end = ov[1];
    r = ngx_http_crmsync_phone_territories[t].transform;

    if (r && re->prefix_groups > 0
        && (unsigned int) rc > re->prefix_groups
        && ov[2 * re->prefix_groups] != PCRE2_UNSET
        && ov[2 * re->prefix_groups + 1] > ov[2 * re->prefix_groups])
    {
        /* the transform rule replaces the match: "9$1", "$2" */

        n = 0;

        for ( /* void */ ; *r; r++) {
            if (*r == '$' && r[1] >= '0' && r[1] <= '9') {
                rc = r[1] - '0';
                r++;

                if (rc == 0 || (unsigned int) rc > re->prefix_groups
                    || ov[2 * rc] == PCRE2_UNSET)
                {
                    continue;
                }

                a = ov[2 * rc];
                b = ov[2 * rc + 1];

                if (n + (b - a) >= PHONE_BUF / 2) {
                    goto unchanged;
                }

                memcpy(out + n, s + a, b - a);
                n += b - a;
                continue;
            }

            if (n + 1 >= PHONE_BUF / 2) {
                goto unchanged;
            }

            out[n++] = *r;
        }

        memcpy(out + n, s + end, len - end);

        return n + len - end;
    }

    memcpy(out, s + end, len - end);

    return len - end;

unchanged:

    memcpy(out, s, len);

    return len;
}


/* extractNationalNumber(): keeps the stripping only when sensible */

static size_t
ngx_http_crmsync_phone_national(unsigned int t, const char *s, size_t len,
    char *out)
{
    int                          c;
    size_t                       n;
    ngx_http_crmsync_phone_re_t  *re;

    re = &ngx_http_crmsync_phone_res[t];

    n = ngx_http_crmsync_phone_strip_prefix(t, s, len, out);

    if (n == len && memcmp(out, s, n) == 0) {
        return n;
    }

    if (ngx_http_crmsync_phone_tree_match(re->general, s, len, 1)
        && !ngx_http_crmsync_phone_tree_match(re->general, out, n, 1))
    {
        goto unchanged;
    }

    if (ngx_http_crmsync_phone_territories[t].lengths) {
        c = ngx_http_crmsync_phone_region_for_cc(
                (unsigned int) ngx_http_crmsync_phone_cc_idx[
                    ngx_http_crmsync_phone_territories[t].cc],
                out, n);

        switch (ngx_http_crmsync_phone_check_length(
                    c >= 0 ? (unsigned int) c : t, n))
        {
        case PHONE_TOO_SHORT:
        case PHONE_INVALID_LENGTH:
            goto unchanged;
        default:
            break;
        }
    }

    return n;

unchanged:

    memcpy(out, s, len);

    return len;
}


/* a UTF-8 copy with invalid sequences replaced by U+FFFD */

static size_t
ngx_http_crmsync_phone_sanitize(const unsigned char *s, size_t len,
    char *out, size_t *units)
{
    size_t    i, j, k, n, u;
    uint32_t  c, min;

    n = 0;
    u = 0;

    for (i = 0; i < len; /* void */) {
        c = s[i];

        if (c < 0x80) {
            k = 1;
            min = 0;

        } else if ((c & 0xe0) == 0xc0) {
            k = 2;
            c &= 0x1f;
            min = 0x80;

        } else if ((c & 0xf0) == 0xe0) {
            k = 3;
            c &= 0x0f;
            min = 0x800;

        } else if ((c & 0xf8) == 0xf0) {
            k = 4;
            c &= 0x07;
            min = 0x10000;

        } else {
            goto invalid;
        }

        if (i + k > len) {
            goto invalid;
        }

        for (j = 1; j < k; j++) {
            if ((s[i + j] & 0xc0) != 0x80) {
                goto invalid;
            }

            c = (c << 6) | (s[i + j] & 0x3f);
        }

        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
            goto invalid;
        }

        if (n + k > PHONE_BUF - 1) {
            return (size_t) -1;
        }

        memcpy(out + n, s + i, k);
        n += k;
        i += k;
        u += (k == 4) ? 2 : 1;
        continue;

    invalid:

        if (n + 3 > PHONE_BUF - 1) {
            return (size_t) -1;
        }

        out[n++] = (char) 0xef;
        out[n++] = (char) 0xbf;
        out[n++] = (char) 0xbd;
        u++;
        i++;
    }

    out[n] = '\0';
    *units = u;

    return n;
}


/* one code point of valid UTF-8; *n is its length */

static uint32_t
ngx_http_crmsync_phone_decode(const char *s, size_t len, size_t *n)
{
    const unsigned char  *p;

    p = (const unsigned char *) s;

    if (p[0] < 0x80 || len < 2) {
        *n = 1;
        return p[0];
    }

    if ((p[0] & 0xe0) == 0xc0) {
        *n = 2;
        return ((uint32_t) (p[0] & 0x1f) << 6) | (p[1] & 0x3f);
    }

    if ((p[0] & 0xf0) == 0xe0 && len >= 3) {
        *n = 3;
        return ((uint32_t) (p[0] & 0x0f) << 12)
               | ((uint32_t) (p[1] & 0x3f) << 6) | (p[2] & 0x3f);
    }

    if (len >= 4) {
        *n = 4;
        return ((uint32_t) (p[0] & 0x07) << 18)
               | ((uint32_t) (p[1] & 0x3f) << 12)
               | ((uint32_t) (p[2] & 0x3f) << 6) | (p[3] & 0x3f);
    }

    *n = 1;
    return 0xfffd;
}


/* the digits libphonenumber-js knows: value 0-9, or -1 */

static int
ngx_http_crmsync_phone_digit(uint32_t c)
{
    if (c >= '0' && c <= '9') {
        return (int) (c - '0');
    }

    if (c >= 0xff10 && c <= 0xff19) {
        return (int) (c - 0xff10);
    }

    if (c >= 0x0660 && c <= 0x0669) {
        return (int) (c - 0x0660);
    }

    if (c >= 0x06f0 && c <= 0x06f9) {
        return (int) (c - 0x06f0);
    }

    return -1;
}


static char *
ngx_http_crmsync_phone_find(const char *s, size_t len, const char *needle)
{
    size_t  n, i;

    n = strlen(needle);

    for (i = 0; i + n <= len; i++) {
        if (s[i] == needle[0] && memcmp(s + i, needle, n) == 0) {
            return (char *) s + i;
        }
    }

    return NULL;
}


/*
 * RFC 3966 and text extraction: the formatted number, in buf (sanitized
 * input, may be rewritten); 0 ok, -1 not a number
 */

static int
ngx_http_crmsync_phone_extract(char *buf, size_t len,
    ngx_http_crmsync_phone_str_t *num)
{
    char      *ctx, *ctx_end, *tel, *start, *end, *p;
    size_t     n, k, clen;
    uint32_t   c;

    ctx = ngx_http_crmsync_phone_find(buf, len, ";phone-context=");

    if (ctx) {
        p = ctx + sizeof(";phone-context=") - 1;
        ctx_end = memchr(p, ';', (size_t) (buf + len - p));
        if (ctx_end == NULL) {
            ctx_end = buf + len;
        }

        clen = (size_t) (ctx_end - p);

        if (clen == 0
            || (!ngx_http_crmsync_phone_full(
                     ngx_http_crmsync_phone_ctx_digits_re, p, clen)
                && !ngx_http_crmsync_phone_full(
                     ngx_http_crmsync_phone_ctx_domain_re, p, clen)))
        {
            return -1;
        }

        tel = ngx_http_crmsync_phone_find(buf, len, "tel:");
        start = tel ? tel + 4 : buf;
        end = ctx;

        if (start > end) {
            p = start;
            start = end;
            end = p;
        }

        /* context (if global) followed by the number, at the buffer end */

        n = (p[0] == '+') ? clen : 0;
        k = (size_t) (end - start);

        if (len + n + k + 1 > PHONE_BUF * 2) {
            return -1;
        }

        memmove(buf + len, p, n);
        memmove(buf + len + n, start, k);

        num->p = buf + len;
        num->len = n + k;

    } else {
        start = buf;
        end = buf + len;

        while (start < end) {
            c = ngx_http_crmsync_phone_decode(start, (size_t) (end - start),
                                              &k);
            if (c == '+' || c == 0xff0b
                || ngx_http_crmsync_phone_digit(c) >= 0)
            {
                break;
            }

            start += k;
        }

        if (start == end) {
            return -1;
        }

        /* trailing characters other than digits and '#' */

        p = start;

        for (n = 0; start + n < end; n += k) {
            c = ngx_http_crmsync_phone_decode(start + n,
                                              (size_t) (end - start - n), &k);
            if (c == '#' || ngx_http_crmsync_phone_digit(c) >= 0) {
                p = start + n + k;
            }
        }

        num->p = start;
        num->len = (size_t) (p - start);
    }

    p = ngx_http_crmsync_phone_find(num->p, num->len, ";isub=");
    if (p && p > num->p) {
        num->len = (size_t) (p - num->p);
    }

    return num->len ? 0 : -1;
}


int
ngx_http_crmsync_phone_parse(const unsigned char *s, size_t len,
    const char *default_region, ngx_http_crmsync_phone_t *out)
{
    int                           def, rc, i;
    char                          buf[PHONE_BUF * 2];
    char                          digits[PHONE_BUF];
    size_t                        n, units, k, d, a, b;
    uint32_t                      c;
    PCRE2_SIZE                   *ov;
    ngx_http_crmsync_phone_str_t  num;

    memset(out, 0, sizeof(ngx_http_crmsync_phone_t));

    if (!ngx_http_crmsync_phone_ready && ngx_http_crmsync_phone_init() != 0) {
        return -1;
    }

    /*
     * as parsePhoneNumberFromString(): an empty, "ZZ" or unsupported
     * region means no default region (letters may be lower case here)
     */

    def = -1;

    if (default_region) {
        def = ngx_http_crmsync_phone_find_region(default_region,
                                                 strlen(default_region));
    }

    if (s == NULL || len == 0) {
        return -1;
    }

    n = ngx_http_crmsync_phone_sanitize(s, len, buf, &units);
    if (n == (size_t) -1) {
        return -1;
    }

    if (units > PHONE_MAX_INPUT
        && ngx_http_crmsync_phone_find(buf, n, ";phone-context=") == NULL)
    {
        return -1;
    }

    if (ngx_http_crmsync_phone_extract(buf, n, &num) != 0) {
        return -1;
    }

    /* viability; the JS length check counts UTF-16 units, >= 2 */

    if (num.len < 2
        || ngx_http_crmsync_phone_match(ngx_http_crmsync_phone_viable_re,
                                        num.p, num.len)
           == 0)
    {
        return -1;
    }

    /* the extension */

    rc = ngx_http_crmsync_phone_match(ngx_http_crmsync_phone_ext_re,
                                      num.p, num.len);
    if (rc > 0) {
        ov = pcre2_get_ovector_pointer(ngx_http_crmsync_phone_md);

        for (i = 1; i < rc; i++) {
            if (ov[2 * i] == PCRE2_UNSET || ov[2 * i + 1] == ov[2 * i]) {
                continue;
            }

            a = ov[2 * i];
            b = ov[2 * i + 1];
            d = 0;

            while (a < b && d < NGX_HTTP_CRMSYNC_PHONE_EXT_LEN) {
                c = ngx_http_crmsync_phone_decode(num.p + a, b - a, &k);
                rc = ngx_http_crmsync_phone_digit(c);
                if (rc >= 0) {
                    out->ext[d++] = (char) ('0' + rc);
                }

                a += k;
            }

            out->ext[d] = '\0';
            num.len = ov[0];
            break;
        }
    }

    /* digits and a leading '+' */

    d = 0;

    for (a = 0; a < num.len; a += k) {
        c = ngx_http_crmsync_phone_decode(num.p + a, num.len - a, &k);

        if (c == '+') {
            if (d == 0) {
                digits[d++] = '+';
            }

            continue;
        }

        rc = ngx_http_crmsync_phone_digit(c);
        if (rc >= 0) {
            digits[d++] = (char) ('0' + rc);
        }
    }

    if (ngx_http_crmsync_phone_do_parse(digits, d, def, out) != 0) {
        out->ext[0] = '\0';
        return -1;
    }

    return 0;
}


static int
ngx_http_crmsync_phone_do_parse(const char *num, size_t len, int def,
    ngx_http_crmsync_phone_t *out)
{
    int                                        ci, country, plan, ex;
    char                                       nsn[PHONE_BUF];
    char                                       full[PHONE_BUF];
    size_t                                     n, m, l, rest_len;
    const char                                *rest;
    PCRE2_SIZE                                *ov;
    ngx_http_crmsync_phone_re_t               *re;
    const ngx_http_crmsync_phone_territory_t  *t;

    if (len == 0) {
        return -1;
    }

    ci = -1;
    rest = num;
    rest_len = len;

    if (num[0] == '+') {
        rest = num + 1;
        rest_len = len - 1;
        goto international;
    }

    if (def < 0) {
        return -1;
    }

    re = &ngx_http_crmsync_phone_res[def];
    t = &ngx_http_crmsync_phone_territories[def];

    /* the default region's international prefix */

    if (re->idd && ngx_http_crmsync_phone_match(re->idd, num, len)) {
        ov = pcre2_get_ovector_pointer(ngx_http_crmsync_phone_md);
        m = ov[1];

        if (m > 0 && m < len && num[m] != '0') {
            rest = num + m;
            rest_len = len - m;
            goto international;
        }
    }

    /* the region's own calling code without '+' */

    {
        char    ccs[8];
        size_t  cl;

        cl = (size_t) snprintf(ccs, sizeof(ccs), "%u", t->cc);

        if (len >= cl && memcmp(num, ccs, cl) == 0) {
            n = ngx_http_crmsync_phone_national((unsigned int) def,
                                                num + cl, len - cl, nsn);
            m = ngx_http_crmsync_phone_national((unsigned int) def,
                                                num, len, full);

            if ((!ngx_http_crmsync_phone_tree_match(re->general, full, m, 1)
                 && ngx_http_crmsync_phone_tree_match(re->general, nsn, n, 1))
                || ngx_http_crmsync_phone_check_length((unsigned int) def, m)
                   == PHONE_TOO_LONG)
            {
                ci = ngx_http_crmsync_phone_cc_idx[t->cc];
                rest = num + cl;
                rest_len = len - cl;
            }
        }
    }

    if (ci >= 0) {
        plan = ngx_http_crmsync_phone_cc_list[ngx_http_crmsync_phone_ccs[ci]
                                              .first];
        country = -1;

    } else {
        ci = ngx_http_crmsync_phone_cc_idx[t->cc];
        plan = def;
        country = def;
    }

    goto national;

international:

    if (rest_len && rest[0] == '0') {
        return -1;
    }

    for (l = 1; l <= PHONE_MAX_CC && l <= rest_len; l++) {
        ci = ngx_http_crmsync_phone_cc_index(rest, l);
        if (ci >= 0) {
            break;
        }
    }

    if (ci < 0) {
        return -1;
    }

    rest += l;
    rest_len -= l;
    plan = ngx_http_crmsync_phone_cc_list[ngx_http_crmsync_phone_ccs[ci]
                                          .first];
    country = -1;

national:

    if (rest_len == 0) {
        return -1;
    }

    n = ngx_http_crmsync_phone_national((unsigned int) plan, rest, rest_len,
                                        nsn);

    ex = ngx_http_crmsync_phone_region_for_cc((unsigned int) ci, nsn, n);
    if (ex >= 0) {
        country = ex;
    }

    if (n < PHONE_MIN_NSN || n > PHONE_MAX_NSN) {
        return -1;
    }

    t = &ngx_http_crmsync_phone_territories[plan];

    l = (size_t) snprintf(out->e164, sizeof(out->e164), "+%u", t->cc);
    if (l + n >= sizeof(out->e164)) {
        return -1;
    }

    memcpy(out->e164 + l, nsn, n);
    out->e164[l + n] = '\0';

    if (country >= 0) {
        memcpy(out->region, ngx_http_crmsync_phone_territories[country].id,
               3);
    }

    out->valid = ngx_http_crmsync_phone_is_type(
                     country >= 0 ? (unsigned int) country
                                  : (unsigned int) plan, nsn, n);

    return 0;
}


/*
 * A WhatsApp id's normalization depends on its digits only, and a chat
 * repeats the same ids (every message and status of a conversation): the
 * last results are kept per process, direct-mapped on a hash of the
 * digits.  Parsing is deterministic, so a hit answers what a parse would.
 */

#define NGX_HTTP_CRMSYNC_PHONE_WA_CACHE  256

typedef struct {
    char                       num[NGX_HTTP_CRMSYNC_PHONE_E164_LEN + 1];
    size_t                     len;
    ngx_http_crmsync_phone_t   result;
} ngx_http_crmsync_phone_wa_t;


static ngx_http_crmsync_phone_wa_t
    ngx_http_crmsync_phone_wa_cache[NGX_HTTP_CRMSYNC_PHONE_WA_CACHE];


static ngx_http_crmsync_phone_wa_t *
ngx_http_crmsync_phone_wa_slot(const char *num, size_t n)
{
    size_t    i;
    uint32_t  h;

    h = 2166136261u;

    for (i = 0; i < n; i++) {
        h = (h ^ (u_char) num[i]) * 16777619u;
    }

    return &ngx_http_crmsync_phone_wa_cache[h
                                       % NGX_HTTP_CRMSYNC_PHONE_WA_CACHE];
}


static int ngx_http_crmsync_phone_wa_parse(const char *num, size_t n,
    ngx_http_crmsync_phone_t *out);


int
ngx_http_crmsync_phone_parse_whatsapp(const unsigned char *s, size_t len,
    ngx_http_crmsync_phone_t *out)
{
    char                          num[NGX_HTTP_CRMSYNC_PHONE_E164_LEN + 8];
    size_t                        i, n;
    ngx_http_crmsync_phone_wa_t  *slot;

    memset(out, 0, sizeof(ngx_http_crmsync_phone_t));

    i = 0;

    while (i < len && (s[i] == ' ' || s[i] == '\t')) {
        i++;
    }

    if (len - i >= 9 && strncasecmp((const char *) s + i, "whatsapp:", 9) == 0)
    {
        i += 9;
    }

    /* "+", digits and the usual separators only */

    n = 1;
    num[0] = '+';

    for ( /* void */ ; i < len; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            if (n >= NGX_HTTP_CRMSYNC_PHONE_E164_LEN) {
                return -1;
            }

            num[n++] = (char) s[i];
            continue;
        }

        if (s[i] == '+' && n == 1) {
            continue;
        }

        if (s[i] == ' ' || s[i] == '-' || s[i] == '.' || s[i] == '('
            || s[i] == ')' || s[i] == '\t')
        {
            continue;
        }

        if (s[i] == '@') {
            /* "5215512345678@s.whatsapp.net" */
            break;
        }

        return -1;
    }

    if (n < 4) {
        return -1;
    }

    /* Mexico: "521" and 10 digits is "52" and the 10 digits */

    if (n == 14 && num[1] == '5' && num[2] == '2' && num[3] == '1') {
        memmove(num + 3, num + 4, n - 4);
        n--;
    }

    slot = ngx_http_crmsync_phone_wa_slot(num, n);

    if (slot->len == n && memcmp(slot->num, num, n) == 0) {
        *out = slot->result;
        return 0;
    }

    if (ngx_http_crmsync_phone_wa_parse(num, n, out) != 0) {
        return -1;
    }

    memcpy(slot->num, num, n);
    slot->len = n;
    slot->result = *out;

    return 0;
}


static int
ngx_http_crmsync_phone_wa_parse(const char *num, size_t n,
    ngx_http_crmsync_phone_t *out)
{
    char                      buf[NGX_HTTP_CRMSYNC_PHONE_E164_LEN + 8];
    size_t                    d;
    ngx_http_crmsync_phone_t  alt;

    if (ngx_http_crmsync_phone_parse((const unsigned char *) num, n, NULL,
                                     out)
        != 0)
    {
        return -1;
    }

    /* Brazil: mobile ids from before the ninth digit, and the reverse */

    if (strncmp(out->e164, "+55", 3) != 0) {
        return 0;
    }

    d = strlen(out->e164 + 3);

    if (d == 10 && out->e164[5] >= '6' && out->e164[5] <= '9') {
        memcpy(buf, out->e164, 5);
        buf[5] = '9';
        memcpy(buf + 6, out->e164 + 5, 9);

        if (ngx_http_crmsync_phone_parse((const unsigned char *) buf, 14,
                                         NULL, &alt)
            == 0)
        {
            if (alt.valid) {
                memcpy(alt.alt_e164, out->e164, sizeof(out->e164));
                memcpy(alt.ext, out->ext, sizeof(out->ext));
                *out = alt;

            } else {
                memcpy(out->alt_e164, alt.e164, sizeof(alt.e164));
            }
        }

    } else if (d == 11 && out->e164[5] == '9'
               && out->e164[6] >= '6' && out->e164[6] <= '9')
    {
        memcpy(buf, out->e164, 5);
        memcpy(buf + 5, out->e164 + 6, 9);

        if (ngx_http_crmsync_phone_parse((const unsigned char *) buf, 13,
                                         NULL, &alt)
            == 0)
        {
            memcpy(out->alt_e164, alt.e164, sizeof(alt.e164));
        }
    }

    return 0;
}
