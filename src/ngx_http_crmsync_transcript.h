
/*
 * Copyright (C) crmsync authors
 *
 * Transcripts (doc/conversations.md): a conversation's messages as the
 * bodies of HubSpot notes.  Pure: no nginx header.
 */


#ifndef _NGX_HTTP_CRMSYNC_TRANSCRIPT_H_INCLUDED_
#define _NGX_HTTP_CRMSYNC_TRANSCRIPT_H_INCLUDED_


#include "ngx_http_crmsync_types.h"
#include "ngx_http_crmsync_store.h"


/* HubSpot's limit of a note body, in characters; bytes are counted,
   which is never fewer */
#define NGX_HTTP_CRMSYNC_NOTE_MAX  65536


/* one note of a transcript */
typedef struct {
    u_char                     *body;       /* malloc()ed HTML, NUL-ended */
    size_t                      len;        /* <= the limit */
    int64_t                     first;      /* the id of its first message */
    int64_t                     last;       /* and of its last */
    unsigned                    part;       /* 0, or the note goes on with
                                               message first, of which
                                               part notes hold the
                                               beginning: with first, a
                                               key unique in a transcript */
} ngx_http_crmsync_tnote_t;


/*
 * The notes of a transcript: a title line on each ("WhatsApp
 * conversation, part 2 of 3"), then per message its time (UTC), its
 * author's role and its text, HTML-escaped, attachments as labels
 * ("[image]").  A note is at most limit bytes; a message is never split
 * unless it alone passes the limit, and then never inside a UTF-8
 * sequence or an HTML entity.  Messages are taken as given (oldest
 * first).  0 and *notes malloc()ed (free with
 * ngx_http_crmsync_transcript_free), or -1 (no memory, or limit too small
 * for a title and one character).
 *
 * The body, HTML as hs_note_body renders it:
 *
 *     <p><strong>WhatsApp conversation</strong></p>
 *     <p><strong>2026-12-07 10:15 UTC · Contact</strong><br>Hi &amp;
 *     bye<br>second line [image]</p>
 *
 * ", part i of N" in the title when there are several notes; a message
 * split goes on in the next note under "... · Contact (continued)".
 * Channel NULL or "": "Conversation".  A time at or before 1970 (0:
 * unknown) is left out.  Invalid UTF-8 becomes U+FFFD, control characters
 * other than tab and line breaks are dropped: a body is valid UTF-8
 * without NUL.  n 0: 0 notes, *notes NULL.
 */
int ngx_http_crmsync_transcript_notes(const ngx_http_crmsync_store_msg_t *m,
    size_t n, const char *channel, size_t limit,
    ngx_http_crmsync_tnote_t **notes, size_t *nnotes);

void ngx_http_crmsync_transcript_free(ngx_http_crmsync_tnote_t *notes,
    size_t n);

/* one message as a communication's body (HTML, malloc()ed, NUL-ended),
   or NULL: "<p><strong>Contact</strong><br>text [image]</p>", the time
   left to hs_timestamp; past NGX_HTTP_CRMSYNC_NOTE_MAX bytes cut on a
   character and ended " (truncated)</p>" */
u_char *ngx_http_crmsync_transcript_message(
    const ngx_http_crmsync_store_msg_t *m, size_t *len);


#endif /* _NGX_HTTP_CRMSYNC_TRANSCRIPT_H_INCLUDED_ */
