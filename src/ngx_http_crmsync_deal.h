
/*
 * Copyright (C) crmsync authors
 *
 * Deals and owners (doc/conversations.md), the parts without I/O: a
 * portal's deal pipelines read from GET /crm/v3/pipelines/deals, the
 * names crmsync_deal gives resolved in them, the owners read from
 * GET /crm/v3/owners, and the lifecycle stages' order.  Pure: no nginx
 * header; jansson reads HubSpot's answers.
 */


#ifndef _NGX_HTTP_CRMSYNC_DEAL_H_INCLUDED_
#define _NGX_HTTP_CRMSYNC_DEAL_H_INCLUDED_


#include "ngx_http_crmsync_types.h"


typedef struct {
    char                       *id;
    char                       *label;
    long                        order;      /* displayOrder */
    unsigned                    closed:1;   /* metadata.isClosed "true" */
} ngx_http_crmsync_stage_t;


typedef struct {
    char                       *id;
    char                       *label;
    ngx_http_crmsync_stage_t   *stages;
    size_t                      nstages;
} ngx_http_crmsync_pipeline_t;


/* a portal's deal pipelines; refs: its holders (the caller's to keep) */
typedef struct {
    ngx_http_crmsync_pipeline_t  *list;
    size_t                        n;
    unsigned                      refs;
} ngx_http_crmsync_pipelines_t;


/*
 * The pipelines of an answer of GET /crm/v3/pipelines/deals
 * ({"results":[{"id","label","stages":[{"id","label","displayOrder",
 * "metadata":{"isClosed":"true"}}]}]}), archived ones and archived stages
 * left out, each pipeline's stages in displayOrder; malloc()ed, refs 1.
 * NULL: not such an answer, or no memory.
 */
ngx_http_crmsync_pipelines_t *ngx_http_crmsync_pipelines_parse(
    const u_char *answer, size_t len);
void ngx_http_crmsync_pipelines_free(ngx_http_crmsync_pipelines_t *p);

/* by id, else by label (exactly, then ignoring case); NULL: none */
ngx_http_crmsync_pipeline_t *ngx_http_crmsync_pipeline_find(
    ngx_http_crmsync_pipelines_t *p, const char *name);
ngx_http_crmsync_stage_t *ngx_http_crmsync_stage_find(
    ngx_http_crmsync_pipeline_t *pl, const char *name);
/* by id only: the stage a deal is in */
ngx_http_crmsync_stage_t *ngx_http_crmsync_stage_by_id(
    ngx_http_crmsync_pipeline_t *pl, const char *id);

/*
 * The valid names, for the error on an unknown one:
 * "\"Sales Pipeline\" (default), \"Support\" (support)"; NUL-ended,
 * shortened with ", ..." where it would pass size.  Returns buf.
 */
char *ngx_http_crmsync_pipelines_names(ngx_http_crmsync_pipelines_t *p,
    char *buf, size_t size);
char *ngx_http_crmsync_stages_names(ngx_http_crmsync_pipeline_t *pl,
    char *buf, size_t size);


/* a portal's owners: email (lower case) -> owner id */
typedef struct {
    char                       *email;
    char                       *id;
} ngx_http_crmsync_owner_t;

typedef struct {
    ngx_http_crmsync_owner_t   *list;
    size_t                      n;
    size_t                      size;
} ngx_http_crmsync_owners_t;

/*
 * Adds the owners of one page of GET /crm/v3/owners ({"results":[{"id",
 * "email"}],"paging":{"next":{"after":"N"}}}) to o (zeroed at first);
 * after gets paging.next.after, "" on the last page.  0, or -1: not such
 * an answer, after too long, or no memory (o keeps what it had).
 */
int ngx_http_crmsync_owners_add(ngx_http_crmsync_owners_t *o,
    const u_char *answer, size_t len, char *after, size_t size);
/* the owner id of an email (any case), or NULL */
const char *ngx_http_crmsync_owners_find(ngx_http_crmsync_owners_t *o,
    const char *email);
/* frees the owners o holds and zeroes it */
void ngx_http_crmsync_owners_clear(ngx_http_crmsync_owners_t *o);


/*
 * Lifecycle stages (doc/matching.md): subscriber, lead,
 * marketingqualifiedlead, salesqualifiedlead, opportunity, customer,
 * evangelist.  1 when stage should be written over current (NULL or ""
 * none): a later stage of that order, or any stage where there is none;
 * "other" and custom stages only where there is none.
 */
int ngx_http_crmsync_lifecycle_forward(const char *current,
    const char *stage);


#endif /* _NGX_HTTP_CRMSYNC_DEAL_H_INCLUDED_ */
