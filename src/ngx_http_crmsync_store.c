
/*
 * Copyright (C) crmsync authors
 *
 * The durable store on SQLite (see the header).  Two connections per
 * worker: "ingest" commits webhooks with the configured durability,
 * "drain" commits claims, outcomes and the audit trail with NORMAL.  Both
 * have a busy handler that answers at once: SQLite's own would sleep the
 * event loop for up to 100 ms at a time.
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "ngx_http_crmsync_store.h"


enum {
    /* on the ingest connection */
    ST_BEGIN_INGEST = 0,
    ST_COMMIT_INGEST,
    ST_ADD_DELIVERY,
    ST_ADD_JOB,
    ST_ADD_KEY,
    ST_ADD_REMAP,
    ST_MESSAGE,
    ST_MESSAGE_CONV,
    ST_CONV_HUMAN,
    ST_CONV_UNWRITTEN,
    ST_CONV_CLOSE,
#define ST_INGEST_LAST  ST_CONV_CLOSE

    /* on the drain connection */
    ST_BEGIN_DRAIN,
    ST_COMMIT_DRAIN,
    ST_CLAIM_BLOCKING,
    ST_CLAIM_DUE,
    ST_CLAIM,
    ST_NEXT_DUE,
    ST_DONE,
    ST_RETRY,
    ST_HOLD,
    ST_DEAD,
    ST_AUDIT,
    ST_AUDIT_JOB,
    ST_RELEASE,
    ST_UNHOLD,
    ST_STATS,
    ST_OLDEST,
    ST_IDENTITIES,
    ST_ID_GET,
    ST_ID_PUT,
    ST_ID_REMAP,
    ST_ID_DROP,
    ST_ID_FORGET,
    ST_PRUNE_DELIVERY,
    ST_PRUNE_JOB,
    ST_PRUNE_AUDIT,
    ST_PRUNE_AUDIT_JOB,
    ST_PRUNE_MESSAGE,
    ST_PRUNE_CONV,
    ST_CHILD_KEY,
    ST_CHILD_QUEUE,
    ST_CHILD_NONE,
    ST_CHILD_DEAD,
    ST_CONV_CONTACT,
    ST_CONV_GET,
    ST_SWEEP_DUE,
    ST_SWEEP_JOB,
    ST_SWEEP_KEY,
    ST_SWEEP_MARK,
    ST_MESSAGES,
    ST_CONV_WRITTEN,
    ST_OBJECT_GET,
    ST_OBJECT_PUT,
    ST_DEAL_GET,
    ST_DEAL_PUT,
    ST_DEAL_DROP,
    ST_FLAG_OPEN,
    ST_FLAG_CLOSE,
    ST_FLAG_CLOSE_IDLE,
    ST_FLAG_SWEEP_LAST,
    ST_FLAG_SWEEP_JOB,
    ST_FLAG_SWEEP_KEY,
    ST_FLAG_SWEEP_MARK,
    ST_FLAG_ANY,
    ST_FLAG_VALUE_GET,
    ST_FLAG_VALUE_PUT,
    ST_FLAG_VALUE_DROP,
    ST_TURN,
    ST_MAX
};


struct ngx_http_crmsync_store_s {
    sqlite3                    *ingest;
    sqlite3                    *drain;
    sqlite3                    *last;           /* for the error message */
    sqlite3_stmt               *stmt[ST_MAX];

    /* the ingest transaction's last contact row (its delivery key, and
       whether it was a duplicate), and how many actions of each kind a
       delivery has had: an action's own delivery key is derived from
       them (see ngx_http_crmsync_store_add) */
    u_char                     *dkey;
    size_t                      dkey_len;
    size_t                      dkey_size;
    unsigned                    ddup:1;
    unsigned                    dvalid:1;
    unsigned                    aseq[NGX_HTTP_CRMSYNC_KINDS];
    char                       *akey;           /* an action's key */
    size_t                      akey_size;
};


const char  *ngx_http_crmsync_job_state_names[] = {
    "queued", "retrying", "in_flight", "held", "dead", "done", NULL
};


const char  *ngx_http_crmsync_job_kind_names[] = {
    "contact", "transcript", "deal", "task", "flag", "owner", NULL
};


/*
 * The schema.  "job" is the queue and, once done, the record of what was
 * written (kept as long as the audit trail).  visible_at: when a queued
 * or retrying job falls due, or when an in-flight job's lease runs out.
 */

static const char  ngx_http_crmsync_schema_v1[] =
    "CREATE TABLE delivery ("
    "  key TEXT PRIMARY KEY,"
    "  received_at INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX delivery_age ON delivery(received_at);"

    "CREATE TABLE job ("
    "  id INTEGER PRIMARY KEY,"
    "  delivery TEXT NOT NULL,"
    "  location TEXT NOT NULL,"
    "  provider TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  portal TEXT NOT NULL,"
    "  match_key TEXT NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  visible_at INTEGER NOT NULL,"
    "  lease INTEGER,"
    "  owner INTEGER,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  solo INTEGER NOT NULL DEFAULT 0,"
    "  hold_reason TEXT,"
    "  last_error TEXT,"
    "  category TEXT,"
    "  correlation_id TEXT,"
    "  hubspot_id TEXT,"
    "  done_at INTEGER,"
    "  payload TEXT NOT NULL,"
    "  event TEXT NOT NULL"
    ");"
    "CREATE INDEX job_due ON job(portal, visible_at) WHERE state < 3;"
    "CREATE INDEX job_person ON job(match_key, state);"
    "CREATE INDEX job_state ON job(state);"
    "CREATE INDEX job_done ON job(done_at) WHERE state = 5;"
    "CREATE INDEX job_owner ON job(owner) WHERE owner IS NOT NULL;"

    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  portal TEXT NOT NULL,"
    "  method TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  correlation_id TEXT,"
    "  error TEXT,"
    "  duration_ms INTEGER NOT NULL,"
    "  jobs INTEGER NOT NULL"
    ");"
    "CREATE INDEX audit_at ON audit(at);"
    "CREATE TABLE audit_job ("
    "  audit_id INTEGER NOT NULL,"
    "  job_id INTEGER NOT NULL,"
    "  PRIMARY KEY (job_id, audit_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX audit_job_audit ON audit_job(audit_id);"

    "CREATE VIEW crmsync_jobs AS SELECT id,"
    "  CASE state WHEN 0 THEN 'queued' WHEN 1 THEN 'retrying'"
    "    WHEN 2 THEN 'in_flight' WHEN 3 THEN 'held' WHEN 4 THEN 'dead'"
    "    ELSE 'done' END AS state,"
    "  portal, location, provider, type, match_key,"
    "  datetime(received_at / 1000, 'unixepoch') AS received,"
    "  CASE WHEN state < 3 THEN datetime(visible_at / 1000, 'unixepoch')"
    "    END AS next_attempt,"
    "  attempts, hold_reason, last_error, category, correlation_id,"
    "  hubspot_id, datetime(done_at / 1000, 'unixepoch') AS done"
    "  FROM job;"

    "CREATE VIEW crmsync_calls AS SELECT a.id,"
    "  datetime(a.at / 1000, 'unixepoch') AS at, a.portal, a.method,"
    "  a.path, a.status, a.correlation_id, a.error, a.duration_ms,"
    "  a.jobs FROM audit a;";


/*
 * Version 2: contact matching (doc/matching.md).  job_key holds each
 * job's identifiers, "<kind>:<value>", for the claim's serialization; the
 * jobs of version 1 get their match_key (an email) as their key.  identity
 * is the map of identifiers to HubSpot contacts; counter keeps its row
 * count for the status page (count(*) would read the whole table).
 */

static const char  ngx_http_crmsync_schema_v2[] =
    "CREATE TABLE job_key ("
    "  job INTEGER NOT NULL,"
    "  key TEXT NOT NULL,"
    "  PRIMARY KEY (job, key)"
    ") WITHOUT ROWID;"
    "CREATE INDEX job_key_key ON job_key(key, job);"
    "INSERT INTO job_key(job, key) SELECT id, 'email:' || match_key FROM job"
    "  WHERE state < 5 AND match_key <> '';"

    /* the claim reads the queue in arrival order: match_key no longer
       serializes anything */
    "DROP INDEX IF EXISTS job_person;"
    "CREATE INDEX job_queue ON job(portal, id) WHERE state < 3;"
    "CREATE TRIGGER job_gone AFTER DELETE ON job BEGIN"
    "  DELETE FROM job_key WHERE job = old.id;"
    "END;"

    "CREATE TABLE identity ("
    "  portal TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  contact TEXT NOT NULL,"
    "  updated_at INTEGER,"
    "  PRIMARY KEY (portal, kind, value)"
    ") WITHOUT ROWID;"
    "CREATE INDEX identity_contact ON identity(portal, contact);"

    "CREATE TABLE counter ("
    "  name TEXT PRIMARY KEY,"
    "  n INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "INSERT INTO counter(name, n) VALUES ('identity', 0);"
    "CREATE TRIGGER identity_added AFTER INSERT ON identity BEGIN"
    "  UPDATE counter SET n = n + 1 WHERE name = 'identity';"
    "END;"
    "CREATE TRIGGER identity_removed AFTER DELETE ON identity BEGIN"
    "  UPDATE counter SET n = n - 1 WHERE name = 'identity';"
    "END;"

    "CREATE VIEW crmsync_identities AS SELECT portal, kind, value, contact,"
    "  datetime(updated_at / 1000, 'unixepoch') AS updated FROM identity;"

    "PRAGMA user_version=2;";


/*
 * Version 3: action jobs and conversations (doc/conversations.md).  A
 * job's kind (0 the contact, then the actions); an action waits for its
 * parent, the contact job of its event (held, "contact"), and is then
 * queued with the contact's id.  The queue's indexes lead with the class
 * (kind > 0): contacts and actions are claimed apart, each in id order.
 */

static const char  ngx_http_crmsync_schema_v3[] =
    "ALTER TABLE job ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE job ADD COLUMN parent INTEGER;"
    "ALTER TABLE job ADD COLUMN contact TEXT;"
    "ALTER TABLE job ADD COLUMN conv TEXT;"

    "DROP INDEX IF EXISTS job_queue;"
    "CREATE INDEX job_queue ON job(portal, kind > 0, id) WHERE state < 3;"
    "DROP INDEX IF EXISTS job_due;"
    "CREATE INDEX job_due ON job(portal, kind > 0, visible_at)"
    "  WHERE state < 3;"
    "CREATE INDEX job_parent ON job(parent) WHERE parent IS NOT NULL;"

    "CREATE TABLE message ("
    "  id INTEGER PRIMARY KEY,"
    "  portal TEXT NOT NULL,"
    "  conv TEXT NOT NULL,"
    "  mkey TEXT NOT NULL UNIQUE,"
    "  at INTEGER NOT NULL,"
    "  author INTEGER NOT NULL,"
    "  text TEXT NOT NULL,"
    "  attachments INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX message_conv ON message(portal, conv, id);"

    /* state: 0 open, 1 closing (a transcript action is on its way), 2
       closed */
    "CREATE TABLE conversation ("
    "  portal TEXT NOT NULL,"
    "  conv TEXT NOT NULL,"
    "  location TEXT NOT NULL,"
    "  opened_at INTEGER NOT NULL,"
    "  last_at INTEGER NOT NULL,"
    "  due_at INTEGER NOT NULL,"
    "  human INTEGER NOT NULL DEFAULT 0,"
    "  contact TEXT,"
    "  written_upto INTEGER NOT NULL DEFAULT 0,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (portal, conv)"
    ");"
    "CREATE INDEX conversation_due ON conversation(due_at) WHERE state = 0;"
    "CREATE INDEX conversation_closed ON conversation(last_at)"
    "  WHERE state = 2;"

    "CREATE TABLE object ("
    "  portal TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  hubspot_id TEXT,"
    "  confirmed INTEGER NOT NULL DEFAULT 0,"
    "  at INTEGER NOT NULL,"
    "  PRIMARY KEY (portal, key)"
    ") WITHOUT ROWID;"

    "CREATE TABLE deal ("
    "  portal TEXT NOT NULL,"
    "  contact TEXT NOT NULL,"
    "  pipeline TEXT NOT NULL,"
    "  deal_id TEXT NOT NULL,"
    "  PRIMARY KEY (portal, contact, pipeline)"
    ") WITHOUT ROWID;"

    /* a flag's open conversations (closed ones are deleted), and the
       value last written per contact */
    "CREATE TABLE flag ("
    "  portal TEXT NOT NULL,"
    "  conv TEXT NOT NULL,"
    "  property TEXT NOT NULL,"
    "  contact TEXT NOT NULL,"
    "  open INTEGER NOT NULL,"
    "  PRIMARY KEY (portal, conv, property)"
    ") WITHOUT ROWID;"
    "CREATE INDEX flag_contact ON flag(portal, contact, property, open);"
    "CREATE TABLE flag_value ("
    "  portal TEXT NOT NULL,"
    "  contact TEXT NOT NULL,"
    "  property TEXT NOT NULL,"
    "  value INTEGER NOT NULL,"
    "  PRIMARY KEY (portal, contact, property)"
    ") WITHOUT ROWID;"

    "CREATE TABLE turn ("
    "  portal TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  n INTEGER NOT NULL,"
    "  PRIMARY KEY (portal, name)"
    ") WITHOUT ROWID;"

    "DROP VIEW IF EXISTS crmsync_jobs;"
    "CREATE VIEW crmsync_jobs AS SELECT id,"
    "  CASE state WHEN 0 THEN 'queued' WHEN 1 THEN 'retrying'"
    "    WHEN 2 THEN 'in_flight' WHEN 3 THEN 'held' WHEN 4 THEN 'dead'"
    "    ELSE 'done' END AS state,"
    "  CASE kind WHEN 0 THEN 'contact' WHEN 1 THEN 'transcript'"
    "    WHEN 2 THEN 'deal' WHEN 3 THEN 'task' WHEN 4 THEN 'flag'"
    "    WHEN 5 THEN 'owner' ELSE kind END AS kind,"
    "  portal, location, provider, type, match_key, contact,"
    "  datetime(received_at / 1000, 'unixepoch') AS received,"
    "  CASE WHEN state < 3 THEN datetime(visible_at / 1000, 'unixepoch')"
    "    END AS next_attempt,"
    "  attempts, hold_reason, last_error, category, correlation_id,"
    "  hubspot_id, datetime(done_at / 1000, 'unixepoch') AS done,"
    "  parent, conv"
    "  FROM job;"

    "CREATE VIEW crmsync_conversations AS SELECT c.portal, c.conv,"
    "  c.location,"
    "  CASE c.state WHEN 0 THEN 'open' WHEN 1 THEN 'closing'"
    "    ELSE 'closed' END AS state,"
    "  c.human, c.contact,"
    "  datetime(c.opened_at / 1000, 'unixepoch') AS opened,"
    "  datetime(c.last_at / 1000, 'unixepoch') AS last,"
    "  CASE WHEN c.state = 0 THEN datetime(c.due_at / 1000, 'unixepoch')"
    "    END AS due,"
    "  (SELECT count(*) FROM message m WHERE m.portal = c.portal"
    "    AND m.conv = c.conv) AS messages,"
    "  (SELECT count(*) FROM message m WHERE m.portal = c.portal"
    "    AND m.conv = c.conv AND m.id > c.written_upto) AS unwritten"
    "  FROM conversation c;"

    "PRAGMA user_version=3;";


/*
 * Version 4: the object map is pruned with what it names.  A note's key
 * names its conversation and first message ("note:<conv>:<id>", and
 * ".<part>" after it), a communication's its message ("comm:<conv>:<id>"):
 * they go with that message, once it is written and pruned.  A deal
 * action's round-robin turn ("turn:deal:<job>") goes with its job.  Task
 * keys ("task:<conv>", one task per conversation ever) are kept.  The
 * state index takes the kind too, for the status page's count by kind;
 * a flag may clear itself after a time without events (crmsync_flag
 * idle=).
 */

static const char  ngx_http_crmsync_schema_v4[] =
    "CREATE TRIGGER message_gone AFTER DELETE ON message BEGIN"
    "  DELETE FROM object WHERE portal = old.portal"
    "    AND (key = 'comm:' || old.conv || ':' || old.id"
    "      OR key = 'note:' || old.conv || ':' || old.id"
    "      OR (key > 'note:' || old.conv || ':' || old.id || '.'"
    "        AND key < 'note:' || old.conv || ':' || old.id || '/'));"
    "END;"
    /* crmsync_status counts the jobs by state and kind */
    "DROP INDEX job_state;"
    "CREATE INDEX job_state ON job(state, kind);"

    /* crmsync_flag idle=: when an open flag clears by itself (0 never);
       the sweep marks it closing (open 0) and queues its close */
    "ALTER TABLE flag ADD COLUMN due INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX flag_due ON flag(due) WHERE open = 1 AND due > 0;"

    "CREATE TRIGGER job_turn_gone AFTER DELETE ON job WHEN old.kind = 2"
    " BEGIN"
    "  DELETE FROM object WHERE portal = old.portal"
    "    AND key = 'turn:deal:' || old.id;"
    "END;"

    "PRAGMA user_version=4;";


static const char  *ngx_http_crmsync_sql[ST_MAX] = {

    /* ST_BEGIN_INGEST, ST_COMMIT_INGEST */
    "BEGIN IMMEDIATE",
    "COMMIT",

    /* ST_ADD_DELIVERY */
    "INSERT INTO delivery(key, received_at) VALUES (?1, ?2)"
    " ON CONFLICT(key) DO NOTHING",

    /* ST_ADD_JOB: ?13 kind, ?14 parent, ?15 conv */
    "INSERT INTO job(delivery, location, provider, type, portal, match_key,"
    " state, received_at, visible_at, hold_reason, payload, event, done_at,"
    " kind, parent, conv)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
    " CASE ?7 WHEN 5 THEN ?8 END, ?13, ?14, ?15)",

    /* ST_ADD_KEY */
    "INSERT OR IGNORE INTO job_key(job, key) VALUES (?1, ?2)",

    /* ST_ADD_REMAP: ?1 portal, ?2 from, ?3 to, ?4 now */
    "UPDATE identity SET contact = ?3, updated_at = ?4"
    " WHERE portal = ?1 AND contact = ?2",

    /* ST_MESSAGE: ?1 portal, ?2 conv, ?3 mkey, ?4 at, ?5 author, ?6 text,
       ?7 attachments */
    "INSERT INTO message(portal, conv, mkey, at, author, text, attachments)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(mkey) DO NOTHING",

    /* ST_MESSAGE_CONV: ?3 location, ?4 now, ?5 the message's time, ?6 idle,
       ?7 human: a message opens the conversation (again).  The idle close
       counts from the message's arrival: a platform's late or replayed
       delivery of an old message must not close the conversation at
       once */
    "INSERT INTO conversation(portal, conv, location, opened_at, last_at,"
    " due_at, human, state) VALUES (?1, ?2, ?3, ?4, ?5, ?4 + ?6, ?7, 0)"
    " ON CONFLICT(portal, conv) DO UPDATE SET location = excluded.location,"
    " opened_at = CASE state WHEN 2 THEN excluded.opened_at"
    "   ELSE opened_at END,"
    " last_at = max(last_at, excluded.last_at),"
    " due_at = max(due_at, ?4 + ?6),"
    " human = max(human, excluded.human), state = 0",

    /* ST_CONV_HUMAN: ?1 portal, ?2 conv, ?3 location, ?4 now */
    "INSERT INTO conversation(portal, conv, location, opened_at, last_at,"
    " due_at, human, state) VALUES (?1, ?2, ?3, ?4, ?4, ?4, 1, 0)"
    " ON CONFLICT(portal, conv) DO UPDATE SET human = 1",

    /* ST_CONV_UNWRITTEN: ?1 portal, ?2 conv */
    "SELECT c.human, EXISTS (SELECT 1 FROM message m"
    " WHERE m.portal = c.portal AND m.conv = c.conv"
    " AND m.id > c.written_upto) FROM conversation c"
    " WHERE c.portal = ?1 AND c.conv = ?2",

    /* ST_CONV_CLOSE */
    "UPDATE conversation SET state = 2 WHERE portal = ?1 AND conv = ?2",

    /* ST_BEGIN_DRAIN, ST_COMMIT_DRAIN */
    "BEGIN IMMEDIATE",
    "COMMIT",

    /* ST_CLAIM_BLOCKING: ?1 portal, ?2 now, ?3 the class (kind > 0): the
       keys of the class's jobs in flight (they hold back every other job)
       and of those not due yet (they hold back the jobs that arrived
       after them) */
    "SELECT b.key, CASE k.state WHEN 2 THEN 0 ELSE k.id END"
    " FROM job k INDEXED BY job_due JOIN job_key b ON b.job = k.id"
    " WHERE k.portal = ?1 AND (k.kind > 0) = ?3 AND k.state < 3"
    " AND k.visible_at > ?2",

    /* ST_CLAIM_DUE: ?1 portal, ?2 now, ?3 the class: its due jobs with
       their keys, in id order from the index, not sorted: the claim reads
       no further than the jobs it takes */
    "SELECT j.id, b.key FROM job j INDEXED BY job_queue"
    " LEFT JOIN job_key b ON b.job = j.id"
    " WHERE j.portal = ?1 AND (j.kind > 0) = ?3 AND j.state < 3"
    " AND j.visible_at <= ?2 ORDER BY j.id",

    /* ST_CLAIM: ?1 job, ?2 lease until, ?3 token, ?4 owner */
    "UPDATE job SET state = 2, visible_at = ?2, lease = ?3, owner = ?4,"
    " attempts = attempts + 1 WHERE id = ?1 AND state < 3"
    " RETURNING id, lease, received_at, attempts, solo, match_key, payload,"
    " kind, contact",

    /* ST_NEXT_DUE: ?2 the class */
    "SELECT min(visible_at) FROM job WHERE portal = ?1 AND (kind > 0) = ?2"
    " AND state < 3",

    /* ST_DONE: what the children need of their parent */
    "UPDATE job SET state = 5, done_at = ?3, hubspot_id = ?4, lease = NULL,"
    " owner = NULL, last_error = NULL, hold_reason = ?5"
    " WHERE id = ?1 AND lease = ?2 RETURNING kind",

    /* ST_RETRY: ?5 solo, ?6 uncount */
    "UPDATE job SET state = 1, visible_at = ?3, last_error = ?4,"
    " solo = max(solo, ?5), attempts = attempts - ?6, lease = NULL,"
    " owner = NULL WHERE id = ?1 AND lease = ?2",

    /* ST_HOLD */
    "UPDATE job SET state = 3, hold_reason = ?3, last_error = ?4,"
    " attempts = attempts - 1, lease = NULL, owner = NULL"
    " WHERE id = ?1 AND lease = ?2",

    /* ST_DEAD */
    "UPDATE job SET state = 4, done_at = ?3, last_error = ?4,"
    " category = ?5, correlation_id = ?6, lease = NULL, owner = NULL"
    " WHERE id = ?1 AND lease = ?2 RETURNING kind",

    /* ST_AUDIT */
    "INSERT INTO audit(at, portal, method, path, status, correlation_id,"
    " error, duration_ms, jobs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",

    /* ST_AUDIT_JOB */
    "INSERT OR IGNORE INTO audit_job(audit_id, job_id) VALUES (?1, ?2)",

    /* ST_RELEASE */
    "UPDATE job SET state = CASE WHEN attempts > 1 THEN 1 ELSE 0 END,"
    " visible_at = ?2, attempts = attempts - 1, lease = NULL, owner = NULL"
    " WHERE owner = ?1 AND state = 2",

    /* ST_UNHOLD */
    "UPDATE job SET state = 0, visible_at = ?3, hold_reason = NULL"
    " WHERE portal = ?1 AND state = 3 AND hold_reason = ?2",

    /* ST_STATS */
    "SELECT state, kind, count(*) FROM job WHERE state < 5"
    " GROUP BY state, kind",

    /* ST_OLDEST */
    "SELECT min(received_at) FROM job WHERE state < 3",

    /* ST_IDENTITIES */
    "SELECT n FROM counter WHERE name = 'identity'",

    /* ST_ID_GET: ?1 portal, ?2 kind, ?3 value */
    "SELECT contact FROM identity WHERE portal = ?1 AND kind = ?2"
    " AND value = ?3",

    /* ST_ID_PUT: ?4 contact, ?5 now */
    "INSERT INTO identity(portal, kind, value, contact, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5)"
    " ON CONFLICT(portal, kind, value) DO UPDATE"
    " SET contact = excluded.contact, updated_at = excluded.updated_at",

    /* ST_ID_REMAP: ?1 portal, ?2 from, ?3 to, ?4 now */
    "UPDATE identity SET contact = ?3, updated_at = ?4"
    " WHERE portal = ?1 AND contact = ?2",

    /* ST_ID_DROP: ?1 portal, ?2 the contact that is gone */
    "DELETE FROM identity WHERE portal = ?1 AND contact = ?2",

    /* ST_ID_FORGET */
    "DELETE FROM identity WHERE portal = ?1 AND kind = ?2 AND value = ?3",

    /* ST_PRUNE_DELIVERY */
    "DELETE FROM delivery WHERE key IN (SELECT key FROM delivery"
    " WHERE received_at < ?1 LIMIT ?2)",

    /* ST_PRUNE_JOB */
    "DELETE FROM job WHERE id IN (SELECT id FROM job"
    " WHERE state = 5 AND done_at < ?1 LIMIT ?2)",

    /* ST_PRUNE_AUDIT */
    "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ?1"
    " LIMIT ?2)",

    /* ST_PRUNE_AUDIT_JOB */
    "DELETE FROM audit_job WHERE audit_id IN (SELECT audit_job.audit_id"
    " FROM audit_job LEFT JOIN audit ON audit.id = audit_job.audit_id"
    " WHERE audit.id IS NULL LIMIT ?2) AND ?1 IS NOT NULL",

    /* ST_PRUNE_MESSAGE: the written messages of conversations closed
       (and quiet) since before ?1 */
    "DELETE FROM message WHERE id IN (SELECT m.id"
    " FROM conversation c INDEXED BY conversation_closed"
    " JOIN message m ON m.portal = c.portal AND m.conv = c.conv"
    " AND m.id <= c.written_upto"
    " WHERE c.state = 2 AND c.last_at < ?1 LIMIT ?2)",

    /* ST_PRUNE_CONV: those conversations, once no message is left */
    "DELETE FROM conversation WHERE rowid IN (SELECT c.rowid"
    " FROM conversation c INDEXED BY conversation_closed"
    " WHERE c.state = 2 AND c.last_at < ?1 AND NOT EXISTS (SELECT 1"
    " FROM message m WHERE m.portal = c.portal AND m.conv = c.conv)"
    " LIMIT ?2)",

    /* ST_CHILD_KEY: ?1 the parent, ?2 its contact */
    "INSERT OR IGNORE INTO job_key(job, key)"
    " SELECT id, 'contact:' || ?2 FROM job"
    " WHERE parent = ?1 AND state = 3 AND hold_reason = 'contact'",

    /* ST_CHILD_QUEUE: ?3 now */
    "UPDATE job SET state = 0, visible_at = ?3, contact = ?2,"
    " hold_reason = NULL"
    " WHERE parent = ?1 AND state = 3 AND hold_reason = 'contact'",

    /* ST_CHILD_NONE: ?2 now */
    "UPDATE job SET state = 5, done_at = ?2, hold_reason = 'no_contact'"
    " WHERE parent = ?1 AND state = 3 AND hold_reason = 'contact'",

    /* ST_CHILD_DEAD: ?2 now */
    "UPDATE job SET state = 4, done_at = ?2, category = 'CONTACT_FAILED',"
    " last_error = 'the contact could not be written'"
    " WHERE parent = ?1 AND state = 3 AND hold_reason = 'contact'",

    /* ST_CONV_CONTACT: ?1 the job, ?2 contact, ?3 now; a conversation not
       kept yet is kept closed, for its contact */
    "INSERT INTO conversation(portal, conv, location, opened_at, last_at,"
    " due_at, human, contact, state)"
    " SELECT portal, conv, location, ?3, ?3, ?3, 0, ?2, 2 FROM job"
    " WHERE id = ?1 AND conv IS NOT NULL AND conv <> ''"
    " ON CONFLICT(portal, conv) DO UPDATE SET contact = excluded.contact",

    /* ST_CONV_GET */
    "SELECT c.contact, c.written_upto, coalesce((SELECT max(m.id)"
    " FROM message m WHERE m.portal = c.portal AND m.conv = c.conv),"
    " c.written_upto), c.human, c.state FROM conversation c"
    " WHERE c.portal = ?1 AND c.conv = ?2",

    /* ST_SWEEP_DUE: ?1 now, ?2 max: the open conversations gone quiet */
    "SELECT c.rowid, c.portal, c.conv, c.location, c.contact,"
    " EXISTS (SELECT 1 FROM message m WHERE m.portal = c.portal"
    " AND m.conv = c.conv AND m.id > c.written_upto),"
    " coalesce((SELECT max(m.id) FROM message m WHERE m.portal = c.portal"
    " AND m.conv = c.conv), c.written_upto)"
    " FROM conversation c INDEXED BY conversation_due"
    " WHERE c.state = 0 AND c.due_at <= ?1 ORDER BY c.due_at LIMIT ?2",

    /* ST_SWEEP_JOB: ?1 delivery, ?2 location, ?3 portal, ?4 now,
       ?5 payload, ?6 contact, ?7 conv */
    "INSERT INTO job(delivery, location, provider, type, portal, match_key,"
    " state, received_at, visible_at, payload, event, kind, contact, conv)"
    " VALUES (?1, ?2, 'crmsync', 'transcript.idle', ?3, '', 0, ?4, ?4, ?5,"
    " '{}', 1, ?6, ?7)",

    /* ST_SWEEP_KEY */
    "INSERT OR IGNORE INTO job_key(job, key) VALUES (?1, ?2)",

    /* ST_SWEEP_MARK: ?1 rowid, ?2 state, ?3 written up to (or NULL) */
    "UPDATE conversation SET state = ?2,"
    " written_upto = max(written_upto, coalesce(?3, 0)) WHERE rowid = ?1",

    /* ST_MESSAGES: ?3 after, ?4 upto */
    "SELECT id, at, author, attachments, text FROM message"
    " WHERE portal = ?1 AND conv = ?2 AND id > ?3 AND id <= ?4"
    " ORDER BY id",

    /* ST_CONV_WRITTEN: ?3 upto; closing: closed, or open with newer */
    "UPDATE conversation SET written_upto = max(written_upto, ?3),"
    " state = CASE WHEN state <> 1 THEN state"
    "   WHEN EXISTS (SELECT 1 FROM message m WHERE m.portal = ?1"
    "     AND m.conv = ?2 AND m.id > max(written_upto, ?3)) THEN 0"
    "   ELSE 2 END"
    " WHERE portal = ?1 AND conv = ?2",

    /* ST_OBJECT_GET */
    "SELECT hubspot_id, confirmed, at FROM object"
    " WHERE portal = ?1 AND key = ?2",

    /* ST_OBJECT_PUT: ?3 type, ?4 id, ?5 confirmed, ?6 now */
    "INSERT INTO object(portal, key, type, hubspot_id, confirmed, at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(portal, key) DO UPDATE"
    " SET type = excluded.type, hubspot_id = excluded.hubspot_id,"
    " confirmed = excluded.confirmed, at = excluded.at",

    /* ST_DEAL_GET */
    "SELECT deal_id FROM deal WHERE portal = ?1 AND contact = ?2"
    " AND pipeline = ?3",

    /* ST_DEAL_PUT */
    "INSERT INTO deal(portal, contact, pipeline, deal_id)"
    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(portal, contact, pipeline)"
    " DO UPDATE SET deal_id = excluded.deal_id",

    /* ST_DEAL_DROP */
    "DELETE FROM deal WHERE portal = ?1 AND contact = ?2"
    " AND pipeline = ?3",

    /* ST_FLAG_OPEN: ?1 portal, ?2 conv, ?3 property, ?4 contact, ?5 due */
    "INSERT INTO flag(portal, conv, property, contact, open, due)"
    " VALUES (?1, ?2, ?3, ?4, 1, ?5) ON CONFLICT(portal, conv, property)"
    " DO UPDATE SET contact = excluded.contact, open = 1,"
    " due = excluded.due",

    /* ST_FLAG_CLOSE */
    "DELETE FROM flag WHERE portal = ?1 AND conv = ?2 AND property = ?3",

    /* ST_FLAG_CLOSE_IDLE: only what the sweep marked closing; an event
       that opened it again since keeps it */
    "DELETE FROM flag WHERE portal = ?1 AND conv = ?2 AND property = ?3"
    " AND open = 0",

    /* ST_FLAG_SWEEP_LAST: the jobs the sweep adds come after it */
    "SELECT coalesce(max(id), 0) FROM job",

    /* ST_FLAG_SWEEP_JOB: ?1 now, ?2 max: for each open flag past its
       time, the flag action that closes it, a delivery of its own as the
       transcript sweep's */
    "INSERT INTO job(delivery, location, provider, type, portal, match_key,"
    " state, received_at, visible_at, payload, event, kind, contact, conv)"
    " SELECT portal || ' crmsync:flag-idle:' || conv || ':' || property"
    " || ':' || ?1, '', 'crmsync', 'flag.idle', portal, '', 0, ?1, ?1,"
    " json_object('v', 1, 'property', property, 'conv', conv,"
    " 'open', json('false'), 'idle', json('true')), '{}', 4, contact, conv"
    " FROM flag INDEXED BY flag_due WHERE open = 1 AND due > 0"
    " AND due <= ?1 ORDER BY due LIMIT ?2",

    /* ST_FLAG_SWEEP_KEY: ?1 the last job before: the new ones' keys */
    "INSERT OR IGNORE INTO job_key(job, key) SELECT id, 'contact:' || contact"
    " FROM job WHERE id > ?1 AND type = 'flag.idle'",

    /* ST_FLAG_SWEEP_MARK: their flags are closing */
    "UPDATE flag SET open = 0 WHERE (portal, conv, property) IN"
    " (SELECT portal, conv, json_extract(payload, '$.property') FROM job"
    " WHERE id > ?1 AND type = 'flag.idle')",

    /* ST_FLAG_ANY: ?1 portal, ?2 contact, ?3 property */
    "SELECT EXISTS (SELECT 1 FROM flag INDEXED BY flag_contact"
    " WHERE portal = ?1 AND contact = ?2"
    " AND property = ?3 AND open = 1)",

    /* ST_FLAG_VALUE_GET */
    "SELECT value FROM flag_value WHERE portal = ?1 AND contact = ?2"
    " AND property = ?3",

    /* ST_FLAG_VALUE_PUT: ?4 value */
    "INSERT INTO flag_value(portal, contact, property, value)"
    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(portal, contact, property)"
    " DO UPDATE SET value = excluded.value",

    /* ST_FLAG_VALUE_DROP */
    "DELETE FROM flag_value WHERE portal = ?1 AND contact = ?2"
    " AND property = ?3",

    /* ST_TURN */
    "INSERT INTO turn(portal, name, n) VALUES (?1, ?2, 1)"
    " ON CONFLICT(portal, name) DO UPDATE SET n = n + 1 RETURNING n - 1"
};


static ngx_http_crmsync_store_rc_e ngx_http_crmsync_store_merge(
    ngx_http_crmsync_store_t *st, ngx_http_crmsync_store_row_t *row,
    int64_t now);


static int
ngx_http_crmsync_store_no_wait(void *data, int count)
{
    (void) data;
    (void) count;

    return 0;
}


static sqlite3 *
ngx_http_crmsync_store_connect(const char *path, const char *sync, char *err,
    size_t size)
{
    int       rc;
    char      sql[192];
    sqlite3  *db;

    rc = sqlite3_open_v2(path, &db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                         | SQLITE_OPEN_NOMUTEX, NULL);

    if (rc != SQLITE_OK) {
        snprintf(err, size, "%s", db ? sqlite3_errmsg(db)
                                     : sqlite3_errstr(rc));
        sqlite3_close(db);
        return NULL;
    }

    sqlite3_extended_result_codes(db, 1);

    /*
     * Setting up may wait for a lock (another worker's first connection
     * recovers the WAL index): no request is served yet.  Once set up, a
     * store opened for a worker answers BUSY at once.
     */

    sqlite3_busy_timeout(db, 5000);

    /*
     * SQLite's own checkpoints (every 1000 pages of WAL, by the connection
     * that commits) stay: a few MB copied at a time; journal_size_limit
     * gives the disk back after a burst grew the WAL
     */

    snprintf(sql, sizeof(sql),
             "PRAGMA synchronous=%s; PRAGMA foreign_keys=OFF;"
             " PRAGMA secure_delete=FAST;"
             " PRAGMA journal_size_limit=67108864;", sync);

    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, size, "%s", sqlite3_errmsg(db));
        sqlite3_close(db);
        return NULL;
    }

    return db;
}


int
ngx_http_crmsync_store_init(const char *path, char *err, size_t size)
{
    int            version, rc;
    char          *msg;
    sqlite3       *db;
    sqlite3_stmt  *stmt;

    /* the master runs this alone: a worker of the old generation may hold
       the lock for a moment, so the connection waits (no event loop here) */

    db = ngx_http_crmsync_store_connect(path, "FULL", err, size);
    if (db == NULL) {
        return -1;
    }

    msg = NULL;

    /* the version is read under the write lock: two masters (a running
       nginx and "nginx -t") never both create the schema */

    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) {
        goto failed;
    }

    rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        goto rollback;
    }

    version = (sqlite3_step(stmt) == SQLITE_ROW)
              ? sqlite3_column_int(stmt, 0) : -1;
    sqlite3_finalize(stmt);

    if (version < 0) {
        goto rollback;
    }

    if (version > NGX_HTTP_CRMSYNC_STORE_VERSION) {
        snprintf(err, size, "schema version %d is newer than this crmsync's"
                 " (%d)", version, NGX_HTTP_CRMSYNC_STORE_VERSION);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(db);
        return -1;
    }

    if (version == 0
        && (sqlite3_exec(db, ngx_http_crmsync_schema_v1, NULL, NULL, &msg)
            != SQLITE_OK
            || sqlite3_exec(db, "PRAGMA user_version=1", NULL, NULL, &msg)
               != SQLITE_OK))
    {
        goto rollback;
    }

    /* then one step at a time, in the same transaction: a store is at
       one version or the next, never in between */

    if (version < 2
        && sqlite3_exec(db, ngx_http_crmsync_schema_v2, NULL, NULL, &msg)
           != SQLITE_OK)
    {
        goto rollback;
    }

    if (version < 3
        && sqlite3_exec(db, ngx_http_crmsync_schema_v3, NULL, NULL, &msg)
           != SQLITE_OK)
    {
        goto rollback;
    }

    if (version < 4
        && sqlite3_exec(db, ngx_http_crmsync_schema_v4, NULL, NULL, &msg)
           != SQLITE_OK)
    {
        goto rollback;
    }

    if (sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
        goto rollback;
    }

    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, &msg)
        != SQLITE_OK)
    {
        goto failed;
    }

    if (sqlite3_close(db) != SQLITE_OK) {
        snprintf(err, size, "%s", sqlite3_errmsg(db));
        return -1;
    }

    return 0;

rollback:

    snprintf(err, size, "%s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    return -1;

failed:

    snprintf(err, size, "%s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_close(db);
    return -1;
}


ngx_http_crmsync_store_t *
ngx_http_crmsync_store_open(const char *path, int full, char *err,
    size_t size)
{
    int                        i;
    sqlite3                   *db;
    ngx_http_crmsync_store_t  *st;

    st = calloc(1, sizeof(ngx_http_crmsync_store_t));
    if (st == NULL) {
        snprintf(err, size, "out of memory");
        return NULL;
    }

    st->ingest = ngx_http_crmsync_store_connect(path, full ? "FULL" : "NORMAL",
                                               err, size);
    if (st->ingest == NULL) {
        free(st);
        return NULL;
    }

    st->drain = ngx_http_crmsync_store_connect(path, "NORMAL", err, size);
    if (st->drain == NULL) {
        sqlite3_close(st->ingest);
        free(st);
        return NULL;
    }

    for (i = 0; i < ST_MAX; i++) {
        db = (i <= ST_INGEST_LAST) ? st->ingest : st->drain;

        /* prepared once: sqlite3_exec() would compile them every time */

        if (sqlite3_prepare_v3(db, ngx_http_crmsync_sql[i], -1,
                               SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL)
            != SQLITE_OK)
        {
            snprintf(err, size, "%s", sqlite3_errmsg(db));
            ngx_http_crmsync_store_close(st);
            return NULL;
        }
    }

    sqlite3_busy_handler(st->ingest, ngx_http_crmsync_store_no_wait, NULL);
    sqlite3_busy_handler(st->drain, ngx_http_crmsync_store_no_wait, NULL);

    st->last = st->ingest;

    return st;
}


void
ngx_http_crmsync_store_close(ngx_http_crmsync_store_t *st)
{
    int  i;

    if (st == NULL) {
        return;
    }

    for (i = 0; i < ST_MAX; i++) {
        sqlite3_finalize(st->stmt[i]);
    }

    sqlite3_close(st->drain);
    sqlite3_close(st->ingest);
    free(st->dkey);
    free(st->akey);
    free(st);
}


const char *
ngx_http_crmsync_store_error(ngx_http_crmsync_store_t *st)
{
    return sqlite3_errmsg(st->last);
}


static ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_rc(ngx_http_crmsync_store_t *st, sqlite3 *db, int rc)
{
    st->last = db;

    switch (rc & 0xff) {

    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return NGX_HTTP_CRMSYNC_STORE_OK;

    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return NGX_HTTP_CRMSYNC_STORE_BUSY;

    default:
        return NGX_HTTP_CRMSYNC_STORE_ERROR;
    }
}


static void
ngx_http_crmsync_bind_str(sqlite3_stmt *s, int i, ngx_http_crmsync_str_t *v)
{
    sqlite3_bind_text(s, i, v->len ? (const char *) v->data : "",
                      (int) v->len, SQLITE_STATIC);
}


static void
ngx_http_crmsync_bind_cstr(sqlite3_stmt *s, int i, const char *v)
{
    if (v == NULL) {
        sqlite3_bind_null(s, i);

    } else {
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    }
}


/* steps a statement that returns no row and resets it */
static ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_step(ngx_http_crmsync_store_t *st, int i)
{
    int            rc;
    sqlite3_stmt  *s;

    s = st->stmt[i];
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);

    return ngx_http_crmsync_store_rc(st, sqlite3_db_handle(s), rc);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_begin(ngx_http_crmsync_store_t *st)
{
    st->dvalid = 0;
    st->dkey_len = 0;

    return ngx_http_crmsync_store_step(st, ST_BEGIN_INGEST);
}


/*
 * The delivery key a row is deduplicated on.  A contact row (kind 0) has
 * its event's, as before.  An event's actions share that delivery, so
 * each gets a key of its own derived from it: "<key>#<kind name>.<n>",
 * n counting the actions of that kind of the delivery in this transaction
 * (an event may have several flags), which a redelivery of the event
 * derives again.  An action of a delivery whose contact row this
 * transaction found a duplicate is a duplicate too.  0, 1: a duplicate,
 * or -1: no memory.
 */

static int
ngx_http_crmsync_store_delivery(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_store_row_t *row, ngx_http_crmsync_str_t *key)
{
    int      same, n;
    char    *a;
    size_t   i, want;
    u_char  *p;

    same = st->dvalid && st->dkey_len == row->key.len
           && (row->key.len == 0
               || memcmp(st->dkey, row->key.data, row->key.len) == 0);

    if (!same) {
        want = row->key.len ? row->key.len : 1;

        if (want > st->dkey_size) {
            p = realloc(st->dkey, want);
            if (p == NULL) {
                st->dvalid = 0;
                return -1;
            }

            st->dkey = p;
            st->dkey_size = want;
        }

        if (row->key.len) {
            memcpy(st->dkey, row->key.data, row->key.len);
        }

        st->dkey_len = row->key.len;
        st->dvalid = 1;
        st->ddup = 0;

        for (i = 0; i < NGX_HTTP_CRMSYNC_KINDS; i++) {
            st->aseq[i] = 0;
        }
    }

    if (row->kind == NGX_HTTP_CRMSYNC_KIND_CONTACT) {
        *key = row->key;
        return 0;
    }

    if (same && st->ddup) {
        return 1;
    }

    want = row->key.len + sizeof("#transcript.4294967295");

    if (want > st->akey_size) {
        a = realloc(st->akey, want);
        if (a == NULL) {
            return -1;
        }

        st->akey = a;
        st->akey_size = want;
    }

    n = snprintf(st->akey, st->akey_size, "%.*s#%s.%u", (int) row->key.len,
                 row->key.len ? (char *) row->key.data : "",
                 ngx_http_crmsync_job_kind_names[row->kind],
                 ++st->aseq[row->kind]);

    if (n < 0 || (size_t) n >= st->akey_size) {
        return -1;
    }

    key->data = (u_char *) st->akey;
    key->len = n;

    return 0;
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_add(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_store_row_t *row, int64_t now)
{
    int                           dup, held;
    size_t                        i;
    int64_t                       id;
    sqlite3_stmt                 *s;
    ngx_http_crmsync_str_t        delivery;
    ngx_http_crmsync_store_rc_e   rc;

    row->id = 0;

    if ((unsigned) row->kind >= NGX_HTTP_CRMSYNC_KINDS) {
        return NGX_HTTP_CRMSYNC_STORE_ERROR;
    }

    dup = ngx_http_crmsync_store_delivery(st, row, &delivery);
    if (dup < 0) {
        return NGX_HTTP_CRMSYNC_STORE_ERROR;
    }

    if (dup) {
        row->duplicate = 1;
        return NGX_HTTP_CRMSYNC_STORE_OK;
    }

    s = st->stmt[ST_ADD_DELIVERY];
    ngx_http_crmsync_bind_str(s, 1, &delivery);
    sqlite3_bind_int64(s, 2, now);

    rc = ngx_http_crmsync_store_step(st, ST_ADD_DELIVERY);
    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        return rc;
    }

    if (sqlite3_changes(st->ingest) == 0) {
        if (row->kind == NGX_HTTP_CRMSYNC_KIND_CONTACT) {
            st->ddup = 1;
        }

        row->duplicate = 1;
        return NGX_HTTP_CRMSYNC_STORE_OK;
    }

    row->duplicate = 0;

    /* an action with a parent waits for its contact */
    held = (row->kind != NGX_HTTP_CRMSYNC_KIND_CONTACT && row->parent != 0);

    s = st->stmt[ST_ADD_JOB];
    ngx_http_crmsync_bind_str(s, 1, &delivery);
    ngx_http_crmsync_bind_str(s, 2, &row->location);
    ngx_http_crmsync_bind_cstr(s, 3, row->provider);
    ngx_http_crmsync_bind_cstr(s, 4, row->type);
    ngx_http_crmsync_bind_str(s, 5, &row->portal);
    ngx_http_crmsync_bind_str(s, 6, &row->match_key);
    sqlite3_bind_int(s, 7, held ? NGX_HTTP_CRMSYNC_JOB_HELD : row->state);
    sqlite3_bind_int64(s, 8, now);
    sqlite3_bind_int64(s, 9, row->visible_at);
    ngx_http_crmsync_bind_cstr(s, 10, held ? "contact" : row->hold_reason);
    ngx_http_crmsync_bind_str(s, 11, &row->payload);
    ngx_http_crmsync_bind_str(s, 12, &row->event);
    sqlite3_bind_int(s, 13, row->kind);

    if (row->parent != 0) {
        sqlite3_bind_int64(s, 14, row->parent);
    }

    if (row->conv.len) {
        ngx_http_crmsync_bind_str(s, 15, &row->conv);
    }

    rc = ngx_http_crmsync_store_step(st, ST_ADD_JOB);
    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        return rc;
    }

    id = sqlite3_last_insert_rowid(st->ingest);
    row->id = id;

    for (i = 0; i < row->nkeys; i++) {
        if (row->keys[i].len == 0) {
            continue;
        }

        s = st->stmt[ST_ADD_KEY];
        sqlite3_bind_int64(s, 1, id);
        ngx_http_crmsync_bind_str(s, 2, &row->keys[i]);

        rc = ngx_http_crmsync_store_step(st, ST_ADD_KEY);
        if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
            return rc;
        }
    }

    if (row->merge_to.len == 0) {
        return NGX_HTTP_CRMSYNC_STORE_OK;
    }

    return ngx_http_crmsync_store_merge(st, row, now);
}


/* a contact.merge: the identities of each old id go to the survivor */
static ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_merge(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_store_row_t *row, int64_t now)
{
    u_char                       *p, *last, *end;
    sqlite3_stmt                 *s;
    ngx_http_crmsync_str_t        from;
    ngx_http_crmsync_store_rc_e   rc;

    p = row->merge_from.data;
    last = p + row->merge_from.len;

    while (p < last) {
        end = memchr(p, ',', last - p);
        if (end == NULL) {
            end = last;
        }

        from.data = p;
        from.len = end - p;
        p = end + 1;

        while (from.len && from.data[0] == ' ') {
            from.data++;
            from.len--;
        }

        while (from.len && from.data[from.len - 1] == ' ') {
            from.len--;
        }

        if (from.len == 0
            || (from.len == row->merge_to.len
                && memcmp(from.data, row->merge_to.data, from.len) == 0))
        {
            continue;
        }

        s = st->stmt[ST_ADD_REMAP];
        ngx_http_crmsync_bind_str(s, 1, &row->portal);
        ngx_http_crmsync_bind_str(s, 2, &from);
        ngx_http_crmsync_bind_str(s, 3, &row->merge_to);
        sqlite3_bind_int64(s, 4, now);

        rc = ngx_http_crmsync_store_step(st, ST_ADD_REMAP);
        if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
            return rc;
        }
    }

    return NGX_HTTP_CRMSYNC_STORE_OK;
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_commit(ngx_http_crmsync_store_t *st)
{
    return ngx_http_crmsync_store_step(st, ST_COMMIT_INGEST);
}


void
ngx_http_crmsync_store_rollback(ngx_http_crmsync_store_t *st)
{
    if (!sqlite3_get_autocommit(st->ingest)) {
        (void) sqlite3_exec(st->ingest, "ROLLBACK", NULL, NULL, NULL);
    }
}


static int
ngx_http_crmsync_column_copy(sqlite3_stmt *s, int col,
    ngx_http_crmsync_str_t *dst)
{
    int            n;
    const u_char  *p;

    p = sqlite3_column_text(s, col);
    n = sqlite3_column_bytes(s, col);

    dst->data = malloc(n + 1);
    if (dst->data == NULL) {
        dst->len = 0;
        return -1;
    }

    if (n) {
        memcpy(dst->data, p, n);
    }

    dst->data[n] = '\0';
    dst->len = n;

    return 0;
}


/*
 * The keys held back during one claim: a key, and the first job that
 * holds it back (0: a job in flight, which holds back every other).  Open
 * addressing, linear probing, at most half full.
 */

typedef struct {
    u_char                     *key;            /* NULL: a free slot */
    size_t                      len;
    uint64_t                    hash;
    int64_t                     job;
} ngx_http_crmsync_held_key_t;


typedef struct ngx_http_crmsync_held_chunk_s  ngx_http_crmsync_held_chunk_t;

struct ngx_http_crmsync_held_chunk_s {
    ngx_http_crmsync_held_chunk_t  *next;
    size_t                          used;
    size_t                          size;       /* the bytes follow */
};


typedef struct {
    ngx_http_crmsync_held_key_t    *slot;
    size_t                          size;       /* a power of 2, or 0 */
    size_t                          n;
    ngx_http_crmsync_held_chunk_t  *chunk;      /* the keys' bytes */
} ngx_http_crmsync_held_t;


static uint64_t
ngx_http_crmsync_held_hash(const u_char *p, size_t len)
{
    uint64_t  h;

    /* FNV-1a */

    h = 0xcbf29ce484222325ULL;

    while (len--) {
        h = (h ^ *p++) * 0x100000001b3ULL;
    }

    return h;
}


static ngx_http_crmsync_held_key_t *
ngx_http_crmsync_held_find(ngx_http_crmsync_held_t *held, const u_char *key,
    size_t len, uint64_t hash)
{
    size_t                        i, mask;
    ngx_http_crmsync_held_key_t  *k;

    mask = held->size - 1;

    for (i = hash & mask; /* void */; i = (i + 1) & mask) {
        k = &held->slot[i];

        if (k->key == NULL
            || (k->hash == hash && k->len == len
                && memcmp(k->key, key, len) == 0))
        {
            return k;
        }
    }
}


/* the job at or before which key is held back, INT64_MAX if it is not */
static int64_t
ngx_http_crmsync_held_get(ngx_http_crmsync_held_t *held, const u_char *key,
    size_t len)
{
    ngx_http_crmsync_held_key_t  *k;

    if (held->n == 0) {
        return INT64_MAX;
    }

    k = ngx_http_crmsync_held_find(held, key, len,
                                   ngx_http_crmsync_held_hash(key, len));

    return k->key ? k->job : INT64_MAX;
}


static int
ngx_http_crmsync_held_add(ngx_http_crmsync_held_t *held, const u_char *key,
    size_t len, int64_t job)
{
    size_t                          i, size;
    uint64_t                        hash;
    ngx_http_crmsync_held_key_t    *k, *old;
    ngx_http_crmsync_held_chunk_t  *c;

    if ((held->n + 1) * 2 > held->size) {
        size = held->size ? held->size * 2 : 64;
        old = held->slot;

        held->slot = calloc(size, sizeof(ngx_http_crmsync_held_key_t));
        if (held->slot == NULL) {
            held->slot = old;
            return -1;
        }

        held->size = size;

        for (i = 0; i < size / 2; i++) {
            if (old != NULL && old[i].key != NULL) {
                *ngx_http_crmsync_held_find(held, old[i].key, old[i].len,
                                            old[i].hash) = old[i];
            }
        }

        free(old);
    }

    hash = ngx_http_crmsync_held_hash(key, len);
    k = ngx_http_crmsync_held_find(held, key, len, hash);

    if (k->key != NULL) {
        if (job < k->job) {
            k->job = job;
        }

        return 0;
    }

    c = held->chunk;

    if (c == NULL || c->size - c->used < len) {
        size = len > 4096 ? len : 4096;

        c = malloc(sizeof(ngx_http_crmsync_held_chunk_t) + size);
        if (c == NULL) {
            return -1;
        }

        c->next = held->chunk;
        c->used = 0;
        c->size = size;
        held->chunk = c;
    }

    k->key = (u_char *) (c + 1) + c->used;
    c->used += len;

    if (len) {
        memcpy(k->key, key, len);
    }

    k->len = len;
    k->hash = hash;
    k->job = job;
    held->n++;

    return 0;
}


static void
ngx_http_crmsync_held_free(ngx_http_crmsync_held_t *held)
{
    ngx_http_crmsync_held_chunk_t  *c, *next;

    for (c = held->chunk; c; c = next) {
        next = c->next;
        free(c);
    }

    free(held->slot);
    memset(held, 0, sizeof(ngx_http_crmsync_held_t));
}


/*
 * The claim, in one write transaction.  The keys of the jobs in flight
 * and of the jobs not due yet are held back; then the due jobs, in their
 * order of arrival, are each taken unless a key of theirs is held back
 * by an earlier job (or one in flight), and a job held back holds its own
 * keys back for the jobs after it: a person's third job waits for the
 * second that waits for the first, whatever keys the first and the third
 * share.  Jobs taken by this claim hold nothing back: one batch may hold
 * several jobs of a person.
 */

ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_claim(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, int64_t now, int64_t lease,
    int64_t owner, size_t max, ngx_http_crmsync_store_job_t **jobs,
    size_t *n)
{
    return ngx_http_crmsync_store_claim_kind(st, portal, 0, now, lease,
                                             owner, max, jobs, n);
}


/*
 * Contacts (actions 0) and actions (1) are two queues of one table: each
 * holds back only its own jobs, so that a slow action never holds a
 * person's contact updates back.  Actions are run each on its own, not
 * in a batch: an action taken holds its keys back as one in flight does,
 * so that one claim never takes two actions that share a key.
 */

ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_claim_kind(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, int actions, int64_t now, int64_t lease,
    int64_t owner, size_t max, ngx_http_crmsync_store_job_t **jobs,
    size_t *n)
{
    int                            rc, blocked;
    size_t                         i, found, len, used, size;
    int64_t                        token, id, cur;
    u_char                        *buf, *more;
    sqlite3_stmt                  *s;
    const u_char                  *key;
    ngx_http_crmsync_held_t        held;
    ngx_http_crmsync_store_job_t  *j, *all;

    *jobs = NULL;
    *n = 0;

    all = calloc(max ? max : 1, sizeof(ngx_http_crmsync_store_job_t));
    if (all == NULL) {
        return NGX_HTTP_CRMSYNC_STORE_ERROR;
    }

    rc = ngx_http_crmsync_store_step(st, ST_BEGIN_DRAIN);
    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        free(all);
        return rc;
    }

    memset(&held, 0, sizeof(ngx_http_crmsync_held_t));
    buf = NULL;
    used = 0;
    size = 0;
    found = 0;

    if (max == 0) {
        goto commit;
    }

    s = st->stmt[ST_CLAIM_BLOCKING];
    ngx_http_crmsync_bind_str(s, 1, portal);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_int(s, 3, actions ? 1 : 0);

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (ngx_http_crmsync_held_add(&held, sqlite3_column_text(s, 0),
                                      sqlite3_column_bytes(s, 0),
                                      sqlite3_column_int64(s, 1))
            != 0)
        {
            rc = SQLITE_NOMEM;
            break;
        }
    }

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);

    if (rc != SQLITE_DONE) {
        goto failed;
    }

    /*
     * The due jobs, oldest first, a row per key.  While nothing is held
     * back, every job is taken as it comes; otherwise a job's keys are
     * kept until its last row tells whether it is held back.
     */

    s = st->stmt[ST_CLAIM_DUE];
    ngx_http_crmsync_bind_str(s, 1, portal);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_int(s, 3, actions ? 1 : 0);

    cur = 0;
    blocked = 0;

    for ( ;; ) {
        rc = sqlite3_step(s);

        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            break;
        }

        id = (rc == SQLITE_ROW) ? sqlite3_column_int64(s, 0) : 0;

        if (id != cur && cur != 0) {

            /* the previous job's rows are all read */

            if (!blocked) {
                all[found++].id = cur;
            }

            if (blocked || actions) {
                for (i = 0; i < used; i += sizeof(size_t) + len) {
                    memcpy(&len, &buf[i], sizeof(size_t));

                    if (ngx_http_crmsync_held_add(&held,
                                                  &buf[i + sizeof(size_t)],
                                                  len, blocked ? cur : 0)
                        != 0)
                    {
                        rc = SQLITE_NOMEM;
                        break;
                    }
                }
            }

            used = 0;
            blocked = 0;

            if (rc == SQLITE_NOMEM || found == max) {
                break;
            }
        }

        if (rc == SQLITE_DONE) {
            break;
        }

        cur = id;

        if ((held.n == 0 && !actions)
            || sqlite3_column_type(s, 1) == SQLITE_NULL)
        {
            continue;
        }

        key = sqlite3_column_text(s, 1);
        len = sqlite3_column_bytes(s, 1);

        if (ngx_http_crmsync_held_get(&held, key, len) < id) {
            blocked = 1;
        }

        /* kept: the job's keys, each after its length */

        if (size - used < sizeof(size_t) + len) {
            size = 2 * (size + sizeof(size_t) + len);

            more = realloc(buf, size);
            if (more == NULL) {
                rc = SQLITE_NOMEM;
                break;
            }

            buf = more;
        }

        memcpy(&buf[used], &len, sizeof(size_t));
        used += sizeof(size_t);

        if (len) {
            memcpy(&buf[used], key, len);
            used += len;
        }
    }

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);

    free(buf);
    ngx_http_crmsync_held_free(&held);

    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        goto failed;
    }

    /* the jobs found, under one lease: RETURNING gives their columns */

    sqlite3_randomness(sizeof(token), &token);

    s = st->stmt[ST_CLAIM];

    for (i = 0; i < found; i++) {
        j = &all[*n];

        sqlite3_bind_int64(s, 1, all[i].id);
        sqlite3_bind_int64(s, 2, now + lease);
        sqlite3_bind_int64(s, 3, token);
        sqlite3_bind_int64(s, 4, owner);

        rc = sqlite3_step(s);

        if (rc == SQLITE_ROW) {
            j->id = sqlite3_column_int64(s, 0);
            j->lease = sqlite3_column_int64(s, 1);
            j->received_at = sqlite3_column_int64(s, 2);
            j->attempts = sqlite3_column_int(s, 3);
            j->solo = sqlite3_column_int(s, 4) ? 1 : 0;
            j->kind = sqlite3_column_int(s, 7);
            (*n)++;

            if (ngx_http_crmsync_column_copy(s, 5, &j->match_key) != 0
                || ngx_http_crmsync_column_copy(s, 6, &j->payload) != 0
                || ngx_http_crmsync_column_copy(s, 8, &j->contact) != 0)
            {
                rc = SQLITE_NOMEM;
            }
        }

        sqlite3_reset(s);

        if (rc != SQLITE_ROW) {
            sqlite3_clear_bindings(s);
            goto failed;
        }
    }

    sqlite3_clear_bindings(s);

commit:

    rc = ngx_http_crmsync_store_step(st, ST_COMMIT_DRAIN);

    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        (void) sqlite3_exec(st->drain, "ROLLBACK", NULL, NULL, NULL);
        ngx_http_crmsync_store_free_jobs(all, *n);
        *n = 0;
        return rc;
    }

    if (*n == 0) {
        /* *jobs stays NULL: a caller that claimed nothing frees nothing */
        free(all);
        return NGX_HTTP_CRMSYNC_STORE_OK;
    }

    *jobs = all;

    return NGX_HTTP_CRMSYNC_STORE_OK;

failed:

    ngx_http_crmsync_held_free(&held);
    rc = ngx_http_crmsync_store_rc(st, st->drain, rc);
    (void) sqlite3_exec(st->drain, "ROLLBACK", NULL, NULL, NULL);
    ngx_http_crmsync_store_free_jobs(all, *n);
    *n = 0;

    return rc;
}


void
ngx_http_crmsync_store_free_jobs(ngx_http_crmsync_store_job_t *jobs,
    size_t n)
{
    size_t  i;

    if (jobs == NULL) {
        return;
    }

    for (i = 0; i < n; i++) {
        free(jobs[i].match_key.data);
        free(jobs[i].payload.data);
        free(jobs[i].contact.data);
    }

    free(jobs);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_next_due(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, int64_t *at)
{
    return ngx_http_crmsync_store_next_due_kind(st, portal, 0, at);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_next_due_kind(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, int actions, int64_t *at)
{
    int            rc;
    sqlite3_stmt  *s;

    s = st->stmt[ST_NEXT_DUE];
    ngx_http_crmsync_bind_str(s, 1, portal);
    sqlite3_bind_int(s, 2, actions ? 1 : 0);

    rc = sqlite3_step(s);
    *at = (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
          ? sqlite3_column_int64(s, 0) : -1;

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);

    return ngx_http_crmsync_store_rc(st, st->drain, rc);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_begin_drain(ngx_http_crmsync_store_t *st)
{
    return ngx_http_crmsync_store_step(st, ST_BEGIN_DRAIN);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_commit_drain(ngx_http_crmsync_store_t *st)
{
    return ngx_http_crmsync_store_step(st, ST_COMMIT_DRAIN);
}


void
ngx_http_crmsync_store_rollback_drain(ngx_http_crmsync_store_t *st)
{
    if (!sqlite3_get_autocommit(st->drain)) {
        (void) sqlite3_exec(st->drain, "ROLLBACK", NULL, NULL, NULL);
    }
}


/*
 * A contact job done: its actions waiting for it are queued with the
 * contact (and serialized on it), or done "no_contact" without one; its
 * conversation learns the contact.
 */

ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_done(ngx_http_crmsync_store_t *st, int64_t id,
    int64_t lease, int64_t now, const char *hubspot_id, const char *note)
{
    int                           rc, kind;
    sqlite3_stmt                 *s;
    ngx_http_crmsync_store_rc_e   rv;

    s = st->stmt[ST_DONE];
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, lease);
    sqlite3_bind_int64(s, 3, now);
    ngx_http_crmsync_bind_cstr(s, 4, hubspot_id);
    ngx_http_crmsync_bind_cstr(s, 5, note);

    rc = sqlite3_step(s);

    kind = (rc == SQLITE_ROW) ? sqlite3_column_int(s, 0) : -1;

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);

    rv = ngx_http_crmsync_store_rc(st, st->drain, rc);

    /* the lease was lost, or an action: nothing follows */

    if (rv != NGX_HTTP_CRMSYNC_STORE_OK
        || kind != NGX_HTTP_CRMSYNC_KIND_CONTACT)
    {
        return rv;
    }

    if (hubspot_id == NULL || *hubspot_id == '\0') {
        s = st->stmt[ST_CHILD_NONE];
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, now);

        return ngx_http_crmsync_store_step(st, ST_CHILD_NONE);
    }

    s = st->stmt[ST_CHILD_KEY];
    sqlite3_bind_int64(s, 1, id);
    ngx_http_crmsync_bind_cstr(s, 2, hubspot_id);

    rv = ngx_http_crmsync_store_step(st, ST_CHILD_KEY);
    if (rv != NGX_HTTP_CRMSYNC_STORE_OK) {
        return rv;
    }

    s = st->stmt[ST_CHILD_QUEUE];
    sqlite3_bind_int64(s, 1, id);
    ngx_http_crmsync_bind_cstr(s, 2, hubspot_id);
    sqlite3_bind_int64(s, 3, now);

    rv = ngx_http_crmsync_store_step(st, ST_CHILD_QUEUE);
    if (rv != NGX_HTTP_CRMSYNC_STORE_OK) {
        return rv;
    }

    s = st->stmt[ST_CONV_CONTACT];
    sqlite3_bind_int64(s, 1, id);
    ngx_http_crmsync_bind_cstr(s, 2, hubspot_id);
    sqlite3_bind_int64(s, 3, now);

    return ngx_http_crmsync_store_step(st, ST_CONV_CONTACT);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_retry(ngx_http_crmsync_store_t *st, int64_t id,
    int64_t lease, int64_t at, const char *error, int solo, int uncount)
{
    sqlite3_stmt  *s;

    s = st->stmt[ST_RETRY];
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, lease);
    sqlite3_bind_int64(s, 3, at);
    ngx_http_crmsync_bind_cstr(s, 4, error);
    sqlite3_bind_int(s, 5, solo ? 1 : 0);
    sqlite3_bind_int(s, 6, uncount ? 1 : 0);

    return ngx_http_crmsync_store_step(st, ST_RETRY);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_hold(ngx_http_crmsync_store_t *st, int64_t id,
    int64_t lease, const char *reason, const char *error)
{
    sqlite3_stmt  *s;

    s = st->stmt[ST_HOLD];
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, lease);
    ngx_http_crmsync_bind_cstr(s, 3, reason);
    ngx_http_crmsync_bind_cstr(s, 4, error);

    return ngx_http_crmsync_store_step(st, ST_HOLD);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_dead(ngx_http_crmsync_store_t *st, int64_t id,
    int64_t lease, int64_t now, const char *error, const char *category,
    const char *correlation)
{
    int                           rc, kind;
    sqlite3_stmt                 *s;
    ngx_http_crmsync_store_rc_e   rv;

    s = st->stmt[ST_DEAD];
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, lease);
    sqlite3_bind_int64(s, 3, now);
    ngx_http_crmsync_bind_cstr(s, 4, error);
    ngx_http_crmsync_bind_cstr(s, 5, (category && *category) ? category
                                                             : NULL);
    ngx_http_crmsync_bind_cstr(s, 6, (correlation && *correlation)
                                     ? correlation : NULL);

    rc = sqlite3_step(s);
    kind = (rc == SQLITE_ROW) ? sqlite3_column_int(s, 0) : -1;

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);

    rv = ngx_http_crmsync_store_rc(st, st->drain, rc);

    if (rv != NGX_HTTP_CRMSYNC_STORE_OK
        || kind != NGX_HTTP_CRMSYNC_KIND_CONTACT)
    {
        return rv;
    }

    /* its actions can have no contact: they die with it */

    s = st->stmt[ST_CHILD_DEAD];
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, now);

    return ngx_http_crmsync_store_step(st, ST_CHILD_DEAD);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_audit(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_store_call_t *call)
{
    size_t                        i;
    int64_t                       id;
    sqlite3_stmt                 *s;
    ngx_http_crmsync_store_rc_e   rc;

    s = st->stmt[ST_AUDIT];
    sqlite3_bind_int64(s, 1, call->at);
    ngx_http_crmsync_bind_str(s, 2, &call->portal);
    ngx_http_crmsync_bind_cstr(s, 3, call->method);
    ngx_http_crmsync_bind_cstr(s, 4, call->path);
    sqlite3_bind_int(s, 5, call->status);
    ngx_http_crmsync_bind_cstr(s, 6, (call->correlation && *call->correlation)
                                     ? call->correlation : NULL);
    ngx_http_crmsync_bind_cstr(s, 7, call->error);
    sqlite3_bind_int64(s, 8, call->duration);
    sqlite3_bind_int64(s, 9, (sqlite3_int64) call->njobs);

    rc = ngx_http_crmsync_store_step(st, ST_AUDIT);
    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        return rc;
    }

    id = sqlite3_last_insert_rowid(st->drain);

    for (i = 0; i < call->njobs; i++) {
        s = st->stmt[ST_AUDIT_JOB];
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, call->jobs[i]);

        rc = ngx_http_crmsync_store_step(st, ST_AUDIT_JOB);
        if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
            return rc;
        }
    }

    return NGX_HTTP_CRMSYNC_STORE_OK;
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_release(ngx_http_crmsync_store_t *st, int64_t owner,
    int64_t now)
{
    sqlite3_stmt  *s;

    s = st->stmt[ST_RELEASE];
    sqlite3_bind_int64(s, 1, owner);
    sqlite3_bind_int64(s, 2, now);

    return ngx_http_crmsync_store_step(st, ST_RELEASE);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_unhold(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, const char *reason, int64_t now,
    int64_t *n)
{
    sqlite3_stmt                 *s;
    ngx_http_crmsync_store_rc_e   rc;

    s = st->stmt[ST_UNHOLD];
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_cstr(s, 2, reason);
    sqlite3_bind_int64(s, 3, now);

    rc = ngx_http_crmsync_store_step(st, ST_UNHOLD);

    *n = (rc == NGX_HTTP_CRMSYNC_STORE_OK) ? sqlite3_changes(st->drain) : 0;

    return rc;
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_stats(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_store_stats_t *stats)
{
    int            rc, state, kind;
    int64_t        n;
    sqlite3_stmt  *s;

    memset(stats, 0, sizeof(ngx_http_crmsync_store_stats_t));

    s = st->stmt[ST_STATS];

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        state = sqlite3_column_int(s, 0);
        kind = sqlite3_column_int(s, 1);
        n = sqlite3_column_int64(s, 2);

        if (state < 0 || state >= NGX_HTTP_CRMSYNC_JOB_STATES) {
            continue;
        }

        stats->count[state] += n;

        if (kind >= 0 && kind < NGX_HTTP_CRMSYNC_KINDS) {
            stats->kind[kind][state] += n;
        }
    }

    sqlite3_reset(s);

    if (rc != SQLITE_DONE) {
        return ngx_http_crmsync_store_rc(st, st->drain, rc);
    }

    s = st->stmt[ST_OLDEST];

    rc = sqlite3_step(s);
    stats->oldest = (rc == SQLITE_ROW) ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);

    if (rc != SQLITE_ROW) {
        return ngx_http_crmsync_store_rc(st, st->drain, rc);
    }

    s = st->stmt[ST_IDENTITIES];

    rc = sqlite3_step(s);
    stats->identities = (rc == SQLITE_ROW) ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);

    return ngx_http_crmsync_store_rc(st, st->drain, rc);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_id_get(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, const char *kind,
    ngx_http_crmsync_str_t *value, char *contact, size_t size)
{
    int            rc, n;
    sqlite3_stmt  *s;

    if (size) {
        contact[0] = '\0';
    }

    s = st->stmt[ST_ID_GET];
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_cstr(s, 2, kind);
    ngx_http_crmsync_bind_str(s, 3, value);

    rc = sqlite3_step(s);

    if (rc == SQLITE_ROW) {
        n = sqlite3_column_bytes(s, 0);

        if ((size_t) n < size) {
            memcpy(contact, sqlite3_column_text(s, 0), n);
            contact[n] = '\0';
        }
    }

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);

    return ngx_http_crmsync_store_rc(st, st->drain, rc);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_id_put(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, const char *kind,
    ngx_http_crmsync_str_t *value, const char *contact, int64_t now)
{
    sqlite3_stmt  *s;

    s = st->stmt[ST_ID_PUT];
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_cstr(s, 2, kind);
    ngx_http_crmsync_bind_str(s, 3, value);
    ngx_http_crmsync_bind_cstr(s, 4, contact);
    sqlite3_bind_int64(s, 5, now);

    return ngx_http_crmsync_store_step(st, ST_ID_PUT);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_id_remap(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, const char *from, const char *to,
    int64_t now)
{
    sqlite3_stmt  *s;

    if (strcmp(from, to) == 0) {
        return NGX_HTTP_CRMSYNC_STORE_OK;
    }

    if (*to == '\0') {
        s = st->stmt[ST_ID_DROP];
        ngx_http_crmsync_bind_str(s, 1, portal);
        ngx_http_crmsync_bind_cstr(s, 2, from);

        return ngx_http_crmsync_store_step(st, ST_ID_DROP);
    }

    s = st->stmt[ST_ID_REMAP];
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_cstr(s, 2, from);
    ngx_http_crmsync_bind_cstr(s, 3, to);
    sqlite3_bind_int64(s, 4, now);

    return ngx_http_crmsync_store_step(st, ST_ID_REMAP);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_id_forget(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, const char *kind,
    ngx_http_crmsync_str_t *value)
{
    sqlite3_stmt  *s;

    s = st->stmt[ST_ID_FORGET];
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_cstr(s, 2, kind);
    ngx_http_crmsync_bind_str(s, 3, value);

    return ngx_http_crmsync_store_step(st, ST_ID_FORGET);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_prune(ngx_http_crmsync_store_t *st,
    int64_t deliveries_before, int64_t audit_before, int limit)
{
    int                           i;
    sqlite3_stmt                 *s;
    ngx_http_crmsync_store_rc_e   rc;

    static const struct {
        int  stmt;
        int  audit;
    } prune[] = {
        { ST_PRUNE_DELIVERY, 0 },
        { ST_PRUNE_JOB, 1 },
        { ST_PRUNE_AUDIT, 1 },
        { ST_PRUNE_AUDIT_JOB, 1 },
        { ST_PRUNE_MESSAGE, 1 },
        { ST_PRUNE_CONV, 1 }
    };

    rc = ngx_http_crmsync_store_begin_drain(st);
    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        return rc;
    }

    for (i = 0; i < (int) (sizeof(prune) / sizeof(prune[0])); i++) {
        s = st->stmt[prune[i].stmt];
        sqlite3_bind_int64(s, 1, prune[i].audit ? audit_before
                                                : deliveries_before);
        sqlite3_bind_int(s, 2, limit);

        rc = ngx_http_crmsync_store_step(st, prune[i].stmt);
        if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
            ngx_http_crmsync_store_rollback_drain(st);
            return rc;
        }
    }

    return ngx_http_crmsync_store_commit_drain(st);
}


/*
 * Issue 11.  A call that takes more than one statement runs in a
 * transaction of its own on the drain connection, or in the caller's
 * when one is open there (begin_drain()).
 */

static ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_own_begin(ngx_http_crmsync_store_t *st, int *own)
{
    *own = sqlite3_get_autocommit(st->drain);

    return *own ? ngx_http_crmsync_store_step(st, ST_BEGIN_DRAIN)
                : NGX_HTTP_CRMSYNC_STORE_OK;
}


static ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_own_end(ngx_http_crmsync_store_t *st, int own,
    ngx_http_crmsync_store_rc_e rc)
{
    if (!own) {
        return rc;
    }

    if (rc == NGX_HTTP_CRMSYNC_STORE_OK) {
        rc = ngx_http_crmsync_store_step(st, ST_COMMIT_DRAIN);
    }

    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        ngx_http_crmsync_store_rollback_drain(st);
    }

    return rc;
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_message(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, ngx_http_crmsync_str_t *conv,
    ngx_http_crmsync_str_t *location, ngx_http_crmsync_str_t *mkey,
    ngx_http_crmsync_store_msg_t *msg, int64_t idle, int human,
    int64_t now)
{
    sqlite3_stmt                 *s;
    ngx_http_crmsync_store_rc_e   rc;

    s = st->stmt[ST_MESSAGE];
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_str(s, 2, conv);
    ngx_http_crmsync_bind_str(s, 3, mkey);
    sqlite3_bind_int64(s, 4, msg->at ? msg->at : now);
    sqlite3_bind_int(s, 5, msg->author);
    ngx_http_crmsync_bind_str(s, 6, &msg->text);
    sqlite3_bind_int64(s, 7, msg->attachments);

    rc = ngx_http_crmsync_store_step(st, ST_MESSAGE);
    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        return rc;
    }

    /* a message kept before changes nothing */

    if (sqlite3_changes(st->ingest) == 0) {
        msg->id = 0;
        return NGX_HTTP_CRMSYNC_STORE_OK;
    }

    msg->id = sqlite3_last_insert_rowid(st->ingest);

    s = st->stmt[ST_MESSAGE_CONV];
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_str(s, 2, conv);
    ngx_http_crmsync_bind_str(s, 3, location);
    sqlite3_bind_int64(s, 4, now);
    sqlite3_bind_int64(s, 5, msg->at ? msg->at : now);
    sqlite3_bind_int64(s, 6, idle);
    sqlite3_bind_int(s, 7, human ? 1 : 0);

    return ngx_http_crmsync_store_step(st, ST_MESSAGE_CONV);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_conv_human(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, ngx_http_crmsync_str_t *conv,
    ngx_http_crmsync_str_t *location, int64_t now)
{
    sqlite3_stmt  *s;

    s = st->stmt[ST_CONV_HUMAN];
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_str(s, 2, conv);
    ngx_http_crmsync_bind_str(s, 3, location);
    sqlite3_bind_int64(s, 4, now);

    return ngx_http_crmsync_store_step(st, ST_CONV_HUMAN);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_conv_close(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, ngx_http_crmsync_str_t *conv,
    int64_t now, int *unwritten, int *human)
{
    int            rc;
    sqlite3_stmt  *s;

    (void) now;

    *unwritten = 0;
    *human = 0;

    s = st->stmt[ST_CONV_UNWRITTEN];
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_str(s, 2, conv);

    rc = sqlite3_step(s);

    if (rc == SQLITE_ROW) {
        *human = sqlite3_column_int(s, 0) ? 1 : 0;
        *unwritten = sqlite3_column_int(s, 1) ? 1 : 0;
    }

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);

    if (rc != SQLITE_ROW) {
        /* a conversation not kept: nothing to close */
        return ngx_http_crmsync_store_rc(st, st->ingest, rc);
    }

    s = st->stmt[ST_CONV_CLOSE];
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_str(s, 2, conv);

    return ngx_http_crmsync_store_step(st, ST_CONV_CLOSE);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_conv_get(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, ngx_http_crmsync_str_t *conv,
    ngx_http_crmsync_store_conv_t *c, int *found)
{
    int            rc, n;
    sqlite3_stmt  *s;

    memset(c, 0, sizeof(ngx_http_crmsync_store_conv_t));
    *found = 0;

    s = st->stmt[ST_CONV_GET];
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_str(s, 2, conv);

    rc = sqlite3_step(s);

    if (rc == SQLITE_ROW) {
        *found = 1;

        n = sqlite3_column_bytes(s, 0);

        if ((size_t) n < sizeof(c->contact)) {
            if (n) {
                memcpy(c->contact, sqlite3_column_text(s, 0), n);
            }

            c->contact[n] = '\0';
        }

        c->written_upto = sqlite3_column_int64(s, 1);
        c->last_id = sqlite3_column_int64(s, 2);
        c->human = sqlite3_column_int(s, 3);
        c->state = sqlite3_column_int(s, 4);
    }

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);

    return ngx_http_crmsync_store_rc(st, st->drain, rc);
}


/* a due conversation, as the sweep copied it */
typedef struct {
    int64_t                     rowid;
    int64_t                     last_id;
    int                         unwritten;
    char                       *portal;     /* NUL-ended, in one block */
    char                       *conv;
    char                       *location;
    char                       *contact;    /* "" unknown */
} ngx_http_crmsync_sweep_t;


static char *
ngx_http_crmsync_column_dup(sqlite3_stmt *s, int col)
{
    int    n;
    char  *p;

    n = sqlite3_column_bytes(s, col);

    p = malloc(n + 1);
    if (p == NULL) {
        return NULL;
    }

    if (n) {
        memcpy(p, sqlite3_column_text(s, col), n);
    }

    p[n] = '\0';

    return p;
}


static void
ngx_http_crmsync_sweep_free(ngx_http_crmsync_sweep_t *due, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        free(due[i].portal);
        free(due[i].conv);
        free(due[i].location);
        free(due[i].contact);
    }

    free(due);
}


/* the transcript action of a conversation gone quiet */
static ngx_http_crmsync_store_rc_e
ngx_http_crmsync_sweep_job(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_sweep_t *c, ngx_http_crmsync_str_t *payload,
    int64_t now)
{
    int                           n;
    char                          *key;
    size_t                         size;
    int64_t                        id;
    sqlite3_stmt                  *s;
    ngx_http_crmsync_store_rc_e    rc;

    size = strlen(c->portal) + strlen(c->conv) + strlen(c->contact) + 64;

    key = malloc(size);
    if (key == NULL) {
        return NGX_HTTP_CRMSYNC_STORE_ERROR;
    }

    /* a delivery of its own: the conversation is closing from now on,
       only a new message (a later time) lets it be swept again */

    snprintf(key, size, "%s crmsync:idle:%s:%lld", c->portal, c->conv,
             (long long) now);

    s = st->stmt[ST_SWEEP_JOB];
    ngx_http_crmsync_bind_cstr(s, 1, key);
    ngx_http_crmsync_bind_cstr(s, 2, c->location);
    ngx_http_crmsync_bind_cstr(s, 3, c->portal);
    sqlite3_bind_int64(s, 4, now);
    ngx_http_crmsync_bind_str(s, 5, payload);
    ngx_http_crmsync_bind_cstr(s, 6, *c->contact ? c->contact : NULL);
    ngx_http_crmsync_bind_cstr(s, 7, c->conv);

    rc = ngx_http_crmsync_store_step(st, ST_SWEEP_JOB);

    if (rc == NGX_HTTP_CRMSYNC_STORE_OK) {
        id = sqlite3_last_insert_rowid(st->drain);

        n = *c->contact ? snprintf(key, size, "contact:%s", c->contact)
                        : snprintf(key, size, "conv:%s", c->conv);

        s = st->stmt[ST_SWEEP_KEY];
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_text(s, 2, key, n, SQLITE_STATIC);

        rc = ngx_http_crmsync_store_step(st, ST_SWEEP_KEY);
    }

    free(key);

    return rc;
}


/*
 * make() answers 0 with the payload in *out (the store copies it), 1
 * when the conversation's location writes no transcript (any more): its
 * messages are marked written and it is closed, or -1 on an error: the
 * sweep is rolled back.  A due conversation with nothing unwritten is
 * closed.
 */

ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_conv_sweep(ngx_http_crmsync_store_t *st, int64_t now,
    size_t max, ngx_http_crmsync_store_payload_pt make, void *data,
    size_t *n)
{
    int                            rc, own, made, state;
    size_t                         i, found;
    sqlite3_stmt                  *s;
    ngx_http_crmsync_str_t         payload;
    ngx_http_crmsync_sweep_t      *due, *c;
    ngx_http_crmsync_store_rc_e    rv;

    *n = 0;

    if (max == 0) {
        return NGX_HTTP_CRMSYNC_STORE_OK;
    }

    due = calloc(max, sizeof(ngx_http_crmsync_sweep_t));
    if (due == NULL) {
        return NGX_HTTP_CRMSYNC_STORE_ERROR;
    }

    rv = ngx_http_crmsync_store_own_begin(st, &own);
    if (rv != NGX_HTTP_CRMSYNC_STORE_OK) {
        free(due);
        return rv;
    }

    /* copied first: the rows change under the select otherwise */

    s = st->stmt[ST_SWEEP_DUE];
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int64(s, 2, (sqlite3_int64) max);

    found = 0;

    while (found < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        c = &due[found++];

        c->rowid = sqlite3_column_int64(s, 0);
        c->portal = ngx_http_crmsync_column_dup(s, 1);
        c->conv = ngx_http_crmsync_column_dup(s, 2);
        c->location = ngx_http_crmsync_column_dup(s, 3);
        c->contact = ngx_http_crmsync_column_dup(s, 4);
        c->unwritten = sqlite3_column_int(s, 5);
        c->last_id = sqlite3_column_int64(s, 6);

        if (c->portal == NULL || c->conv == NULL || c->location == NULL
            || c->contact == NULL)
        {
            rc = SQLITE_NOMEM;
            break;
        }
    }

    if (found == max && rc == SQLITE_ROW) {
        rc = SQLITE_DONE;
    }

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);

    rv = ngx_http_crmsync_store_rc(st, st->drain, rc);

    for (i = 0; rv == NGX_HTTP_CRMSYNC_STORE_OK && i < found; i++) {
        c = &due[i];
        state = 2;
        made = 1;

        if (c->unwritten) {
            payload.data = NULL;
            payload.len = 0;

            made = make(data, c->conv, c->location, &payload);

            if (made < 0) {
                rv = NGX_HTTP_CRMSYNC_STORE_ERROR;
                break;
            }

            if (made == 0) {
                rv = ngx_http_crmsync_sweep_job(st, c, &payload, now);
                if (rv != NGX_HTTP_CRMSYNC_STORE_OK) {
                    break;
                }

                (*n)++;
                state = 1;
            }
        }

        s = st->stmt[ST_SWEEP_MARK];
        sqlite3_bind_int64(s, 1, c->rowid);
        sqlite3_bind_int(s, 2, state);

        if (c->unwritten && made > 0) {
            sqlite3_bind_int64(s, 3, c->last_id);
        }

        rv = ngx_http_crmsync_store_step(st, ST_SWEEP_MARK);
    }

    ngx_http_crmsync_sweep_free(due, found);

    if (rv != NGX_HTTP_CRMSYNC_STORE_OK) {
        *n = 0;

        if (own) {
            ngx_http_crmsync_store_rollback_drain(st);
        }

        return rv;
    }

    rv = ngx_http_crmsync_store_own_end(st, own, rv);

    if (rv != NGX_HTTP_CRMSYNC_STORE_OK) {
        *n = 0;
    }

    return rv;
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_messages(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, ngx_http_crmsync_str_t *conv,
    int64_t after, int64_t upto, ngx_http_crmsync_store_msg_t **msgs,
    size_t *n)
{
    int                            rc;
    size_t                         size;
    sqlite3_stmt                  *s;
    ngx_http_crmsync_store_msg_t  *all, *more, *m;

    *msgs = NULL;
    *n = 0;

    all = NULL;
    size = 0;

    s = st->stmt[ST_MESSAGES];
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_str(s, 2, conv);
    sqlite3_bind_int64(s, 3, after);
    sqlite3_bind_int64(s, 4, upto ? upto : INT64_MAX);

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == size) {
            size = size ? size * 2 : 16;

            more = realloc(all, size * sizeof(ngx_http_crmsync_store_msg_t));
            if (more == NULL) {
                rc = SQLITE_NOMEM;
                break;
            }

            all = more;
        }

        m = &all[*n];
        m->id = sqlite3_column_int64(s, 0);
        m->at = sqlite3_column_int64(s, 1);
        m->author = sqlite3_column_int(s, 2);
        m->attachments = (unsigned) sqlite3_column_int64(s, 3);

        if (ngx_http_crmsync_column_copy(s, 4, &m->text) != 0) {
            rc = SQLITE_NOMEM;
            break;
        }

        (*n)++;
    }

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);

    if (rc != SQLITE_DONE) {
        ngx_http_crmsync_store_free_msgs(all, *n);
        *n = 0;
        return rc == SQLITE_NOMEM ? NGX_HTTP_CRMSYNC_STORE_ERROR
                                  : ngx_http_crmsync_store_rc(st, st->drain,
                                                              rc);
    }

    if (*n == 0) {
        free(all);
        return NGX_HTTP_CRMSYNC_STORE_OK;
    }

    *msgs = all;

    return NGX_HTTP_CRMSYNC_STORE_OK;
}


void
ngx_http_crmsync_store_free_msgs(ngx_http_crmsync_store_msg_t *msgs,
    size_t n)
{
    size_t  i;

    if (msgs == NULL) {
        return;
    }

    for (i = 0; i < n; i++) {
        free(msgs[i].text.data);
    }

    free(msgs);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_conv_written(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, ngx_http_crmsync_str_t *conv,
    int64_t upto)
{
    sqlite3_stmt  *s;

    s = st->stmt[ST_CONV_WRITTEN];
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_str(s, 2, conv);
    sqlite3_bind_int64(s, 3, upto);

    return ngx_http_crmsync_store_step(st, ST_CONV_WRITTEN);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_object_get(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, const char *key, char *id, size_t size,
    int *confirmed, int64_t *at)
{
    int            rc, n;
    sqlite3_stmt  *s;

    if (size) {
        id[0] = '\0';
    }

    *confirmed = 0;
    *at = 0;

    s = st->stmt[ST_OBJECT_GET];
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_cstr(s, 2, key);

    rc = sqlite3_step(s);

    if (rc == SQLITE_ROW) {
        n = sqlite3_column_bytes(s, 0);

        if ((size_t) n < size) {
            if (n) {
                memcpy(id, sqlite3_column_text(s, 0), n);
            }

            id[n] = '\0';
        }

        *confirmed = sqlite3_column_int(s, 1);
        *at = sqlite3_column_int64(s, 2);
    }

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);

    return ngx_http_crmsync_store_rc(st, st->drain, rc);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_object_put(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, const char *key, const char *type,
    const char *id, int confirmed, int64_t now)
{
    sqlite3_stmt  *s;

    s = st->stmt[ST_OBJECT_PUT];
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_cstr(s, 2, key);
    ngx_http_crmsync_bind_cstr(s, 3, type ? type : "");
    ngx_http_crmsync_bind_cstr(s, 4, (id && *id) ? id : NULL);
    sqlite3_bind_int(s, 5, confirmed ? 1 : 0);
    sqlite3_bind_int64(s, 6, now);

    return ngx_http_crmsync_store_step(st, ST_OBJECT_PUT);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_deal_get(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, const char *contact,
    const char *pipeline, char *deal, size_t size)
{
    int            rc, n;
    sqlite3_stmt  *s;

    if (size) {
        deal[0] = '\0';
    }

    s = st->stmt[ST_DEAL_GET];
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_cstr(s, 2, contact);
    ngx_http_crmsync_bind_cstr(s, 3, pipeline);

    rc = sqlite3_step(s);

    if (rc == SQLITE_ROW) {
        n = sqlite3_column_bytes(s, 0);

        if ((size_t) n < size) {
            if (n) {
                memcpy(deal, sqlite3_column_text(s, 0), n);
            }

            deal[n] = '\0';
        }
    }

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);

    return ngx_http_crmsync_store_rc(st, st->drain, rc);
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_deal_put(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, const char *contact,
    const char *pipeline, const char *deal)
{
    int            i;
    sqlite3_stmt  *s;

    i = (deal == NULL || *deal == '\0') ? ST_DEAL_DROP : ST_DEAL_PUT;

    s = st->stmt[i];
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_cstr(s, 2, contact);
    ngx_http_crmsync_bind_cstr(s, 3, pipeline);

    if (i == ST_DEAL_PUT) {
        ngx_http_crmsync_bind_cstr(s, 4, deal);
    }

    return ngx_http_crmsync_store_step(st, i);
}


/* one integer a statement of the drain connection answers (no row: -1) */
static ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_int(ngx_http_crmsync_store_t *st, int i,
    int64_t *v)
{
    int            rc;
    sqlite3_stmt  *s;

    s = st->stmt[i];

    rc = sqlite3_step(s);
    *v = (rc == SQLITE_ROW) ? sqlite3_column_int64(s, 0) : -1;

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);

    return ngx_http_crmsync_store_rc(st, st->drain, rc);
}


static void
ngx_http_crmsync_bind_flag(sqlite3_stmt *s, ngx_http_crmsync_str_t *portal,
    const char *contact, const char *property)
{
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_cstr(s, 2, contact);
    ngx_http_crmsync_bind_cstr(s, 3, property);
}


/*
 * A flag is open for a contact while any of its conversations is open
 * for the property; the value last written is unknown (changed) until a
 * first write.
 */

ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_flag(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, const char *conv, const char *property,
    const char *contact, int open, int64_t due, int *any, int *changed)
{
    int                           own, i;
    int64_t                       v, last;
    sqlite3_stmt                 *s;
    ngx_http_crmsync_store_rc_e   rc;

    *any = 0;
    *changed = 0;

    rc = ngx_http_crmsync_store_own_begin(st, &own);
    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        return rc;
    }

    i = (open == NGX_HTTP_CRMSYNC_STORE_FLAG_OPEN) ? ST_FLAG_OPEN
        : (open == NGX_HTTP_CRMSYNC_STORE_FLAG_IDLE) ? ST_FLAG_CLOSE_IDLE
        : ST_FLAG_CLOSE;

    s = st->stmt[i];
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_cstr(s, 2, conv);
    ngx_http_crmsync_bind_cstr(s, 3, property);

    if (i == ST_FLAG_OPEN) {
        ngx_http_crmsync_bind_cstr(s, 4, contact);
        sqlite3_bind_int64(s, 5, due > 0 ? due : 0);
    }

    rc = ngx_http_crmsync_store_step(st, i);
    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        goto done;
    }

    ngx_http_crmsync_bind_flag(st->stmt[ST_FLAG_ANY], portal, contact,
                               property);

    rc = ngx_http_crmsync_store_int(st, ST_FLAG_ANY, &v);
    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        goto done;
    }

    *any = (v > 0);

    ngx_http_crmsync_bind_flag(st->stmt[ST_FLAG_VALUE_GET], portal, contact,
                               property);

    rc = ngx_http_crmsync_store_int(st, ST_FLAG_VALUE_GET, &last);
    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        goto done;
    }

    if (last == *any) {
        goto done;
    }

    *changed = 1;

    s = st->stmt[ST_FLAG_VALUE_PUT];
    ngx_http_crmsync_bind_flag(s, portal, contact, property);
    sqlite3_bind_int(s, 4, *any);

    rc = ngx_http_crmsync_store_step(st, ST_FLAG_VALUE_PUT);

done:

    rc = ngx_http_crmsync_store_own_end(st, own, rc);

    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        *any = 0;
        *changed = 0;
    }

    return rc;
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_flag_unwritten(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, const char *contact,
    const char *property)
{
    ngx_http_crmsync_bind_flag(st->stmt[ST_FLAG_VALUE_DROP], portal, contact,
                               property);

    return ngx_http_crmsync_store_step(st, ST_FLAG_VALUE_DROP);
}


/*
 * The flags' sweep in SQL: the actions first (their ids come after the
 * last job's), then their keys, then their flags are marked closing.
 */

ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_flag_sweep(ngx_http_crmsync_store_t *st, int64_t now,
    size_t max, size_t *n)
{
    int                           own;
    int64_t                       last;
    sqlite3_stmt                 *s;
    ngx_http_crmsync_store_rc_e   rc;

    *n = 0;

    if (max == 0) {
        return NGX_HTTP_CRMSYNC_STORE_OK;
    }

    rc = ngx_http_crmsync_store_own_begin(st, &own);
    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        return rc;
    }

    rc = ngx_http_crmsync_store_int(st, ST_FLAG_SWEEP_LAST, &last);
    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        goto done;
    }

    s = st->stmt[ST_FLAG_SWEEP_JOB];
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int64(s, 2, (sqlite3_int64) max);

    rc = ngx_http_crmsync_store_step(st, ST_FLAG_SWEEP_JOB);
    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        goto done;
    }

    *n = sqlite3_changes(st->drain);

    if (*n == 0) {
        goto done;
    }

    sqlite3_bind_int64(st->stmt[ST_FLAG_SWEEP_KEY], 1, last);

    rc = ngx_http_crmsync_store_step(st, ST_FLAG_SWEEP_KEY);
    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        goto done;
    }

    sqlite3_bind_int64(st->stmt[ST_FLAG_SWEEP_MARK], 1, last);

    rc = ngx_http_crmsync_store_step(st, ST_FLAG_SWEEP_MARK);

done:

    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        *n = 0;

        if (own) {
            ngx_http_crmsync_store_rollback_drain(st);
        }

        return rc;
    }

    rc = ngx_http_crmsync_store_own_end(st, own, rc);

    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        *n = 0;
    }

    return rc;
}


ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_turn(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, const char *name, const char *holder,
    int64_t now, int64_t *n)
{
    int                           own, confirmed;
    char                          key[96], id[24];
    int64_t                       at;
    sqlite3_stmt                 *s;
    ngx_http_crmsync_store_rc_e   rc;

    *n = -1;
    key[0] = '\0';

    if (holder) {
        if (snprintf(key, sizeof(key), "turn:%s", holder)
            >= (int) sizeof(key))
        {
            return NGX_HTTP_CRMSYNC_STORE_ERROR;
        }
    }

    rc = ngx_http_crmsync_store_own_begin(st, &own);
    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        return rc;
    }

    if (key[0]) {

        /* the turn this holder took before, kept with the objects */

        rc = ngx_http_crmsync_store_object_get(st, portal, key, id,
                                               sizeof(id), &confirmed, &at);
        if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
            goto done;
        }

        if (id[0]) {
            *n = strtoll(id, NULL, 10);
            goto done;
        }
    }

    s = st->stmt[ST_TURN];
    ngx_http_crmsync_bind_str(s, 1, portal);
    ngx_http_crmsync_bind_cstr(s, 2, name);

    rc = ngx_http_crmsync_store_int(st, ST_TURN, n);

    if (rc == NGX_HTTP_CRMSYNC_STORE_OK && *n < 0) {
        /* RETURNING answers a row for the upsert: never here */
        rc = NGX_HTTP_CRMSYNC_STORE_ERROR;
    }

    if (rc != NGX_HTTP_CRMSYNC_STORE_OK || key[0] == '\0') {
        goto done;
    }

    snprintf(id, sizeof(id), "%lld", (long long) *n);

    rc = ngx_http_crmsync_store_object_put(st, portal, key, "turn", id, 1,
                                           now);

done:

    rc = ngx_http_crmsync_store_own_end(st, own, rc);

    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        *n = -1;
    }

    return rc;
}
