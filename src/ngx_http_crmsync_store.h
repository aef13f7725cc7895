
/*
 * Copyright (C) crmsync authors
 *
 * The durable store: deliveries remembered for deduplication, the job
 * queue with leases (serialized on each job's keys), the identity map of
 * identifiers to contacts, and the audit trail of HubSpot calls.  SQLite in
 * WAL mode.  Pure: no nginx header; the nginx glue (store glue in
 * webhook.c and sync.c) calls it from the event loop, so nothing here
 * ever sleeps: a lock held by another process answers BUSY at once.
 *
 * Keep SQL behind this interface: a second backend (PostgreSQL) is meant
 * to implement the same calls.
 */


#ifndef _NGX_HTTP_CRMSYNC_STORE_H_INCLUDED_
#define _NGX_HTTP_CRMSYNC_STORE_H_INCLUDED_


#include "ngx_http_crmsync_types.h"


#define NGX_HTTP_CRMSYNC_STORE_VERSION  4


typedef enum {
    NGX_HTTP_CRMSYNC_STORE_OK = 0,
    NGX_HTTP_CRMSYNC_STORE_BUSY,        /* locked by another connection:
                                           try again later, from a timer */
    NGX_HTTP_CRMSYNC_STORE_ERROR        /* see ngx_http_crmsync_store_error */
} ngx_http_crmsync_store_rc_e;


/* job states, as stored; the view crmsync_jobs shows them by name */
typedef enum {
    NGX_HTTP_CRMSYNC_JOB_QUEUED = 0,
    NGX_HTTP_CRMSYNC_JOB_RETRYING,
    NGX_HTTP_CRMSYNC_JOB_IN_FLIGHT,
    NGX_HTTP_CRMSYNC_JOB_HELD,
    NGX_HTTP_CRMSYNC_JOB_DEAD,
    NGX_HTTP_CRMSYNC_JOB_DONE,
    NGX_HTTP_CRMSYNC_JOB_STATES
} ngx_http_crmsync_job_state_e;


/* job kinds (doc/conversations.md): 0 the contact, then actions */
typedef enum {
    NGX_HTTP_CRMSYNC_KIND_CONTACT = 0,
    NGX_HTTP_CRMSYNC_KIND_TRANSCRIPT,
    NGX_HTTP_CRMSYNC_KIND_DEAL,
    NGX_HTTP_CRMSYNC_KIND_TASK,
    NGX_HTTP_CRMSYNC_KIND_FLAG,
    NGX_HTTP_CRMSYNC_KIND_OWNER,
    NGX_HTTP_CRMSYNC_KINDS
} ngx_http_crmsync_job_kind_e;


typedef struct ngx_http_crmsync_store_s  ngx_http_crmsync_store_t;


/* one event to store, with its delivery key */
typedef struct {
    ngx_http_crmsync_str_t      key;            /* "location provider:id" */
    ngx_http_crmsync_str_t      location;
    ngx_http_crmsync_str_t      portal;
    const char                 *provider;
    const char                 *type;
    ngx_http_crmsync_str_t      match_key;      /* the first key, or
                                                   empty */
    ngx_http_crmsync_str_t     *keys;           /* "<kind>:<value>": the
                                                   job's identifiers
                                                   (doc/matching.md) */
    size_t                      nkeys;
    ngx_http_crmsync_job_state_e  state;        /* QUEUED, HELD, or DONE:
                                                   nothing to sync */
    const char                 *hold_reason;    /* why HELD or DONE */
    ngx_http_crmsync_str_t      payload;        /* JSON: contact properties */
    ngx_http_crmsync_str_t      event;          /* JSON: the event */
    int64_t                     visible_at;     /* ms: due from then on */
    /* a contact.merge: the portal's identities of any contact in
       merge_from (ids, comma-separated) now belong to merge_to */
    ngx_http_crmsync_str_t      merge_to;
    ngx_http_crmsync_str_t      merge_from;

    /* issue 11: an action job (kind > 0) */
    ngx_http_crmsync_job_kind_e kind;
    int64_t                     parent;         /* the contact job's id:
                                                   the action waits for
                                                   it (held, "contact");
                                                   0: queued at once */
    ngx_http_crmsync_str_t      conv;           /* the conversation key, or
                                                   empty: a contact job of
                                                   a conversation sets
                                                   its contact when done */

    int64_t                     id;             /* out: the job's id, 0 for
                                                   a duplicate */
    unsigned                    duplicate:1;    /* out: seen before */
} ngx_http_crmsync_store_row_t;


/* a claimed job; strings are the store's copies, freed with the claim */
typedef struct {
    int64_t                     id;
    int64_t                     lease;          /* the fencing token */
    int64_t                     received_at;    /* ms */
    int                         attempts;       /* this claim included */
    unsigned                    solo:1;         /* send alone */
    ngx_http_crmsync_job_kind_e kind;
    ngx_http_crmsync_str_t      match_key;
    ngx_http_crmsync_str_t      payload;
    ngx_http_crmsync_str_t      contact;        /* actions: the contact id,
                                                   or empty */
} ngx_http_crmsync_store_job_t;


/* the queue as status shows it: all jobs, and each kind's */
typedef struct {
    int64_t                     count[NGX_HTTP_CRMSYNC_JOB_STATES];
    int64_t                     kind[NGX_HTTP_CRMSYNC_KINDS]
                                    [NGX_HTTP_CRMSYNC_JOB_STATES];
    int64_t                     oldest;         /* received_at (ms) of the
                                                   oldest job queued,
                                                   retrying or in flight,
                                                   0 if none */
    int64_t                     identities;     /* rows of the identity
                                                   map, all portals */
} ngx_http_crmsync_store_stats_t;


/* one HubSpot call, for the audit trail: no token, no body */
typedef struct {
    int64_t                     at;             /* ms */
    ngx_http_crmsync_str_t      portal;
    const char                 *method;
    const char                 *path;
    int                         status;         /* 0: no answer */
    const char                 *correlation;
    const char                 *error;
    int64_t                     duration;       /* ms */
    const int64_t              *jobs;
    size_t                      njobs;
} ngx_http_crmsync_store_call_t;


/*
 * Creates or migrates the schema and switches the file to WAL.  Runs
 * once per configuration in the master, before the fork; the connection
 * is closed again.  0, or -1 with err set.
 */
int ngx_http_crmsync_store_init(const char *path, char *err, size_t size);

/*
 * One store per worker, opened after the fork.  full: the ingest commits
 * with fsync (synchronous=FULL); otherwise synchronous=NORMAL.  Claims,
 * outcomes and the audit trail always commit with NORMAL: losing one on
 * power loss only resends a call, which is idempotent.
 */
ngx_http_crmsync_store_t *ngx_http_crmsync_store_open(const char *path,
    int full, char *err, size_t size);
void ngx_http_crmsync_store_close(ngx_http_crmsync_store_t *st);

const char *ngx_http_crmsync_store_error(ngx_http_crmsync_store_t *st);

/*
 * ingest: begin, add each row, commit (or rollback on any error).  add
 * stores the row's keys with its job, and applies a merge (merge_to) to
 * the identity map in the same transaction; a duplicate adds nothing.
 *
 * An event's rows share its delivery key: the contact row (kind 0) is
 * deduplicated on it; each action on a key derived from it,
 * "<key>#<kind name>.<n>" (n counts the delivery's actions of that kind
 * in this transaction: add them in the same order each time), kept in
 * job.delivery.  The actions of a delivery whose contact row was found a
 * duplicate in this transaction are duplicates too.  An action with a
 * parent is stored held ("contact") whatever row->state says.
 */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_begin(
    ngx_http_crmsync_store_t *st);
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_add(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_store_row_t *row,
    int64_t now);
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_commit(
    ngx_http_crmsync_store_t *st);
void ngx_http_crmsync_store_rollback(ngx_http_crmsync_store_t *st);

/*
 * Claims up to max due jobs of a portal, oldest first, under a lease of
 * lease ms.  A job is not claimed while another job of the portal that
 * shares a key with it is in flight (under a live lease), or arrived
 * earlier and is not due yet (waits for a retry), or arrived earlier and
 * is held back itself by this rule: one person's jobs go out in their
 * order of arrival, from one worker at a time.  Jobs without keys are
 * never held back; one claim may hold several jobs of one person.
 * *jobs is malloc()ed (free with ngx_http_crmsync_store_free_jobs).
 */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_claim(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    int64_t now, int64_t lease, int64_t owner, size_t max,
    ngx_http_crmsync_store_job_t **jobs, size_t *n);
void ngx_http_crmsync_store_free_jobs(ngx_http_crmsync_store_job_t *jobs,
    size_t n);

/* the earliest time (ms) a job of the portal falls due, -1 if none */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_next_due(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    int64_t *at);

/*
 * Outcomes, under the claim's fencing token: a job whose lease was lost
 * (another worker claimed it after the lease ran out) is left alone.
 * Call them inside begin_drain()/commit_drain().
 *
 * A contact job's done also moves the actions waiting for it (parent,
 * held "contact"): with a hubspot_id they are queued with contact = it
 * and the key "contact:<id>", and the job's conversation (conv) gets the
 * contact (kept closed if the store had not kept it); without one they
 * are done, "no_contact".  Its dead makes them dead, CONTACT_FAILED.
 */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_begin_drain(
    ngx_http_crmsync_store_t *st);
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_commit_drain(
    ngx_http_crmsync_store_t *st);
void ngx_http_crmsync_store_rollback_drain(ngx_http_crmsync_store_t *st);

/* note: what happened ("created", "updated", "unchanged", "dry_run",
   "not_created: ..."), shown as hold_reason in crmsync_jobs; or NULL */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_done(
    ngx_http_crmsync_store_t *st, int64_t id, int64_t lease, int64_t now,
    const char *hubspot_id, const char *note);
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_retry(
    ngx_http_crmsync_store_t *st, int64_t id, int64_t lease, int64_t at,
    const char *error, int solo, int uncount);
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_hold(
    ngx_http_crmsync_store_t *st, int64_t id, int64_t lease,
    const char *reason, const char *error);
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_dead(
    ngx_http_crmsync_store_t *st, int64_t id, int64_t lease, int64_t now,
    const char *error, const char *category, const char *correlation);
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_audit(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_store_call_t *call);

/* every lease of the owner goes back to the queue, uncounted */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_release(
    ngx_http_crmsync_store_t *st, int64_t owner, int64_t now);

/* held jobs of a portal for a reason go back to the queue */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_unhold(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    const char *reason, int64_t now, int64_t *n);

/*
 * The identity map: (portal, kind, value) -> contact id.  kind is an
 * identifier's name as crmsync_match has it ("email", "phone", ...), value
 * its normalized form.  put, remap and forget are called inside
 * begin_drain()/commit_drain() (forget may go alone: it commits itself).
 *
 * get: *contact is "" when the map does not know the identifier (or the
 * id it holds does not fit in size).
 */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_id_get(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    const char *kind, ngx_http_crmsync_str_t *value, char *contact,
    size_t size);
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_id_put(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    const char *kind, ngx_http_crmsync_str_t *value, const char *contact,
    int64_t now);
/* every identity of contact "from" now belongs to "to"; to "": forgotten
   (the contact was deleted) */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_id_remap(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    const char *from, const char *to, int64_t now);
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_id_forget(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    const char *kind, ngx_http_crmsync_str_t *value);

ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_stats(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_store_stats_t *stats);

/*
 * Forgets deliveries received before deliveries_before, and done jobs
 * (with their keys) and audit rows older than audit_before; the written
 * messages of conversations closed, with their last message before
 * audit_before, and then those conversations; at most limit rows of each
 * per call, so that a prune never stalls the loop.
 */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_prune(
    ngx_http_crmsync_store_t *st, int64_t deliveries_before,
    int64_t audit_before, int limit);

/*
 * The identity map: the contact that kind ("phone", "email", ...) and its
 * normalized value belong to in the portal.  OK with contact "" when the
 * map does not know it.
 */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_id_get(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    const char *kind, ngx_http_crmsync_str_t *value, char *contact,
    size_t size);

/*
 * Issue 11 (doc/conversations.md).  Unless said otherwise, each call below
 * runs in a transaction of its own on the drain connection (BUSY: try
 * again from a timer); those marked "ingest" run inside
 * begin()/commit().
 */

/*
 * Claims jobs of one class: contacts (actions 0) or actions (1); the
 * classes never hold each other back.  Actions run each on its own: a
 * claim of actions takes at most one of the jobs that share a key.
 */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_claim_kind(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    int actions, int64_t now, int64_t lease, int64_t owner, size_t max,
    ngx_http_crmsync_store_job_t **jobs, size_t *n);
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_next_due_kind(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    int actions, int64_t *at);

/* one message of a conversation */
typedef struct {
    int64_t                     id;             /* the store's, ascending */
    int64_t                     at;             /* ms */
    int                         author;         /* ngx_http_crmsync_author_e */
    unsigned                    attachments;    /* NGX_HTTP_CRMSYNC_ATT_* */
    ngx_http_crmsync_str_t      text;
} ngx_http_crmsync_store_msg_t;

/*
 * ingest: keeps a message (deduplicated on mkey) and opens or updates its
 * conversation: last_at, due_at = at + idle, human |= human, location.
 * msg->id is set (out): 0 for a message kept before (nothing changes);
 * msg->at 0 is taken as now.
 */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_message(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    ngx_http_crmsync_str_t *conv, ngx_http_crmsync_str_t *location,
    ngx_http_crmsync_str_t *mkey, ngx_http_crmsync_store_msg_t *msg,
    int64_t idle, int human, int64_t now);

/* ingest: an assignment marks the conversation human (creating it) */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_conv_human(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    ngx_http_crmsync_str_t *conv, ngx_http_crmsync_str_t *location,
    int64_t now);

/* ingest: closes the conversation; *unwritten: it has messages not yet
   written, *human: a person took part (both 0 for one not kept) */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_conv_close(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    ngx_http_crmsync_str_t *conv, int64_t now, int *unwritten,
    int *human);

/* a conversation as the executor sees it */
typedef struct {
    char                        contact[32];    /* "" unknown */
    int64_t                     written_upto;
    int64_t                     last_id;        /* its newest message */
    int                         human;
    int                         state;          /* 0 open, 1 closing,
                                                   2 closed */
} ngx_http_crmsync_store_conv_t;

ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_conv_get(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    ngx_http_crmsync_str_t *conv, ngx_http_crmsync_store_conv_t *c,
    int *found);

/*
 * The idle sweep: for up to max open conversations past due_at with
 * unwritten messages, adds a transcript action (payload made by the
 * caller's make(), kind 1, contact and key "contact:<id>" when the
 * conversation's contact is known, else key "conv:<conv>"), and marks the
 * conversation closing; one transaction.  *n: actions added.
 *
 * make() answers 0 with the payload in *out (copied by the store), 1
 * when the location writes no transcript (any more): the conversation's
 * messages are marked written and it is closed, or -1: an error, the
 * sweep is rolled back (ERROR).  An open conversation past due_at with
 * nothing unwritten is closed (make() is not called).
 */
typedef int (*ngx_http_crmsync_store_payload_pt)(void *data,
    const char *conv, const char *location, ngx_http_crmsync_str_t *out);

ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_conv_sweep(
    ngx_http_crmsync_store_t *st, int64_t now, size_t max,
    ngx_http_crmsync_store_payload_pt make, void *data, size_t *n);

/* messages with after < id <= upto (upto 0: all), oldest first; *msgs is
   malloc()ed, free with ngx_http_crmsync_store_free_msgs */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_messages(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    ngx_http_crmsync_str_t *conv, int64_t after, int64_t upto,
    ngx_http_crmsync_store_msg_t **msgs, size_t *n);
void ngx_http_crmsync_store_free_msgs(ngx_http_crmsync_store_msg_t *msgs,
    size_t n);

/* the messages up to upto (the last id written; never backwards) are
   written; a closing conversation with nothing newer is closed, with
   newer messages open again; open or closed ones stay so */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_conv_written(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    ngx_http_crmsync_str_t *conv, int64_t upto);

/* idempotency keys of notes, communications, tasks: key -> object id;
   get: *id "" when unknown (then *at 0) or put without an id (put id ""
   or NULL: unconfirmed, *at the time of the put) */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_object_get(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    const char *key, char *id, size_t size, int *confirmed, int64_t *at);
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_object_put(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    const char *key, const char *type, const char *id, int confirmed,
    int64_t now);

/* the open deal of a contact in a pipeline; deal "" forgets it */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_deal_get(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    const char *contact, const char *pipeline, char *deal, size_t size);
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_deal_put(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    const char *contact, const char *pipeline, const char *deal);

/*
 * crmsync_flag: the conversation is open (or not) for the property; *any:
 * the contact has an open conversation for it now; *changed: that differs
 * from the value last written (flag_value), which is then updated.  An
 * open may be due to clear itself (due: ms since the epoch, 0 never);
 * FLAG_IDLE closes only what the sweep marked closing, not a flag that an
 * event opened again since.
 */
#define NGX_HTTP_CRMSYNC_STORE_FLAG_CLOSE  0
#define NGX_HTTP_CRMSYNC_STORE_FLAG_OPEN   1
#define NGX_HTTP_CRMSYNC_STORE_FLAG_IDLE   2

ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_flag(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    const char *conv, const char *property, const char *contact, int open,
    int64_t due, int *any, int *changed);

/*
 * The flags' sweep: for up to max open flags past their due time, marks
 * each closing and queues a flag action that closes it (kind 4, key
 * "contact:<id>", payload {"open":false,"idle":true}); one transaction.
 * *n: actions added.
 */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_flag_sweep(
    ngx_http_crmsync_store_t *st, int64_t now, size_t max, size_t *n);
/* after a failed write: forget the value last written */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_flag_unwritten(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    const char *contact, const char *property);

/*
 * the turn of a round robin: *n the number of turns taken before this
 * one; a holder (a job, say) that took one before gets the same again, so
 * that a retried job does not take a second turn
 */
ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_turn(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_str_t *portal,
    const char *name, const char *holder, int64_t now, int64_t *n);

extern const char  *ngx_http_crmsync_job_state_names[];
extern const char  *ngx_http_crmsync_job_kind_names[];


#endif /* _NGX_HTTP_CRMSYNC_STORE_H_INCLUDED_ */
