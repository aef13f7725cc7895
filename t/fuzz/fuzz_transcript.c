
/*
 * Copyright (C) crmsync authors
 *
 * Fuzzing of transcripts.  The input is two bytes of limit, a channel
 * (a length byte, then its bytes), then messages: an author byte, an
 * attachments byte, a time byte, a length byte and the text (any bytes).
 * Whatever comes in, each note is at most the limit, NUL-ended at its
 * length, valid UTF-8, made of its title and whole paragraphs with whole
 * entities, and the paragraphs give back each message's text as a
 * communication's body has it: nothing lost, nothing cut inside a
 * character or an entity.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_crmsync_event.h"
#include "ngx_http_crmsync_transcript.h"


#define F_MSGS  256


/* valid UTF-8 (RFC 3629) */

static int
f_utf8(const u_char *p, size_t len)
{
    size_t  i, k, n;
    u_char  lo, hi;

    for (i = 0; i < len; i += n) {
        lo = 0x80;
        hi = 0xbf;

        if (p[i] < 0x80) {
            n = 1;
            continue;

        } else if (p[i] >= 0xc2 && p[i] <= 0xdf) {
            n = 2;

        } else if (p[i] >= 0xe0 && p[i] <= 0xef) {
            n = 3;
            lo = (p[i] == 0xe0) ? 0xa0 : lo;
            hi = (p[i] == 0xed) ? 0x9f : hi;

        } else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
            n = 4;
            lo = (p[i] == 0xf0) ? 0x90 : lo;
            hi = (p[i] == 0xf4) ? 0x8f : hi;

        } else {
            return 0;
        }

        if (len - i < n || p[i + 1] < lo || p[i + 1] > hi) {
            return 0;
        }

        for (k = 2; k < n; k++) {
            if (p[i + k] < 0x80 || p[i + k] > 0xbf) {
                return 0;
            }
        }
    }

    return 1;
}


/* content of a paragraph: text, whole entities, "<br>"; no control
   character but tab */

static void
f_content(const u_char *p, size_t len)
{
    size_t       i, k;
    const char  *e;

    static const char  *ok[] = {
        "&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "<br>"
    };

    for (i = 0; i < len; i++) {
        if (p[i] == '>' || (p[i] < 0x20 && p[i] != '\t')) {
            abort();
        }

        if (p[i] != '&' && p[i] != '<') {
            continue;
        }

        for (k = 0; k < 6; k++) {
            e = ok[k];

            if (len - i >= strlen(e) && memcmp(p + i, e, strlen(e)) == 0) {
                break;
            }
        }

        if (k == 6) {
            abort();
        }

        i += strlen(e) - 1;
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                            rc;
    char                           channel[32], title[256];
    size_t                         i, k, n, limit, nnotes, len, tlen, blen;
    size_t                         glen[F_MSGS], ngot;
    u_char                        *p, *end, *q, *h, *body, *got[F_MSGS];
    unsigned                       part, parts;
    ngx_http_crmsync_tnote_t      *notes;
    ngx_http_crmsync_store_msg_t   m[F_MSGS];

    if (size < 3) {
        return 0;
    }

    if (data[1] & 0x80) {
        limit = NGX_HTTP_CRMSYNC_NOTE_MAX;

    } else {
        limit = (data[0] | ((size_t) data[1] << 8)) % 2048;
    }

    len = data[2] % 16;
    data += 3;
    size -= 3;

    if (len > size) {
        return 0;
    }

    memcpy(channel, data, len);
    channel[len] = '\0';
    data += len;
    size -= len;

    /* the messages, each text in a buffer of its own size */

    for (n = 0; n < F_MSGS && size >= 4; n++) {
        m[n].id = 1000 + (int64_t) n * 3;
        m[n].author = (int8_t) data[0];
        m[n].attachments = data[1] | ((data[1] & 0x80) ? 0x100 : 0);
        m[n].at = (int64_t) (int8_t) data[2] * 86400000LL * 97;
        len = data[3];
        data += 4;
        size -= 4;

        len = len < size ? len : size;
        m[n].text.len = len;
        m[n].text.data = len ? malloc(len) : NULL;

        if (len) {
            memcpy(m[n].text.data, data, len);
        }

        data += len;
        size -= len;
    }

    rc = ngx_http_crmsync_transcript_notes(m, n, channel, limit, &notes,
                                           &nnotes);

    if (rc != 0) {
        /* a title, the widest header and unit fit in 400 bytes */
        if (rc != -1 || notes != NULL || nnotes != 0 || limit >= 400) {
            abort();
        }

        goto done;
    }

    if ((n == 0) != (nnotes == 0) || (n == 0 && notes != NULL)) {
        abort();
    }

    /* each message's content as a communication's body has it */

    for (i = 0; i < n; i++) {
        got[i] = ngx_http_crmsync_transcript_message(&m[i], &blen);
        if (got[i] == NULL) {
            abort();
        }

        glen[i] = 0;
    }

    ngot = 0;
    parts = 0;

    for (k = 0; k < nnotes; k++) {
        p = notes[k].body;

        if (p == NULL || notes[k].len > limit
            || strlen((char *) p) != notes[k].len
            || !f_utf8(p, notes[k].len))
        {
            abort();
        }

        end = p + notes[k].len;

        tlen = memcmp(p, "<p><strong>", 11) == 0 ? 11 : 0;
        q = (u_char *) strstr((char *) p, "</strong></p>");

        if (tlen == 0 || q == NULL) {
            abort();
        }

        if (nnotes > 1) {
            snprintf(title, sizeof(title), ", part %zu of %zu",
                     k + 1, nnotes);
            len = strlen(title);

            if ((size_t) (q - p) < len
                || memcmp(q - len, title, len) != 0)
            {
                abort();
            }
        }

        f_content(p + 11, q - (p + 11) - (nnotes > 1 ? len : 0));
        p = q + 13;

        if (p >= end) {
            abort();                        /* a note with no message */
        }

        for (part = 0; p < end; part++) {
            if (memcmp(p, "<p><strong>", 11) != 0) {
                abort();
            }

            h = p + 11;
            q = (u_char *) strstr((char *) h, "</strong>");

            if (q == NULL) {
                abort();
            }

            p = q + 9;

            if (q - h > 12 && memcmp(q - 12, " (continued)", 12) == 0) {
                if (part != 0 || ngot == 0 || notes[k].part != ++parts
                    || notes[k].first != m[ngot - 1].id)
                {
                    abort();
                }

            } else {
                if (ngot == n) {
                    abort();
                }

                if (part == 0 && (notes[k].part != 0
                                  || notes[k].first != m[ngot].id))
                {
                    abort();
                }

                ngot++;
                parts = 0;
            }

            q = (u_char *) strstr((char *) p, "</p>");

            if (q == NULL) {
                abort();
            }

            if (q != p) {
                if (memcmp(p, "<br>", 4) != 0 || q == p + 4) {
                    abort();
                }

                p += 4;
            }

            f_content(p, q - p);

            /* the content goes on where the message's body is */

            body = got[ngot - 1];
            h = (u_char *) strstr((char *) body, "</strong>") + 9;

            if (memcmp(h, "<br>", 4) == 0) {
                h += 4;
            }

            if (strlen((char *) h) < glen[ngot - 1] + (q - p)
                || memcmp(h + glen[ngot - 1], p, q - p) != 0)
            {
                abort();
            }

            glen[ngot - 1] += q - p;
            p = q + 4;
        }

        if (notes[k].last != m[ngot - 1].id) {
            abort();
        }
    }

    if (ngot != n) {
        abort();
    }

    for (i = 0; i < n; i++) {
        body = got[i];
        h = (u_char *) strstr((char *) body, "</strong>") + 9;

        if (memcmp(h, "<br>", 4) == 0) {
            h += 4;
        }

        if (strcmp((char *) h + glen[i], "</p>") != 0) {
            abort();                        /* something was lost */
        }

        free(got[i]);
    }

    ngx_http_crmsync_transcript_free(notes, nnotes);

done:

    for (i = 0; i < n; i++) {
        free(m[i].text.data);
    }

    return 0;
}
