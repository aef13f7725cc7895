
/*
 * Copyright (C) crmsync authors
 *
 * The store against a model of its leases: random sequences of adds,
 * claims, outcomes under fresh or stale tokens, releases, unholds,
 * prunes and time passing, on a fresh store in /dev/shm each run.
 * Each job has some of 4 keys (2 emails, 2 phones), in sets that link
 * one person's jobs through each other.
 * Checked after every step: a job is in flight exactly while the model
 * holds a live lease on it, under that lease's token; no job is claimed
 * while another claim's lease on it (or on a job of the portal that
 * shares a key with it) runs; a claim takes exactly the jobs the model
 * of the rule takes (the due jobs in id order, but for those that share
 * a key with a job in flight, with an earlier one not due, or with an
 * earlier one held back so), in ascending ids; an add is a duplicate
 * exactly when it adds no job, and stores its keys only then; stats
 * count what the table holds.
 * Action jobs (kind > 0) are added with an event's contact job, waiting
 * for it, or alone with keys of their own: contacts and actions are
 * claimed apart (neither holds the other back), a claim of actions never
 * takes two that share a key, and a contact job's outcome moves its
 * waiting actions (queued with the key "contact:h", done, or dead).
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include "ngx_http_crmsync_store.h"


#define F_JOBS    256
#define F_TOKENS  512
#define F_LEASE   5000
#define F_KEYS    9


typedef struct {
    int64_t     token;
    int64_t     until;
    int64_t     owner;
    int64_t     claim;          /* which claim */
    int         live;
} f_lease_t;


typedef struct {
    int64_t     id;
    int64_t     token;
} f_token_t;


static char        path[64], wal[80], shm[80];
static f_lease_t   lease[F_JOBS];
static unsigned    keys[F_JOBS];       /* bit i: key i of f_key_names */
static int         portal_of[F_JOBS];
static int         action_of[F_JOBS];  /* 1: kind > 0 */
static f_token_t   tokens[F_TOKENS];
static size_t      ntokens;
static sqlite3    *db;


static const char  *f_key_names[F_KEYS] = {
    "email:m0@x", "email:m1@x", "email:m2@x", "email:m3@x",
    "phone:+490", "phone:+491", "phone:+492", "phone:+493",
    "contact:h"         /* an action's, once its contact job is done */
};


/* e0; e0 p0; p0; p0 e1; e1; none; e0 p1; p1 */
static const unsigned  f_key_sets[8] = {
    0x01, 0x11, 0x10, 0x12, 0x02, 0x00, 0x21, 0x20
};


#define CHECK(c)                                                            \
    if (!(c)) {                                                             \
        fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);             \
        abort();                                                            \
    }


static int64_t
f_int(const char *sql, int64_t arg)
{
    int64_t        v;
    sqlite3_stmt  *s;

    CHECK(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK);
    sqlite3_bind_int64(s, 1, arg);
    CHECK(sqlite3_step(s) == SQLITE_ROW);
    v = sqlite3_column_type(s, 0) == SQLITE_NULL
        ? -1 : sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);

    return v;
}


/* the table agrees with the model's leases */
static void
f_check_leases(void)
{
    int64_t        id, state, tok;
    sqlite3_stmt  *s;

    CHECK(sqlite3_prepare_v2(db, "SELECT id, state, ifnull(lease, 0)"
                             " FROM job", -1, &s, NULL) == SQLITE_OK);

    while (sqlite3_step(s) == SQLITE_ROW) {
        id = sqlite3_column_int64(s, 0);
        state = sqlite3_column_int64(s, 1);
        tok = sqlite3_column_int64(s, 2);

        CHECK(id > 0 && id < F_JOBS);

        if (lease[id].live) {
            CHECK(state == NGX_HTTP_CRMSYNC_JOB_IN_FLIGHT);
            CHECK(tok == lease[id].token);

        } else {
            CHECK(state != NGX_HTTP_CRMSYNC_JOB_IN_FLIGHT);
            CHECK(tok == 0);
        }
    }

    sqlite3_finalize(s);
}


static void
f_check_stats(ngx_http_crmsync_store_t *st)
{
    int                             i;
    int64_t                         sum;
    ngx_http_crmsync_store_stats_t  stats;

    if (ngx_http_crmsync_store_stats(st, &stats)
        != NGX_HTTP_CRMSYNC_STORE_OK)
    {
        abort();
    }

    sum = 0;

    for (i = 0; i < NGX_HTTP_CRMSYNC_JOB_STATES; i++) {
        CHECK(stats.count[i] == f_int("SELECT count(*) FROM job"
                                      " WHERE state = ?1 AND state < 5", i));
        sum += stats.count[i];
    }

    CHECK(sum == f_int("SELECT count(*) FROM job WHERE state <> ?1", 5));

    CHECK(stats.oldest == (f_int("SELECT min(received_at) FROM job"
                                 " WHERE state < ?1", 3) < 0
                           ? 0 : f_int("SELECT min(received_at) FROM job"
                                       " WHERE state < ?1", 3)));
}


/* the jobs a claim of max jobs of portal at now must take, from the
   table as it is before the claim; *n of them in want[] */
static void
f_model_claim(int portal, int actions, int64_t now, size_t max,
    int64_t *want, size_t *n)
{
    int            k;
    int64_t        id, state, visible, held[F_KEYS];
    unsigned       mask;
    sqlite3_stmt  *s;

    for (k = 0; k < F_KEYS; k++) {
        held[k] = INT64_MAX;
    }

    CHECK(sqlite3_prepare_v2(db, "SELECT id, state, visible_at FROM job"
                             " WHERE portal = 'p' || ?1 AND state < 3"
                             " AND visible_at > ?2 AND (kind > 0) = ?3",
                             -1, &s, NULL) == SQLITE_OK);
    sqlite3_bind_int(s, 1, portal);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_int(s, 3, actions);

    while (sqlite3_step(s) == SQLITE_ROW) {
        id = sqlite3_column_int64(s, 0);
        state = sqlite3_column_int64(s, 1);

        for (k = 0; k < F_KEYS; k++) {
            if ((keys[id] & (1u << k))
                && (state == 2 ? 0 : id) < held[k])
            {
                held[k] = (state == 2) ? 0 : id;
            }
        }
    }

    sqlite3_finalize(s);

    *n = 0;

    CHECK(sqlite3_prepare_v2(db, "SELECT id, visible_at FROM job"
                             " WHERE portal = 'p' || ?1 AND state < 3"
                             " AND visible_at <= ?2 AND (kind > 0) = ?3"
                             " ORDER BY id",
                             -1, &s, NULL) == SQLITE_OK);
    sqlite3_bind_int(s, 1, portal);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_int(s, 3, actions);

    while (*n < max && sqlite3_step(s) == SQLITE_ROW) {
        id = sqlite3_column_int64(s, 0);
        visible = sqlite3_column_int64(s, 1);
        mask = keys[id];

        CHECK(visible <= now);

        for (k = 0; k < F_KEYS; k++) {
            if ((mask & (1u << k)) && held[k] < id) {
                break;
            }
        }

        if (k == F_KEYS) {
            want[(*n)++] = id;

            /* an action taken holds its keys as one in flight */
            for (k = 0; actions && k < F_KEYS; k++) {
                if (mask & (1u << k)) {
                    held[k] = 0;
                }
            }

            continue;
        }

        for (k = 0; k < F_KEYS; k++) {
            if ((mask & (1u << k)) && id < held[k]) {
                held[k] = id;
            }
        }
    }

    sqlite3_finalize(s);
}


/* job_key holds the keys of the jobs there are, no more */
static void
f_check_keys(void)
{
    int64_t        sum;
    sqlite3_stmt  *s;

    sum = 0;

    CHECK(sqlite3_prepare_v2(db, "SELECT id FROM job", -1, &s, NULL)
          == SQLITE_OK);

    while (sqlite3_step(s) == SQLITE_ROW) {
        sum += __builtin_popcount(keys[sqlite3_column_int64(s, 0)]);
    }

    sqlite3_finalize(s);

    CHECK(f_int("SELECT count(*) FROM job_key WHERE ?1", 1) == sum);
}


/* the keys the table holds for a job, as a mask */
static unsigned
f_stored_keys(int64_t id)
{
    int            k;
    unsigned       mask;
    sqlite3_stmt  *s;

    mask = 0;

    CHECK(sqlite3_prepare_v2(db, "SELECT key FROM job_key WHERE job = ?1",
                             -1, &s, NULL) == SQLITE_OK);
    sqlite3_bind_int64(s, 1, id);

    while (sqlite3_step(s) == SQLITE_ROW) {
        for (k = 0; k < F_KEYS; k++) {
            if (strcmp((const char *) sqlite3_column_text(s, 0),
                       f_key_names[k]) == 0)
            {
                mask |= 1u << k;
            }
        }
    }

    sqlite3_finalize(s);

    return mask;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                           err[256], key[16];
    size_t                         i, k, n, max, nwant, j, nact;
    unsigned                       mask;
    int64_t                        want[8], added[3], children[F_JOBS];
    unsigned                       masks[3], parented[3];
    int                            actions, nchildren;
    ngx_http_crmsync_str_t         row_keys[8];
    int64_t                        now, owner, id, jobs_before, claims, next,
                                   held, got;
    uint8_t                        op, a, b;
    ngx_http_crmsync_str_t         portal;
    ngx_http_crmsync_store_t      *st;
    ngx_http_crmsync_store_row_t   row, arow;
    ngx_http_crmsync_store_job_t  *jobs;
    static const char             *portals[] = { "p0", "p1" };

    if (path[0] == '\0') {
        snprintf(path, sizeof(path), "/dev/shm/crmsync-fuzz-%d.db",
                 (int) getpid());
        snprintf(wal, sizeof(wal), "%s-wal", path);
        snprintf(shm, sizeof(shm), "%s-shm", path);
    }

    unlink(path);
    unlink(wal);
    unlink(shm);

    if (ngx_http_crmsync_store_init(path, err, sizeof(err)) != 0) {
        fprintf(stderr, "init: %s\n", err);
        abort();
    }

    st = ngx_http_crmsync_store_open(path, 0, err, sizeof(err));
    if (st == NULL) {
        fprintf(stderr, "open: %s\n", err);
        abort();
    }

    CHECK(sqlite3_open(path, &db) == SQLITE_OK);

    memset(lease, 0, sizeof(lease));
    ntokens = 0;
    now = 1000;
    claims = 0;

    for (i = 0; i + 3 <= size && i < 3 * 200; i += 3) {
        op = data[i] % 8;

        /* adds are twice as likely as next_due: persons' jobs pile up */
        if (op == 7 && (data[i] & 0x80)) {
            op = 0;
        }
        a = data[i + 1];
        b = data[i + 2];
        portal.data = (u_char *) portals[a & 1];
        portal.len = 2;

        switch (op) {

        case 0:     /* add: a contact job, and maybe actions */
            if (f_int("SELECT count(*) FROM job WHERE ?1", 1) >= F_JOBS - 4) {
                break;
            }

            snprintf(key, sizeof(key), "k%d", b % 48);

            /* the keys: one of 8 sets over two emails and two phones,
               chained so that a person's jobs link through each other */
            mask = f_key_sets[(a >> 1) & 7];
            n = 0;

            for (k = 0; k < 8; k++) {
                if (mask & (1u << k)) {
                    row_keys[n].data = (u_char *) f_key_names[k];
                    row_keys[n].len = strlen(f_key_names[k]);
                    n++;
                }
            }

            memset(&row, 0, sizeof(row));
            row.key.data = (u_char *) key;
            row.key.len = strlen(key);
            row.location = portal;
            row.portal = portal;
            row.provider = "standard";
            row.type = "message";
            row.keys = row_keys;
            row.nkeys = n;
            row.match_key = n ? row_keys[0] : portal;
            row.state = (a & 0x30) == 0x30 ? NGX_HTTP_CRMSYNC_JOB_HELD
                                           : NGX_HTTP_CRMSYNC_JOB_QUEUED;
            row.hold_reason = row.state == NGX_HTTP_CRMSYNC_JOB_HELD ? "r"
                                                                      : NULL;
            row.payload = portal;
            row.event = portal;
            row.visible_at = now;

            jobs_before = f_int("SELECT count(*) FROM job WHERE ?1", 1);

            CHECK(ngx_http_crmsync_store_begin(st)
                  == NGX_HTTP_CRMSYNC_STORE_OK);
            CHECK(ngx_http_crmsync_store_add(st, &row, now)
                  == NGX_HTTP_CRMSYNC_STORE_OK);
            CHECK(row.duplicate == (row.id == 0));

            added[0] = row.id;
            masks[0] = mask;
            parented[0] = 0;

            /*
             * b / 48: 2, one action waiting for the contact job; 3, one
             * alone (with the contact job's keys: the classes must not
             * hold each other back); 4, two waiting; 5, one of each
             */
            nact = (b / 48 < 2) ? 0 : (b / 48 < 4) ? 1 : 2;

            for (j = 0; j < nact; j++) {
                memset(&arow, 0, sizeof(arow));
                arow.key = row.key;
                arow.location = portal;
                arow.portal = portal;
                arow.provider = "standard";
                arow.type = "message";
                arow.match_key = portal;
                arow.state = NGX_HTTP_CRMSYNC_JOB_QUEUED;
                arow.payload = portal;
                arow.event = portal;
                arow.visible_at = now;
                arow.kind = 1 + (j + a) % (NGX_HTTP_CRMSYNC_KINDS - 1);

                if (b / 48 == 3 || (b / 48 == 5 && j == 1)) {
                    arow.keys = row_keys;
                    arow.nkeys = n;
                    masks[j + 1] = mask;
                    parented[j + 1] = 0;

                } else {
                    arow.parent = row.id;
                    masks[j + 1] = 0;
                    parented[j + 1] = 1;
                }

                CHECK(ngx_http_crmsync_store_add(st, &arow, now)
                      == NGX_HTTP_CRMSYNC_STORE_OK);
                CHECK(arow.duplicate == (arow.id == 0));

                /* the actions of a delivery seen before are too */
                CHECK(!row.duplicate || arow.duplicate);

                added[j + 1] = arow.id;
            }

            if ((a & 0xc0) == 0xc0) {
                ngx_http_crmsync_store_rollback(st);
                CHECK(f_int("SELECT count(*) FROM job WHERE ?1", 1)
                      == jobs_before);
                break;
            }

            CHECK(ngx_http_crmsync_store_commit(st)
                  == NGX_HTTP_CRMSYNC_STORE_OK);

            n = 0;

            for (j = 0; j <= nact; j++) {
                id = added[j];

                if (id == 0) {
                    continue;
                }

                n++;
                CHECK(id > 0 && id < F_JOBS);
                keys[id] = masks[j];
                portal_of[id] = a & 1;
                action_of[id] = (j > 0);

                /* the new job has its keys, its kind; an action with a
                   parent waits for it */
                CHECK(f_stored_keys(id) == masks[j]);
                CHECK((f_int("SELECT kind FROM job WHERE id = ?1", id) > 0)
                      == (j > 0));

                if (parented[j]) {
                    CHECK(f_int("SELECT parent FROM job WHERE id = ?1", id)
                          == added[0]);
                    CHECK(f_int("SELECT state FROM job WHERE id = ?1", id)
                          == NGX_HTTP_CRMSYNC_JOB_HELD);
                }
            }

            /* a duplicate adds no job */
            CHECK(f_int("SELECT count(*) FROM job WHERE ?1", 1)
                  == jobs_before + (int64_t) n);

            f_check_keys();

            break;

        case 1:     /* claim */
            owner = a % 3;
            max = b % 5;
            actions = (b >> 3) & 1;

            f_model_claim(a & 1, actions, now, max, want, &nwant);

            CHECK(ngx_http_crmsync_store_claim_kind(st, &portal, actions,
                                                    now, F_LEASE, owner, max,
                                                    &jobs, &n)
                  == NGX_HTTP_CRMSYNC_STORE_OK);
            CHECK(n <= max);
            CHECK(n > 0 || jobs == NULL);
            CHECK(n == nwant);
            claims++;

            for (k = 0; k < n; k++) {
                id = jobs[k].id;
                CHECK(id > 0 && id < F_JOBS);
                CHECK(k == 0 || jobs[k - 1].id < id);
                CHECK(jobs[k].lease == jobs[0].lease);
                CHECK(id == want[k]);
                CHECK((jobs[k].kind > 0) == actions);
                CHECK(action_of[id] == actions);

                /* an action released by its contact job has the contact */
                CHECK(!actions
                      || ((keys[id] & (1u << 8)) != 0)
                         == (strcmp((char *) jobs[k].contact.data, "h")
                             == 0));

                /* one claim of actions: no two share a key */
                for (j = 0; actions && j < k; j++) {
                    CHECK((keys[jobs[j].id] & keys[id]) == 0);
                }

                /* nobody else holds it */
                CHECK(!lease[id].live || lease[id].until <= now);

                /* nor a job of the portal that shares a key with it,
                   under another claim */
                for (next = 1; next < F_JOBS; next++) {
                    CHECK(!(lease[next].live && lease[next].until > now
                            && lease[next].claim != claims
                            && portal_of[next] == portal_of[id]
                            && action_of[next] == action_of[id]
                            && (keys[next] & keys[id])));
                }
            }

            for (k = 0; k < n; k++) {
                id = jobs[k].id;
                lease[id].live = 1;
                lease[id].token = jobs[k].lease;
                lease[id].until = now + F_LEASE;
                lease[id].owner = owner;
                lease[id].claim = claims;

                if (ntokens < F_TOKENS) {
                    tokens[ntokens].id = id;
                    tokens[ntokens].token = jobs[k].lease;
                    ntokens++;
                }
            }

            ngx_http_crmsync_store_free_jobs(jobs, n);
            break;

        case 2:     /* an outcome, under a fresh or a stale token */
            if (ntokens == 0) {
                break;
            }

            k = ((size_t) a << 8 | b) % ntokens;
            id = tokens[k].id;

            if (f_int("SELECT count(*) FROM job WHERE id = ?1", id) == 0) {
                break;      /* pruned */
            }

            {
                int64_t  state_before = f_int("SELECT state FROM job"
                                              " WHERE id = ?1", id);
                int      fresh = lease[id].live
                                 && lease[id].token == tokens[k].token;
                int      expect, child;
                sqlite3_stmt  *cs;

                /* the actions waiting for it */
                nchildren = 0;

                CHECK(sqlite3_prepare_v2(db, "SELECT id FROM job"
                                         " WHERE parent = ?1 AND state = 3"
                                         " AND hold_reason = 'contact'",
                                         -1, &cs, NULL) == SQLITE_OK);
                sqlite3_bind_int64(cs, 1, id);

                while (sqlite3_step(cs) == SQLITE_ROW) {
                    children[nchildren++] = sqlite3_column_int64(cs, 0);
                }

                sqlite3_finalize(cs);

                CHECK(nchildren == 0 || !action_of[id]);

                CHECK(ngx_http_crmsync_store_begin_drain(st)
                      == NGX_HTTP_CRMSYNC_STORE_OK);

                /* done with a contact: queued; without: done; dead:
                   dead; otherwise they wait */
                child = NGX_HTTP_CRMSYNC_JOB_HELD;

                switch (b % 4) {
                case 0:
                    (void) ngx_http_crmsync_store_done(st, id,
                                                       tokens[k].token, now,
                                                       (a & 4) ? NULL : "h",
                                                       NULL);
                    expect = NGX_HTTP_CRMSYNC_JOB_DONE;
                    child = (a & 4) ? NGX_HTTP_CRMSYNC_JOB_DONE
                                    : NGX_HTTP_CRMSYNC_JOB_QUEUED;
                    break;
                case 1:
                    (void) ngx_http_crmsync_store_retry(st, id,
                                                        tokens[k].token,
                                                        now + a * 100, "e",
                                                        a & 1, a & 2);
                    expect = NGX_HTTP_CRMSYNC_JOB_RETRYING;
                    break;
                case 2:
                    (void) ngx_http_crmsync_store_hold(st, id,
                                                       tokens[k].token, "r",
                                                       "e");
                    expect = NGX_HTTP_CRMSYNC_JOB_HELD;
                    break;
                default:
                    (void) ngx_http_crmsync_store_dead(st, id,
                                                       tokens[k].token, now,
                                                       "e", "c", "x");
                    expect = NGX_HTTP_CRMSYNC_JOB_DEAD;
                    child = NGX_HTTP_CRMSYNC_JOB_DEAD;
                    break;
                }

                CHECK(ngx_http_crmsync_store_commit_drain(st)
                      == NGX_HTTP_CRMSYNC_STORE_OK);

                CHECK(f_int("SELECT state FROM job WHERE id = ?1", id)
                      == (fresh ? expect : state_before));

                if (fresh) {
                    lease[id].live = 0;
                }

                if (!fresh) {
                    child = NGX_HTTP_CRMSYNC_JOB_HELD;
                }

                for (j = 0; j < (size_t) nchildren; j++) {
                    CHECK(f_int("SELECT state FROM job WHERE id = ?1",
                                children[j]) == child);

                    if (child == NGX_HTTP_CRMSYNC_JOB_QUEUED) {
                        keys[children[j]] |= 1u << 8;
                        CHECK(f_stored_keys(children[j]) == (1u << 8));
                    }
                }
            }

            break;

        case 3:     /* release */
            owner = a % 3;
            CHECK(ngx_http_crmsync_store_release(st, owner, now)
                  == NGX_HTTP_CRMSYNC_STORE_OK);

            for (id = 1; id < F_JOBS; id++) {
                if (lease[id].live && lease[id].owner == owner) {
                    lease[id].live = 0;
                }
            }

            break;

        case 4:     /* unhold */
            held = f_int("SELECT count(*) FROM job WHERE state = 3"
                         " AND hold_reason = 'r' AND portal = 'p' || ?1",
                         a & 1);

            CHECK(ngx_http_crmsync_store_unhold(st, &portal, "r", now, &got)
                  == NGX_HTTP_CRMSYNC_STORE_OK);
            CHECK(got == held);
            break;

        case 5:     /* time passes */
            now += (int64_t) a * 40 + b;
            break;

        case 6:     /* prune */
            CHECK(ngx_http_crmsync_store_prune(st, now - a * 20,
                                               now - b * 20, a % 5)
                  == NGX_HTTP_CRMSYNC_STORE_OK);
            f_check_keys();
            break;

        default:    /* next due, of contacts or actions */
            actions = b & 1;

            CHECK(ngx_http_crmsync_store_next_due_kind(st, &portal, actions,
                                                       &next)
                  == NGX_HTTP_CRMSYNC_STORE_OK);
            CHECK(next == f_int("SELECT ifnull(min(visible_at), -1)"
                                " FROM job WHERE state < 3"
                                " AND (kind > 0) = (?1 & 1)"
                                " AND portal = 'p' || (?1 >> 1)",
                                actions | (a & 1) << 1));
            break;
        }

        f_check_leases();
    }

    f_check_stats(st);

    sqlite3_close(db);
    ngx_http_crmsync_store_close(st);

    unlink(path);
    unlink(wal);
    unlink(shm);

    return 0;
}
