
/*
 * Copyright (C) crmsync authors
 *
 * Unit tests: transcripts as HubSpot note bodies (HTML, at most a limit of
 * bytes each, nothing lost, never cut inside a UTF-8 sequence or an HTML
 * entity), and one message as a communication's body.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ngx_http_crmsync_event.h"
#include "ngx_http_crmsync_transcript.h"


/* 2026-12-07 10:15:00 UTC */
#define T_AT  1796638500000LL

#define T_MSGS  2048

#define T_TITLE  "<p><strong>WhatsApp conversation</strong></p>"
#define T_HEAD   "<p><strong>2026-12-07 10:15 UTC \xc2\xb7 Contact</strong>"
#define T_CONT   "<p><strong>2026-12-07 10:15 UTC \xc2\xb7 Contact" \
                 " (continued)</strong>"


static ngx_http_crmsync_store_msg_t   msgs[T_MSGS];
static size_t                         nmsgs;
static ngx_http_crmsync_tnote_t      *notes;
static size_t                         nnotes;

/* what a reader gets back of each message: the unescaped text of its
   paragraphs, continued ones joined */
static char                          *got[T_MSGS];
static size_t                         ngot;


static void
t_reset(void)
{
    size_t  i;

    for (i = 0; i < nmsgs; i++) {
        free(msgs[i].text.data);
    }

    for (i = 0; i < ngot; i++) {
        free(got[i]);
    }

    ngx_http_crmsync_transcript_free(notes, nnotes);

    notes = NULL;
    nnotes = 0;
    nmsgs = 0;
    ngot = 0;
}


static int
t_teardown(void **state)
{
    (void) state;

    t_reset();

    return 0;
}


/* a message with a copy of len bytes of text, in a buffer of exactly that
   size (valgrind sees a read past it) */

static void
t_msgn(int author, unsigned att, const char *text, size_t len)
{
    ngx_http_crmsync_store_msg_t  *m;

    assert_true(nmsgs < T_MSGS);

    m = &msgs[nmsgs];
    m->id = 100 + (int64_t) nmsgs;
    m->at = T_AT + (int64_t) nmsgs * 1000;
    m->author = author;
    m->attachments = att;
    m->text.len = len;
    m->text.data = NULL;

    if (len) {
        m->text.data = malloc(len);
        assert_non_null(m->text.data);
        memcpy(m->text.data, text, len);
    }

    nmsgs++;
}


static void
t_msg(int author, unsigned att, const char *text)
{
    t_msgn(author, att, text, strlen(text));
}


/* valid UTF-8 (RFC 3629) without NUL */

static int
t_utf8(const u_char *p, size_t len)
{
    size_t  i, k, n;
    u_char  lo, hi;

    for (i = 0; i < len; i += n) {
        lo = 0x80;
        hi = 0xbf;

        if (p[i] == 0) {
            return 0;

        } else if (p[i] < 0x80) {
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


/* the unescaped text of HTML content (no "</p>" in it): entities and
   "<br>" back; anything else there is a failure */

static void
t_unescape(const char *s, size_t len, char *out, size_t *olen)
{
    size_t  i, n, k;

    static const char  *from[] = {
        "&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "<br>"
    };
    static const char   to[] = "&<>\"'\n";

    n = *olen;

    for (i = 0; i < len; ) {
        if (s[i] != '&' && s[i] != '<') {
            assert_true(s[i] != '>');
            out[n++] = s[i++];
            continue;
        }

        for (k = 0; k < 6; k++) {
            if (len - i >= strlen(from[k])
                && memcmp(s + i, from[k], strlen(from[k])) == 0)
            {
                break;
            }
        }

        if (k == 6) {
            fail_msg("a bare '%c' at %zu of \"%.*s\"", s[i], i, (int) len,
                     s);
        }

        out[n++] = to[k];
        i += strlen(from[k]);
    }

    *olen = n;
}


/*
 * every note: within the limit, NUL-ended at len, valid UTF-8, its title,
 * then paragraphs "<p><strong>header</strong>[<br>content]</p>"; the
 * messages come back into got[], and first, last and part agree
 */

static void
t_read(size_t limit, const char *channel)
{
    char        title[256], *text, *end, *p, *q;
    size_t      i, len, parts, olen;
    int64_t     id;
    unsigned    part;
    const char  *head;

    parts = 0;
    id = 0;

    for (i = 0; i < nnotes; i++) {
        p = (char *) notes[i].body;

        assert_non_null(p);
        assert_true(notes[i].len <= limit);
        assert_int_equal(strlen(p), notes[i].len);
        assert_true(t_utf8(notes[i].body, notes[i].len));

        if (nnotes == 1) {
            snprintf(title, sizeof(title), "<p><strong>%s</strong></p>",
                     channel);

        } else {
            snprintf(title, sizeof(title),
                     "<p><strong>%s, part %zu of %zu</strong></p>", channel,
                     i + 1, nnotes);
        }

        assert_memory_equal(p, title, strlen(title));
        p += strlen(title);
        end = (char *) notes[i].body + notes[i].len;

        assert_true(p < end);

        for (part = 0; p < end; part++) {
            assert_memory_equal(p, "<p><strong>", 11);
            head = p + 11;
            q = strstr(head, "</strong>");
            assert_non_null(q);

            len = q - head;
            p = q + 9;

            if (len > 12
                && memcmp(head + len - 12, " (continued)", 12) == 0)
            {
                /* goes on with the last message, at the note's start */
                assert_true(ngot > 0);
                assert_int_equal(part, 0);
                assert_int_equal(notes[i].first, id);
                assert_int_equal(notes[i].part, ++parts);

            } else {
                assert_true(ngot < nmsgs);
                got[ngot] = calloc(1, 7 * msgs[ngot].text.len + 256);
                assert_non_null(got[ngot]);
                id = msgs[ngot].id;
                ngot++;
                parts = 0;

                if (part == 0) {
                    assert_int_equal(notes[i].first, id);
                    assert_int_equal(notes[i].part, 0);
                }
            }

            q = strstr(p, "</p>");
            assert_non_null(q);

            if (q != p) {
                assert_memory_equal(p, "<br>", 4);
                p += 4;
                assert_true(q > p);
            }

            text = got[ngot - 1];
            olen = strlen(text);
            t_unescape(p, q - p, text, &olen);
            text[olen] = '\0';

            p = q + 4;
        }

        assert_int_equal(notes[i].last, id);
    }

    assert_int_equal(ngot, nmsgs);
}


/* notes of msgs[] with a limit, read back */

static void
t_notes(size_t limit)
{
    assert_int_equal(ngx_http_crmsync_transcript_notes(msgs, nmsgs,
                                                       "WhatsApp", limit,
                                                       &notes, &nnotes),
                     0);
    t_read(limit, "WhatsApp conversation");
}


static void
test_small_exact(void **state)
{
    (void) state;

    t_msg(NGX_HTTP_CRMSYNC_AUTHOR_CONTACT, 0,
          "Hi, is the <b>blue</b> one \"in stock\"? Tom's & co");
    t_msg(NGX_HTTP_CRMSYNC_AUTHOR_AGENT, NGX_HTTP_CRMSYNC_ATT_IMAGE,
          "Yes!\nHere it is:");
    t_msg(NGX_HTTP_CRMSYNC_AUTHOR_CONTACT,
          NGX_HTTP_CRMSYNC_ATT_AUDIO | NGX_HTTP_CRMSYNC_ATT_LOCATION, "");
    msgs[2].at = T_AT + 119999;             /* 10:16:59.999 */

    t_notes(NGX_HTTP_CRMSYNC_NOTE_MAX);

    assert_int_equal(nnotes, 1);
    assert_int_equal(notes[0].first, 100);
    assert_int_equal(notes[0].last, 102);
    assert_int_equal(notes[0].part, 0);
    assert_string_equal((char *) notes[0].body,
        "<p><strong>WhatsApp conversation</strong></p>"
        "<p><strong>2026-12-07 10:15 UTC \xc2\xb7 Contact</strong><br>"
        "Hi, is the &lt;b&gt;blue&lt;/b&gt; one &quot;in stock&quot;? "
        "Tom&#39;s &amp; co</p>"
        "<p><strong>2026-12-07 10:15 UTC \xc2\xb7 Agent</strong><br>"
        "Yes!<br>Here it is: [image]</p>"
        "<p><strong>2026-12-07 10:16 UTC \xc2\xb7 Contact</strong><br>"
        "[audio] [location]</p>");
}


static void
test_roles_labels(void **state)
{
    (void) state;

    t_msg(NGX_HTTP_CRMSYNC_AUTHOR_BOT, 0, "b");
    t_msg(NGX_HTTP_CRMSYNC_AUTHOR_SYSTEM, 0, "s");
    t_msg(NGX_HTTP_CRMSYNC_AUTHOR_NOTE, 0, "n");
    t_msg(NGX_HTTP_CRMSYNC_AUTHOR_NONE, 0, "u");
    t_msg(NGX_HTTP_CRMSYNC_AUTHOR_AGENT, 0xffff, "all");
    t_msg(NGX_HTTP_CRMSYNC_AUTHOR_AGENT, 0, "");
    msgs[1].at = INT64_MAX;
    msgs[2].at = 0;                         /* unknown: no time shown */

    assert_int_equal(ngx_http_crmsync_transcript_notes(msgs, nmsgs, NULL,
                                                   NGX_HTTP_CRMSYNC_NOTE_MAX,
                                                   &notes, &nnotes),
                     0);
    t_read(NGX_HTTP_CRMSYNC_NOTE_MAX, "Conversation");

    assert_int_equal(nnotes, 1);
    assert_string_equal((char *) notes[0].body,
        "<p><strong>Conversation</strong></p>"
        "<p><strong>2026-12-07 10:15 UTC \xc2\xb7 Bot</strong><br>b</p>"
        "<p><strong>292278994-08-17 07:12 UTC \xc2\xb7 System</strong><br>s</p>"
        "<p><strong>Internal note</strong><br>n</p>"
        "<p><strong>2026-12-07 10:15 UTC \xc2\xb7 Unknown</strong><br>u</p>"
        "<p><strong>2026-12-07 10:15 UTC \xc2\xb7 Agent</strong><br>all"
        " [image] [audio] [video] [file] [location] [sticker]"
        " [contact card] [attachment]</p>"
        "<p><strong>2026-12-07 10:15 UTC \xc2\xb7 Agent</strong></p>");
}


static void
test_channel_escaped(void **state)
{
    (void) state;

    t_msg(NGX_HTTP_CRMSYNC_AUTHOR_CONTACT, 0, "x");

    assert_int_equal(ngx_http_crmsync_transcript_notes(msgs, nmsgs,
                                                       "Q&A <web>", 1000,
                                                       &notes, &nnotes),
                     0);
    assert_int_equal(nnotes, 1);
    assert_string_equal((char *) notes[0].body,
        "<p><strong>Q&amp;A &lt;web&gt; conversation</strong></p>"
        T_HEAD "<br>x</p>");
}


static void
test_no_messages(void **state)
{
    (void) state;

    notes = (ngx_http_crmsync_tnote_t *) 1;
    nnotes = 7;

    assert_int_equal(ngx_http_crmsync_transcript_notes(NULL, 0, "WhatsApp",
                                                   NGX_HTTP_CRMSYNC_NOTE_MAX,
                                                   &notes, &nnotes),
                     0);
    assert_null(notes);
    assert_int_equal(nnotes, 0);
}


static void
test_line_breaks_controls(void **state)
{
    (void) state;

    t_msgn(NGX_HTTP_CRMSYNC_AUTHOR_CONTACT, 0,
           "a\r\nb\rc\n\nd\te\0f\x01g\x7fh\r",
           sizeof("a\r\nb\rc\n\nd\te\0f\x01g\x7fh\r") - 1);

    t_notes(1000);

    assert_int_equal(nnotes, 1);
    assert_string_equal((char *) notes[0].body,
        T_TITLE T_HEAD "<br>a<br>b<br>c<br><br>d\te" "fg\x7fh<br></p>");
}


static void
test_invalid_utf8(void **state)
{
    size_t  len;

    (void) state;

    /* a stray continuation byte, 0xff, an overlong '/', a surrogate, a
       code point past U+10FFFF, valid 2, 3 and 4 byte sequences, and a
       sequence cut by the end of the text */

    len = sizeof("\x80" "a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d\xf4\x90\x80\x80"
                 "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" "\xf0\x9f\x98") - 1;

    t_msgn(NGX_HTTP_CRMSYNC_AUTHOR_CONTACT, 0,
           "\x80" "a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d\xf4\x90\x80\x80"
           "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" "\xf0\x9f\x98", len);

    t_notes(1000);

#define R  "\xef\xbf\xbd"

    assert_int_equal(nnotes, 1);
    assert_string_equal((char *) notes[0].body,
        T_TITLE T_HEAD "<br>" R "a" R "b" R R "c" R R R "d" R R R R
        "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" R R R "</p>");

#undef R
}


/* a message that makes a note exactly limit bytes stays whole; one byte
   less and it is split; a second one that exactly fills the rest joins
   the note, one byte more and it goes whole to the next */

static void
test_exact_fill(void **state)
{
    char    text[200];
    size_t  limit;

    (void) state;

    memset(text, 'x', 100);
    text[100] = '\0';

    t_msgn(NGX_HTTP_CRMSYNC_AUTHOR_CONTACT, 0, text, 100);
    limit = strlen(T_TITLE T_HEAD "<br></p>") + 100;

    t_notes(limit);
    assert_int_equal(nnotes, 1);
    assert_int_equal(notes[0].len, limit);
    t_reset();

    t_msgn(NGX_HTTP_CRMSYNC_AUTHOR_CONTACT, 0, text, 100);
    t_notes(limit - 1);
    assert_int_equal(nnotes, 2);
    assert_string_equal(got[0], text);
    assert_int_equal(notes[1].part, 1);
    assert_int_equal(notes[1].first, 100);
    t_reset();

    /* two messages of 20 and k bytes; the second fills the note */

    t_msgn(NGX_HTTP_CRMSYNC_AUTHOR_CONTACT, 0, text, 20);
    t_msgn(NGX_HTTP_CRMSYNC_AUTHOR_CONTACT, 0, text, 30);
    limit = strlen(T_TITLE T_HEAD "<br></p>" T_HEAD "<br></p>") + 50;
    t_notes(limit);
    assert_int_equal(nnotes, 1);
    assert_int_equal(notes[0].len, limit);
    t_reset();

    t_msgn(NGX_HTTP_CRMSYNC_AUTHOR_CONTACT, 0, text, 20);
    t_msgn(NGX_HTTP_CRMSYNC_AUTHOR_CONTACT, 0, text, 31);
    t_notes(limit);
    assert_int_equal(nnotes, 2);
    assert_int_equal(notes[0].last, 100);
    assert_int_equal(notes[1].first, 101);
    assert_int_equal(notes[1].part, 0);
    assert_null(strstr((char *) notes[1].body, "(continued)"));
    text[31] = '\0';
    assert_string_equal(got[1], text);
}


/* the first note of a split message: title, header, k bytes of text and
   "</p>" leave room bytes before the limit */

#define T_P1  "<p><strong>WhatsApp conversation, part 1 of 2</strong></p>" \
              T_HEAD "<br>"
#define T_P2  "<p><strong>WhatsApp conversation, part 2 of 2</strong></p>" \
              T_CONT "<br>"


/* a message of 100 'a', one unit, 50 'b': the first note has room for
   the a's and room bytes more */

static void
t_straddle(const char *unit, size_t room)
{
    char    text[256];

    memset(text, 'a', 100);
    strcpy(text + 100, unit);
    memset(text + 100 + strlen(unit), 'b', 50);
    text[150 + strlen(unit)] = '\0';

    t_msg(NGX_HTTP_CRMSYNC_AUTHOR_CONTACT, 0, text);
    t_notes(strlen(T_P1 "</p>") + 100 + room);

    assert_int_equal(nnotes, 2);
    assert_string_equal(got[0], text);
}


/* the bodies of both notes: the first with the a's and head, the second
   with tail and the b's */

static void
t_bodies(const char *head, const char *tail)
{
    char  want[512];

    snprintf(want, sizeof(want), "%s%.100s%s</p>", T_P1,
             (char *) msgs[0].text.data, head);
    assert_string_equal((char *) notes[0].body, want);

    snprintf(want, sizeof(want), "%s%s%.50s</p>", T_P2, tail,
             (char *) msgs[0].text.data + msgs[0].text.len - 50);
    assert_string_equal((char *) notes[1].body, want);
}


static void
test_utf8_straddles(void **state)
{
    size_t  room;

    (void) state;

    /* a 4-byte character with 1, 2 or 3 bytes of room left: all of it
       goes to the next note; with 4 it stays */

    for (room = 1; room <= 4; room++) {
        t_straddle("\xf0\x9f\x98\x80", room);

        if (room < 4) {
            assert_int_equal(notes[0].len, strlen(T_P1 "</p>") + 100);
            t_bodies("", "\xf0\x9f\x98\x80");

        } else {
            assert_int_equal(notes[0].len, strlen(T_P1 "</p>") + 104);
            t_bodies("\xf0\x9f\x98\x80", "");
        }

        t_reset();
    }
}


static void
test_entity_straddles(void **state)
{
    size_t  room;

    (void) state;

    for (room = 1; room <= 5; room++) {
        t_straddle("&", room);

        if (room < 5) {
            t_bodies("", "&amp;");

        } else {
            t_bodies("&amp;", "");
        }

        t_reset();
    }

    /* a line break, "<br>", is one unit as well */

    t_straddle("\n", 3);
    t_bodies("", "<br>");
}


/* 150,000 characters: 1,500 messages of 100, or one of 150,000, make 3
   notes of HubSpot's limit; every message comes back whole, in order */

static void
test_huge(void **state)
{
    char    *text;
    size_t   i, k;

    (void) state;

    text = malloc(150001);
    assert_non_null(text);

    for (i = 0; i < 150000; i++) {
        text[i] = "abcdefghijklmnopqrstuvwxyz0123456789 <&>\n"[i % 41];
    }

    text[150000] = '\0';

    for (i = 0; i < 1500; i++) {
        t_msgn(NGX_HTTP_CRMSYNC_AUTHOR_CONTACT + i % 2, 0, text + i * 100,
               100);
    }

    t_notes(NGX_HTTP_CRMSYNC_NOTE_MAX);

    assert_true(nnotes >= 3);

    for (i = 0; i < 1500; i++) {
        assert_memory_equal(got[i], text + i * 100, 100);
        assert_int_equal(strlen(got[i]), 100);
    }

    /* no message split: each note begins with a whole one */

    for (k = 0; k < nnotes; k++) {
        assert_int_equal(notes[k].part, 0);
        assert_null(strstr((char *) notes[k].body, "(continued)"));

        if (k) {
            assert_int_equal(notes[k].first, notes[k - 1].last + 1);
        }
    }

    t_reset();

    /* plain text in 150 messages: 3 notes, not more */

    memset(text, 'z', 150000);

    for (i = 0; i < 150; i++) {
        t_msgn(NGX_HTTP_CRMSYNC_AUTHOR_AGENT, 0, text, 1000);
    }

    t_notes(NGX_HTTP_CRMSYNC_NOTE_MAX);
    assert_int_equal(nnotes, 3);
    t_reset();

    t_msgn(NGX_HTTP_CRMSYNC_AUTHOR_CONTACT, 0, text, 150000);
    t_notes(NGX_HTTP_CRMSYNC_NOTE_MAX);

    assert_int_equal(nnotes, 3);
    assert_memory_equal(got[0], text, 150000);
    assert_int_equal(strlen(got[0]), 150000);

    for (k = 0; k < 3; k++) {
        assert_int_equal(notes[k].first, 100);
        assert_int_equal(notes[k].last, 100);
        assert_int_equal(notes[k].part, k);
    }

    assert_int_equal(notes[0].len, NGX_HTTP_CRMSYNC_NOTE_MAX);
    assert_int_equal(notes[1].len, NGX_HTTP_CRMSYNC_NOTE_MAX);

    free(text);
}


/* ten notes and more: "part 1 of 12", each title still within the
   limit */

static void
test_many_parts(void **state)
{
    char    text[4000];
    size_t  i, limit;

    (void) state;

    for (i = 0; i < sizeof(text); i++) {
        text[i] = "x\xc3\xa9&'"[i % 5];     /* é is 2 bytes */
    }

    t_msgn(NGX_HTTP_CRMSYNC_AUTHOR_CONTACT, NGX_HTTP_CRMSYNC_ATT_FILE, text,
           sizeof(text));

    for (limit = 300; limit < 1400; limit += 37) {
        t_notes(limit);

        assert_true(nnotes >= 10 || limit > 1000);
        assert_memory_equal(got[0], text, sizeof(text));
        assert_string_equal(got[0] + sizeof(text), " [file]");

        ngx_http_crmsync_transcript_free(notes, nnotes);
        notes = NULL;
        nnotes = 0;
        free(got[0]);
        ngot = 0;
    }
}


/* small limits: a refusal when a title and one character do not fit,
   otherwise notes within the limit that lose nothing */

static void
test_small_limits(void **state)
{
    int     rc;
    size_t  limit, ok;

    (void) state;

    t_msg(NGX_HTTP_CRMSYNC_AUTHOR_AGENT, NGX_HTTP_CRMSYNC_ATT_CONTACT,
          "h\xc3\xa9llo & <bye>\n\xf0\x9f\x98\x80");
    t_msg(NGX_HTTP_CRMSYNC_AUTHOR_CONTACT, 0, "ok");

    ok = 0;

    for (limit = 0; limit < 400; limit++) {
        rc = ngx_http_crmsync_transcript_notes(msgs, nmsgs, "WhatsApp",
                                               limit, &notes, &nnotes);
        if (rc != 0) {
            assert_int_equal(rc, -1);
            assert_null(notes);
            assert_int_equal(nnotes, 0);
            assert_int_equal(ok, 0);
            continue;
        }

        ok++;
        t_read(limit, "WhatsApp conversation");
        assert_string_equal(got[0],
                            "h\xc3\xa9llo & <bye>\n\xf0\x9f\x98\x80"
                            " [contact card]");
        assert_string_equal(got[1], "ok");

        ngx_http_crmsync_transcript_free(notes, nnotes);
        notes = NULL;
        nnotes = 0;
        free(got[0]);
        free(got[1]);
        ngot = 0;
    }

    /* from some limit on, every one works */
    assert_true(ok > 200);

    assert_int_equal(ngx_http_crmsync_transcript_notes(msgs, nmsgs,
                                                       "WhatsApp", 40,
                                                       &notes, &nnotes),
                     -1);
}


static void
test_message(void **state)
{
    size_t   len;
    u_char  *body;
    char    *text;

    (void) state;

    t_msg(NGX_HTTP_CRMSYNC_AUTHOR_CONTACT, NGX_HTTP_CRMSYNC_ATT_VIDEO,
          "Where's my <order>?\n#1234 & more");

    body = ngx_http_crmsync_transcript_message(&msgs[0], &len);
    assert_non_null(body);
    assert_int_equal(len, strlen((char *) body));
    assert_string_equal((char *) body,
        "<p><strong>Contact</strong><br>Where&#39;s my &lt;order&gt;?<br>"
        "#1234 &amp; more [video]</p>");
    free(body);

    t_msg(NGX_HTTP_CRMSYNC_AUTHOR_AGENT, 0, "");
    body = ngx_http_crmsync_transcript_message(&msgs[1], &len);
    assert_string_equal((char *) body, "<p><strong>Agent</strong></p>");
    free(body);

    /* past HubSpot's limit: cut on a character, marked */

    text = malloc(100000);
    assert_non_null(text);
    memset(text, '&', 100000);
    t_msgn(NGX_HTTP_CRMSYNC_AUTHOR_BOT, 0, text, 100000);
    free(text);

    body = ngx_http_crmsync_transcript_message(&msgs[2], &len);
    assert_non_null(body);
    assert_true(len <= NGX_HTTP_CRMSYNC_NOTE_MAX);
    assert_true(len > NGX_HTTP_CRMSYNC_NOTE_MAX - 32);
    assert_int_equal(len, strlen((char *) body));
    assert_string_equal((char *) body + len - 21, "&amp; (truncated)</p>");
    free(body);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_small_exact, t_teardown),
        cmocka_unit_test_teardown(test_roles_labels, t_teardown),
        cmocka_unit_test_teardown(test_channel_escaped, t_teardown),
        cmocka_unit_test_teardown(test_no_messages, t_teardown),
        cmocka_unit_test_teardown(test_line_breaks_controls, t_teardown),
        cmocka_unit_test_teardown(test_invalid_utf8, t_teardown),
        cmocka_unit_test_teardown(test_exact_fill, t_teardown),
        cmocka_unit_test_teardown(test_utf8_straddles, t_teardown),
        cmocka_unit_test_teardown(test_entity_straddles, t_teardown),
        cmocka_unit_test_teardown(test_huge, t_teardown),
        cmocka_unit_test_teardown(test_many_parts, t_teardown),
        cmocka_unit_test_teardown(test_small_limits, t_teardown),
        cmocka_unit_test_teardown(test_message, t_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
