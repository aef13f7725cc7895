
/*
 * Copyright (C) crmsync authors
 *
 * Transcripts (see the header and doc/conversations.md): a conversation's
 * messages as HTML note bodies, each at most a limit of bytes.  Pure: no
 * nginx header.
 *
 * A message's text is read as units: one character (a valid UTF-8
 * sequence, an HTML entity for & < > " ', "<br>" for a line break) or one
 * attachment label.  Notes are cut between units only, so a note never
 * ends inside a UTF-8 sequence or an entity.  Invalid UTF-8 becomes
 * U+FFFD, one per byte that starts no valid sequence; control characters
 * other than tab and line breaks are dropped (HTML does not allow them):
 * every body is valid UTF-8 without NUL.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ngx_http_crmsync_types.h"
#include "ngx_http_crmsync_event.h"
#include "ngx_http_crmsync_store.h"
#include "ngx_http_crmsync_transcript.h"


/* the longest output of one unit: " [contact card]" */
#define NGX_HTTP_CRMSYNC_TR_UNIT  16

/* "<p><strong>" 2026-12-07 10:15 UTC · Internal note (continued)
   "</strong>", with room for any year */
#define NGX_HTTP_CRMSYNC_TR_HEADER  128

#define ngx_http_crmsync_tr_lit(s)  (u_char *) s, sizeof(s) - 1


/* the units of a message: its text, then its attachment labels */
typedef struct {
    const u_char               *p;
    const u_char               *last;
    unsigned                    att;        /* labels still to give */
    unsigned                    any:1;      /* something was given */
} ngx_http_crmsync_tr_iter_t;


/* a growing buffer */
typedef struct {
    u_char                     *data;
    size_t                      len;
    size_t                      cap;
} ngx_http_crmsync_tr_buf_t;


/* the notes being laid out; bodies without their title */
typedef struct {
    ngx_http_crmsync_tnote_t   *notes;
    size_t                      n;
    size_t                      cap;
    ngx_http_crmsync_tr_buf_t   body;       /* the current note */
    size_t                      budget;     /* the limit less the title */
    int                         open;       /* the current note has text */
    int64_t                     first;
    int64_t                     last;
    unsigned                    part;
} ngx_http_crmsync_tr_layout_t;


static const struct {
    unsigned                    bit;
    const char                 *label;
} ngx_http_crmsync_tr_labels[] = {
    { NGX_HTTP_CRMSYNC_ATT_IMAGE, "[image]" },
    { NGX_HTTP_CRMSYNC_ATT_AUDIO, "[audio]" },
    { NGX_HTTP_CRMSYNC_ATT_VIDEO, "[video]" },
    { NGX_HTTP_CRMSYNC_ATT_FILE, "[file]" },
    { NGX_HTTP_CRMSYNC_ATT_LOCATION, "[location]" },
    { NGX_HTTP_CRMSYNC_ATT_STICKER, "[sticker]" },
    { NGX_HTTP_CRMSYNC_ATT_CONTACT, "[contact card]" },
    { NGX_HTTP_CRMSYNC_ATT_OTHER, "[attachment]" }
};

#define NGX_HTTP_CRMSYNC_TR_KNOWN  0x00ff


static const char  *ngx_http_crmsync_tr_roles[] = {
    "Unknown", "Contact", "Agent", "Bot", "System", "Internal note"
};


static void ngx_http_crmsync_tr_start(ngx_http_crmsync_tr_iter_t *it,
    const ngx_http_crmsync_store_msg_t *m);
static size_t ngx_http_crmsync_tr_utf8(const u_char *p, const u_char *last);
static size_t ngx_http_crmsync_tr_next(ngx_http_crmsync_tr_iter_t *it,
    u_char *out);
static size_t ngx_http_crmsync_tr_header(const ngx_http_crmsync_store_msg_t *m,
    int when, int continued, u_char *out);
static int ngx_http_crmsync_tr_add(ngx_http_crmsync_tr_buf_t *b,
    const u_char *data, size_t len);
static int ngx_http_crmsync_tr_escape(ngx_http_crmsync_tr_buf_t *b,
    const char *s);
static int ngx_http_crmsync_tr_flush(ngx_http_crmsync_tr_layout_t *l);
static int ngx_http_crmsync_tr_put(ngx_http_crmsync_tr_layout_t *l,
    const ngx_http_crmsync_store_msg_t *m, const u_char *header,
    size_t hlen, unsigned part);
static int ngx_http_crmsync_tr_layout(ngx_http_crmsync_tr_layout_t *l,
    const ngx_http_crmsync_store_msg_t *m, size_t n);
static void ngx_http_crmsync_tr_drop(ngx_http_crmsync_tr_layout_t *l);
static size_t ngx_http_crmsync_tr_digits(size_t n);
static int ngx_http_crmsync_tr_title(ngx_http_crmsync_tr_buf_t *b,
    const ngx_http_crmsync_tr_buf_t *channel, size_t i, size_t n);
static int ngx_http_crmsync_tr_titles(ngx_http_crmsync_tr_layout_t *l,
    const ngx_http_crmsync_tr_buf_t *channel);


static void
ngx_http_crmsync_tr_start(ngx_http_crmsync_tr_iter_t *it,
    const ngx_http_crmsync_store_msg_t *m)
{
    it->p = m->text.data;
    it->last = m->text.data ? m->text.data + m->text.len : NULL;
    it->att = m->attachments;

    if (it->att & ~NGX_HTTP_CRMSYNC_TR_KNOWN) {
        it->att = (it->att & NGX_HTTP_CRMSYNC_TR_KNOWN)
                  | NGX_HTTP_CRMSYNC_ATT_OTHER;
    }

    it->any = 0;
}


/* the length of the valid UTF-8 sequence at p (p < last, *p >= 0x80), or
   0: the rules of RFC 3629, no overlong forms, no surrogates */

static size_t
ngx_http_crmsync_tr_utf8(const u_char *p, const u_char *last)
{
    size_t  len, i;
    u_char  c, lo, hi;

    c = p[0];
    lo = 0x80;
    hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;

    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;

        if (c == 0xe0) {
            lo = 0xa0;

        } else if (c == 0xed) {
            hi = 0x9f;
        }

    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;

        if (c == 0xf0) {
            lo = 0x90;

        } else if (c == 0xf4) {
            hi = 0x8f;
        }

    } else {
        return 0;
    }

    if ((size_t) (last - p) < len) {
        return 0;
    }

    if (p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (i = 2; i < len; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }

    return len;
}


/* the next unit's output into out (NGX_HTTP_CRMSYNC_TR_UNIT bytes), its
   length; 0: the message is over */

static size_t
ngx_http_crmsync_tr_next(ngx_http_crmsync_tr_iter_t *it, u_char *out)
{
    size_t       n, i;
    u_char       c;
    const char  *s;

    while (it->p < it->last) {
        c = *it->p;

        switch (c) {

        case '\r':
            it->p++;

            if (it->p < it->last && *it->p == '\n') {
                it->p++;
            }

            /* fall through */

        case '\n':
            if (c == '\n') {
                it->p++;
            }

            s = "<br>";
            break;

        case '&':
            s = "&amp;";
            break;

        case '<':
            s = "&lt;";
            break;

        case '>':
            s = "&gt;";
            break;

        case '"':
            s = "&quot;";
            break;

        case '\'':
            s = "&#39;";
            break;

        default:
            s = NULL;
        }

        if (s) {
            if (c != '\r' && c != '\n') {
                it->p++;
            }

            n = strlen(s);
            memcpy(out, s, n);
            it->any = 1;
            return n;
        }

        if (c < 0x20 && c != '\t') {
            it->p++;                        /* a control character */
            continue;
        }

        it->any = 1;

        if (c < 0x80) {
            it->p++;
            out[0] = c;
            return 1;
        }

        n = ngx_http_crmsync_tr_utf8(it->p, it->last);

        if (n == 0) {
            it->p++;
            out[0] = 0xef;                  /* U+FFFD */
            out[1] = 0xbf;
            out[2] = 0xbd;
            return 3;
        }

        memcpy(out, it->p, n);
        it->p += n;
        return n;
    }

    for (i = 0; i < sizeof(ngx_http_crmsync_tr_labels)
                    / sizeof(ngx_http_crmsync_tr_labels[0]); i++)
    {
        if (!(it->att & ngx_http_crmsync_tr_labels[i].bit)) {
            continue;
        }

        it->att &= ~ngx_http_crmsync_tr_labels[i].bit;

        n = 0;

        if (it->any) {
            out[n++] = ' ';
        }

        s = ngx_http_crmsync_tr_labels[i].label;
        memcpy(out + n, s, strlen(s));
        it->any = 1;

        return n + strlen(s);
    }

    return 0;
}


/* "<p><strong>2026-12-07 10:15 UTC · Contact</strong>": the time when
   asked for and known (at > 0), " (continued)" on a part after the
   first */

static size_t
ngx_http_crmsync_tr_header(const ngx_http_crmsync_store_msg_t *m, int when,
    int continued, u_char *out)
{
    int          a;
    char        *p;
    time_t       t;
    int64_t      sec;
    struct tm    tm;
    const char  *role;

    a = m->author;
    role = ngx_http_crmsync_tr_roles[(a < 0 || a > NGX_HTTP_CRMSYNC_AUTHOR_NOTE)
                                     ? 0 : a];

    p = (char *) out;
    p += sprintf(p, "<p><strong>");

    sec = m->at / 1000;
    t = (time_t) sec;

    if (when && m->at > 0 && gmtime_r(&t, &tm) != NULL) {
        p += snprintf(p, 48, "%04d-%02d-%02d %02d:%02d UTC \xc2\xb7 ",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                      tm.tm_hour, tm.tm_min);
    }

    p += sprintf(p, "%s%s</strong>", role, continued ? " (continued)" : "");

    return p - (char *) out;
}


static int
ngx_http_crmsync_tr_add(ngx_http_crmsync_tr_buf_t *b, const u_char *data,
    size_t len)
{
    size_t   cap;
    u_char  *p;

    if (len >= b->cap - b->len || b->data == NULL) {
        cap = b->cap ? b->cap : 256;

        while (cap - b->len <= len) {
            if (cap > ((size_t) -1) / 2) {
                return -1;
            }

            cap *= 2;
        }

        p = realloc(b->data, cap);
        if (p == NULL) {
            return -1;
        }

        b->data = p;
        b->cap = cap;
    }

    if (len) {
        memcpy(b->data + b->len, data, len);
    }

    b->len += len;
    b->data[b->len] = '\0';

    return 0;
}


/* a C string (the channel's label) with the units of a message's text */

static int
ngx_http_crmsync_tr_escape(ngx_http_crmsync_tr_buf_t *b, const char *s)
{
    size_t                        n;
    u_char                        unit[NGX_HTTP_CRMSYNC_TR_UNIT];
    ngx_http_crmsync_store_msg_t  m;
    ngx_http_crmsync_tr_iter_t    it;

    memset(&m, 0, sizeof(m));
    m.text.data = (u_char *) s;
    m.text.len = s ? strlen(s) : 0;

    ngx_http_crmsync_tr_start(&it, &m);

    while ((n = ngx_http_crmsync_tr_next(&it, unit)) != 0) {
        if (ngx_http_crmsync_tr_add(b, unit, n) != 0) {
            return -1;
        }
    }

    return ngx_http_crmsync_tr_add(b, NULL, 0);
}


/* the current note is complete */

static int
ngx_http_crmsync_tr_flush(ngx_http_crmsync_tr_layout_t *l)
{
    size_t                     cap;
    ngx_http_crmsync_tnote_t  *notes, *note;

    if (!l->open) {
        return 0;
    }

    if (l->n == l->cap) {
        cap = l->cap ? l->cap * 2 : 4;

        notes = realloc(l->notes, cap * sizeof(ngx_http_crmsync_tnote_t));
        if (notes == NULL) {
            return -1;
        }

        l->notes = notes;
        l->cap = cap;
    }

    note = &l->notes[l->n++];
    note->body = l->body.data;
    note->len = l->body.len;
    note->first = l->first;
    note->last = l->last;
    note->part = l->part;

    memset(&l->body, 0, sizeof(ngx_http_crmsync_tr_buf_t));
    l->open = 0;

    return 0;
}


/* a paragraph starts in the current note */

static int
ngx_http_crmsync_tr_put(ngx_http_crmsync_tr_layout_t *l,
    const ngx_http_crmsync_store_msg_t *m, const u_char *header, size_t hlen,
    unsigned part)
{
    if (!l->open) {
        l->open = 1;
        l->first = m->id;
        l->part = part;
    }

    l->last = m->id;

    return ngx_http_crmsync_tr_add(&l->body, header, hlen);
}


/* the messages into notes of at most l->budget bytes, titles aside: 0,
   -1 (no memory), -2 (the budget holds no paragraph) */

static int
ngx_http_crmsync_tr_layout(ngx_http_crmsync_tr_layout_t *l,
    const ngx_http_crmsync_store_msg_t *m, size_t n)
{
    size_t                      i, hlen, clen, full, ulen;
    u_char                      header[NGX_HTTP_CRMSYNC_TR_HEADER];
    u_char                      unit[NGX_HTTP_CRMSYNC_TR_UNIT];
    unsigned                    part;
    ngx_http_crmsync_tr_iter_t  it, peek;

    for (i = 0; i < n; i++) {
        hlen = ngx_http_crmsync_tr_header(&m[i], 1, 0, header);

        clen = 0;
        ngx_http_crmsync_tr_start(&it, &m[i]);

        while ((ulen = ngx_http_crmsync_tr_next(&it, unit)) != 0) {
            clen += ulen;
        }

        full = hlen + (clen ? sizeof("<br>") - 1 : 0) + clen
               + sizeof("</p>") - 1;

        if (full > l->budget - l->body.len && full <= l->budget) {
            /* it fits a note of its own: the next one */

            if (ngx_http_crmsync_tr_flush(l) != 0) {
                return -1;
            }
        }

        if (full <= l->budget - l->body.len) {
            ngx_http_crmsync_tr_start(&it, &m[i]);

            if (ngx_http_crmsync_tr_put(l, &m[i], header, hlen, 0) != 0
                || (clen && ngx_http_crmsync_tr_add(&l->body,
                                                   ngx_http_crmsync_tr_lit(
                                                   "<br>")) != 0))
            {
                return -1;
            }

            while ((ulen = ngx_http_crmsync_tr_next(&it, unit)) != 0) {
                if (ngx_http_crmsync_tr_add(&l->body, unit, ulen) != 0) {
                    return -1;
                }
            }

            if (ngx_http_crmsync_tr_add(&l->body,
                                        ngx_http_crmsync_tr_lit("</p>"))
                != 0)
            {
                return -1;
            }

            continue;
        }

        /* alone it passes the limit: split between units, from where the
           current note is */

        if (clen == 0) {
            return -2;
        }

        ngx_http_crmsync_tr_start(&peek, &m[i]);
        part = 0;

        ulen = ngx_http_crmsync_tr_next(&peek, unit);

        for ( ;; ) {
            hlen = ngx_http_crmsync_tr_header(&m[i], 1, part > 0, header);

            if (hlen + ulen + sizeof("<br></p>") - 1
                > l->budget - l->body.len)
            {
                if (!l->open) {
                    return -2;
                }

                if (ngx_http_crmsync_tr_flush(l) != 0) {
                    return -1;
                }

                continue;
            }

            if (ngx_http_crmsync_tr_put(l, &m[i], header, hlen, part) != 0
                || ngx_http_crmsync_tr_add(&l->body,
                                           ngx_http_crmsync_tr_lit("<br>"))
                   != 0)
            {
                return -1;
            }

            while (ulen
                   && ulen + sizeof("</p>") - 1 <= l->budget - l->body.len)
            {
                if (ngx_http_crmsync_tr_add(&l->body, unit, ulen) != 0) {
                    return -1;
                }

                ulen = ngx_http_crmsync_tr_next(&peek, unit);
            }

            if (ngx_http_crmsync_tr_add(&l->body,
                                        ngx_http_crmsync_tr_lit("</p>"))
                != 0)
            {
                return -1;
            }

            if (ulen == 0) {
                break;
            }

            if (ngx_http_crmsync_tr_flush(l) != 0) {
                return -1;
            }

            part++;
        }
    }

    return ngx_http_crmsync_tr_flush(l);
}


static void
ngx_http_crmsync_tr_drop(ngx_http_crmsync_tr_layout_t *l)
{
    ngx_http_crmsync_transcript_free(l->notes, l->n);
    free(l->body.data);
    memset(l, 0, sizeof(ngx_http_crmsync_tr_layout_t));
}


static size_t
ngx_http_crmsync_tr_digits(size_t n)
{
    size_t  d;

    for (d = 1; n >= 10; n /= 10) {
        d++;
    }

    return d;
}


/* the title of note i of n (n 1: no part) */

static int
ngx_http_crmsync_tr_title(ngx_http_crmsync_tr_buf_t *b,
    const ngx_http_crmsync_tr_buf_t *channel, size_t i, size_t n)
{
    int   len;
    char  part[64];

    if (n > 1) {
        len = snprintf(part, sizeof(part), "%s, part %zu of %zu",
                       channel->len ? " conversation" : "Conversation",
                       i + 1, n);

    } else {
        len = snprintf(part, sizeof(part), "%s",
                       channel->len ? " conversation" : "Conversation");
    }

    if (ngx_http_crmsync_tr_add(b, ngx_http_crmsync_tr_lit("<p><strong>"))
        != 0
        || ngx_http_crmsync_tr_add(b, channel->data, channel->len) != 0
        || ngx_http_crmsync_tr_add(b, (u_char *) part, len) != 0
        || ngx_http_crmsync_tr_add(b, ngx_http_crmsync_tr_lit(
                                          "</strong></p>"))
           != 0)
    {
        return -1;
    }

    return 0;
}


/* each note gets its title in front */

static int
ngx_http_crmsync_tr_titles(ngx_http_crmsync_tr_layout_t *l,
    const ngx_http_crmsync_tr_buf_t *channel)
{
    size_t                     i;
    ngx_http_crmsync_tr_buf_t  b;
    ngx_http_crmsync_tnote_t  *note;

    for (i = 0; i < l->n; i++) {
        note = &l->notes[i];

        memset(&b, 0, sizeof(ngx_http_crmsync_tr_buf_t));

        if (ngx_http_crmsync_tr_title(&b, channel, i, l->n) != 0
            || ngx_http_crmsync_tr_add(&b, note->body, note->len) != 0)
        {
            free(b.data);
            return -1;
        }

        free(note->body);
        note->body = b.data;
        note->len = b.len;
    }

    return 0;
}


int
ngx_http_crmsync_transcript_notes(const ngx_http_crmsync_store_msg_t *m,
    size_t n, const char *channel, size_t limit,
    ngx_http_crmsync_tnote_t **notes, size_t *nnotes)
{
    int                           rc;
    size_t                        d, i, tlen, widest;
    ngx_http_crmsync_tr_buf_t     ch, title;
    ngx_http_crmsync_tr_layout_t  l;

    *notes = NULL;
    *nnotes = 0;

    if (n == 0) {
        return 0;
    }

    memset(&ch, 0, sizeof(ngx_http_crmsync_tr_buf_t));
    memset(&title, 0, sizeof(ngx_http_crmsync_tr_buf_t));
    memset(&l, 0, sizeof(ngx_http_crmsync_tr_layout_t));

    if (ngx_http_crmsync_tr_escape(&ch, channel) != 0) {
        goto failed;
    }

    /*
     * One note with the plain title, else parts: the title's length
     * depends on the number of digits of the number of notes; each round
     * reserves as many digits as the last one needed.
     */

    d = 0;

    for ( ;; ) {
        for (widest = 1, i = 0; i < d; i++) {
            widest *= 10;
        }

        widest -= (d > 0);                  /* 9, 99, 999 ... */

        title.len = 0;

        if (ngx_http_crmsync_tr_title(&title, &ch, widest - 1, widest)
            != 0)
        {
            goto failed;
        }

        tlen = title.len;

        if (tlen >= limit) {
            goto failed;
        }

        ngx_http_crmsync_tr_drop(&l);
        l.budget = limit - tlen;

        rc = ngx_http_crmsync_tr_layout(&l, m, n);
        if (rc != 0) {
            goto failed;
        }

        if (d == 0 ? l.n == 1 : ngx_http_crmsync_tr_digits(l.n) <= d) {
            break;
        }

        d = ngx_http_crmsync_tr_digits(l.n);
    }

    if (ngx_http_crmsync_tr_titles(&l, &ch) != 0) {
        goto failed;
    }

    free(ch.data);
    free(title.data);
    free(l.body.data);

    *notes = l.notes;
    *nnotes = l.n;

    return 0;

failed:

    free(ch.data);
    free(title.data);
    ngx_http_crmsync_tr_drop(&l);

    return -1;
}


void
ngx_http_crmsync_transcript_free(ngx_http_crmsync_tnote_t *notes, size_t n)
{
    size_t  i;

    if (notes == NULL) {
        return;
    }

    for (i = 0; i < n; i++) {
        free(notes[i].body);
    }

    free(notes);
}


u_char *
ngx_http_crmsync_transcript_message(const ngx_http_crmsync_store_msg_t *m,
    size_t *len)
{
    size_t                      hlen, ulen, room;
    u_char                      header[NGX_HTTP_CRMSYNC_TR_HEADER];
    u_char                      unit[NGX_HTTP_CRMSYNC_TR_UNIT];
    ngx_http_crmsync_tr_buf_t   b;
    ngx_http_crmsync_tr_iter_t  it;

    static u_char  more[] = " (truncated)</p>";

    memset(&b, 0, sizeof(ngx_http_crmsync_tr_buf_t));

    hlen = ngx_http_crmsync_tr_header(m, 0, 0, header);

    if (ngx_http_crmsync_tr_add(&b, header, hlen) != 0) {
        goto failed;
    }

    ngx_http_crmsync_tr_start(&it, m);

    ulen = ngx_http_crmsync_tr_next(&it, unit);

    if (ulen && ngx_http_crmsync_tr_add(&b, ngx_http_crmsync_tr_lit("<br>"))
                != 0)
    {
        goto failed;
    }

    room = NGX_HTTP_CRMSYNC_NOTE_MAX - (sizeof(more) - 1);

    while (ulen) {
        if (b.len + ulen > room) {
            if (ngx_http_crmsync_tr_add(&b, more, sizeof(more) - 1) != 0) {
                goto failed;
            }

            *len = b.len;
            return b.data;
        }

        if (ngx_http_crmsync_tr_add(&b, unit, ulen) != 0) {
            goto failed;
        }

        ulen = ngx_http_crmsync_tr_next(&it, unit);
    }

    if (ngx_http_crmsync_tr_add(&b, ngx_http_crmsync_tr_lit("</p>")) != 0) {
        goto failed;
    }

    *len = b.len;
    return b.data;

failed:

    free(b.data);
    *len = 0;

    return NULL;
}
