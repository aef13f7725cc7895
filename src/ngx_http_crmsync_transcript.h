
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
 */
int ngx_http_crmsync_transcript_notes(const ngx_http_crmsync_store_msg_t *m,
    size_t n, const char *channel, size_t limit,
    ngx_http_crmsync_tnote_t **notes, size_t *nnotes);

void ngx_http_crmsync_transcript_free(ngx_http_crmsync_tnote_t *notes,
    size_t n);

/* one message as a communication's body (HTML, malloc()ed), or NULL */
u_char *ngx_http_crmsync_transcript_message(
    const ngx_http_crmsync_store_msg_t *m, size_t *len);


#endif /* _NGX_HTTP_CRMSYNC_TRANSCRIPT_H_INCLUDED_ */
