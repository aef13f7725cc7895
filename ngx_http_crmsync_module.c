
/*
 * Copyright (C) crmsync authors
 *
 * crmsync: chat platform webhooks to HubSpot CRM, at the nginx edge.
 * This file holds the directives, the configuration and the module
 * hooks; the work lives in src/.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_crmsync_module.h"
#include "ngx_http_crmsync_verify.h"
#include "ngx_http_crmsync_phone.h"
#include "ngx_http_crmsync_store.h"
#include "ngx_http_crmsync_match.h"


#define NGX_HTTP_CRMSYNC_SECRET_FILE_MAX  65536
#define NGX_HTTP_CRMSYNC_RATE_MAX         100000
#define NGX_HTTP_CRMSYNC_IDLE_DEFAULT     (30 * 60 * 1000)
#define NGX_HTTP_CRMSYNC_AUTHORS_DEFAULT                                      \
    ((1 << NGX_HTTP_CRMSYNC_AUTHOR_CONTACT)                                   \
     | (1 << NGX_HTTP_CRMSYNC_AUTHOR_AGENT))


static void *ngx_http_crmsync_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_crmsync_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_crmsync_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_crmsync_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_crmsync_webhook(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_crmsync_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_crmsync_secret_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_crmsync_default_region(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_crmsync_check_window(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_crmsync_check_positive(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_crmsync_merge_store(ngx_conf_t *cf,
    ngx_http_crmsync_loc_conf_t *conf);
static char *ngx_http_crmsync_store_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_crmsync_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_crmsync_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static char *ngx_http_crmsync_hubspot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_crmsync_set(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_crmsync_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_crmsync_match(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_crmsync_id_property(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_crmsync_create(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_crmsync_lifecycle(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_crmsync_lookup_properties(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_array_t *ngx_http_crmsync_default_lookup(ngx_conf_t *cf);
static char *ngx_http_crmsync_merge_match(ngx_conf_t *cf,
    ngx_http_crmsync_loc_conf_t *conf);
static char *ngx_http_crmsync_merge_props(ngx_conf_t *cf,
    ngx_http_crmsync_main_conf_t *mcf, ngx_http_crmsync_loc_conf_t *conf);
static char *ngx_http_crmsync_lookup(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_crmsync_transcript(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_crmsync_transcript_authors(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_crmsync_transcript_when(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_crmsync_deal(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_crmsync_lifecycle_on_deal(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_crmsync_owner_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_crmsync_task(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_crmsync_flag(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_crmsync_merge_actions(ngx_conf_t *cf,
    ngx_http_crmsync_loc_conf_t *conf);
static char *ngx_http_crmsync_read_file(ngx_conf_t *cf, ngx_str_t *name,
    const char *what, ngx_str_t *content);
static ngx_int_t ngx_http_crmsync_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_crmsync_store_owner(ngx_cycle_t *cycle,
    ngx_str_t *store);
static ngx_int_t ngx_http_crmsync_init_process(ngx_cycle_t *cycle);
static void ngx_http_crmsync_exit_process(ngx_cycle_t *cycle);
static void ngx_http_crmsync_exit_master(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_crmsync_init(ngx_conf_t *cf);


static ngx_conf_enum_t  ngx_http_crmsync_log_levels[] = {
    { ngx_string("info"), NGX_LOG_INFO },
    { ngx_string("notice"), NGX_LOG_NOTICE },
    { ngx_string("warn"), NGX_LOG_WARN },
    { ngx_string("error"), NGX_LOG_ERR },
    { ngx_null_string, 0 }
};


/* crmsync_create: the order of ngx_http_crmsync_create_e */

static ngx_conf_enum_t  ngx_http_crmsync_create_modes[] = {
    { ngx_string("identified"), NGX_HTTP_CRMSYNC_CREATE_IDENTIFIED },
    { ngx_string("with_email"), NGX_HTTP_CRMSYNC_CREATE_WITH_EMAIL },
    { ngx_string("always"), NGX_HTTP_CRMSYNC_CREATE_ALWAYS },
    { ngx_string("off"), NGX_HTTP_CRMSYNC_CREATE_OFF },
    { ngx_null_string, 0 }
};


/*
 * The identifiers as crmsync_match names them, in the order of
 * ngx_http_crmsync_id_kind_e (match.c's ngx_http_crmsync_id_kind_names
 * holds the same; this copy keeps the configuration free of match.c).
 */

static ngx_str_t  ngx_http_crmsync_id_names[] = {
    ngx_string("crm_id"),
    ngx_string("email"),
    ngx_string("phone"),
    ngx_string("whatsapp_id"),
    ngx_string("telegram_id"),
    ngx_string("telegram_username"),
    ngx_string("messenger_id"),
    ngx_string("instagram_id"),
    ngx_string("platform_id")
};


#define NGX_HTTP_CRMSYNC_RULES_MAX  NGX_HTTP_CRMSYNC_ID_MAX

/*
 * crmsync_match's defaults per provider (README, "Matching"): the phone
 * first where the channel is a phone number, the channel's own id first
 * where it has one and no phone, email first on email-first platforms;
 * crm_id, first, where the platform's payload can carry a HubSpot id
 * (Intercom and Standard Webhooks read one; respond.io's HubSpot
 * integration keeps one), nowhere else.
 */

#define ID(k)  NGX_HTTP_CRMSYNC_ID_##k
#define END    NGX_HTTP_CRMSYNC_ID_MAX

static ngx_uint_t  ngx_http_crmsync_default_rules
    [NGX_HTTP_CRMSYNC_PROVIDER_MAX][NGX_HTTP_CRMSYNC_RULES_MAX + 1] =
{
    /* none */      { END },
    /* whatsapp */  { ID(PHONE), ID(WHATSAPP_ID), ID(EMAIL), END },
    /* messenger */ { ID(MESSENGER_ID), ID(EMAIL), ID(PHONE), END },
    /* instagram */ { ID(INSTAGRAM_ID), ID(EMAIL), ID(PHONE), END },
    /* intercom */  { ID(CRM_ID), ID(EMAIL), ID(PHONE), ID(PLATFORM_ID), END },
    /* telegram */  { ID(TELEGRAM_ID), ID(TELEGRAM_USERNAME), ID(PHONE),
                      ID(EMAIL), END },
    /* twilio */    { ID(PHONE), ID(WHATSAPP_ID), ID(EMAIL), END },
    /* respondio */ { ID(CRM_ID), ID(EMAIL), ID(PHONE), ID(PLATFORM_ID), END },
    /* standard */  { ID(CRM_ID), ID(EMAIL), ID(PHONE), ID(PLATFORM_ID), END },
    /* hubspot */   { END }
};

#undef ID
#undef END


/* HubSpot's unique value properties: at most 10 per object */
#define NGX_HTTP_CRMSYNC_ID_PROPS_MAX  10


static ngx_conf_post_t  ngx_http_crmsync_window_post = {
    ngx_http_crmsync_check_window
};


/* ngx_conf_check_num_bounds()'s message would not name the directive */

static ngx_conf_post_t  ngx_http_crmsync_positive_post = {
    ngx_http_crmsync_check_positive
};


static ngx_command_t  ngx_http_crmsync_commands[] = {

    { ngx_string("crmsync_webhook"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_crmsync_webhook,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_secret"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_crmsync_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_secret_file"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_crmsync_secret_file,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_verify_token"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_crmsync_loc_conf_t, verify_token),
      NULL },

    { ngx_string("crmsync_public_url"),
      NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_crmsync_loc_conf_t, public_url),
      NULL },

    { ngx_string("crmsync_replay_window"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_crmsync_loc_conf_t, replay_window),
      &ngx_http_crmsync_window_post },

    { ngx_string("crmsync_log_level"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_crmsync_loc_conf_t, log_level),
      &ngx_http_crmsync_log_levels },

    { ngx_string("crmsync_default_region"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_crmsync_default_region,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_store"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE123,
      ngx_http_crmsync_store_conf,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_crmsync_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_hubspot"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_crmsync_hubspot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_retry_for"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_crmsync_main_conf_t, retry_for),
      &ngx_http_crmsync_positive_post },

    { ngx_string("crmsync_audit_for"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_crmsync_main_conf_t, audit_for),
      &ngx_http_crmsync_positive_post },

    { ngx_string("crmsync_batch_linger"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_crmsync_main_conf_t, linger),
      NULL },

    { ngx_string("crmsync_index_lag"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_crmsync_main_conf_t, index_lag),
      &ngx_http_crmsync_positive_post },

    { ngx_string("crmsync_portal"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_crmsync_loc_conf_t, portal_name),
      NULL },

    { ngx_string("crmsync_set"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE23,
      ngx_http_crmsync_set,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_crmsync_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_match"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_crmsync_match,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_id_property"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_crmsync_id_property,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_create"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_crmsync_create,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_lifecycle"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_crmsync_lifecycle,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_filter"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_crmsync_loc_conf_t, filter),
      NULL },

    { ngx_string("crmsync_dry_run"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_crmsync_loc_conf_t, dry_run),
      NULL },

    { ngx_string("crmsync_lookup_properties"),
      NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_crmsync_lookup_properties,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_lookup"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_crmsync_lookup,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_transcript"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_crmsync_transcript,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_transcript_idle"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_crmsync_loc_conf_t, transcript_idle),
      &ngx_http_crmsync_positive_post },

    { ngx_string("crmsync_transcript_authors"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_crmsync_transcript_authors,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_transcript_when"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_crmsync_transcript_when,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_deal"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_crmsync_deal,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_lifecycle_on_deal"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_crmsync_lifecycle_on_deal,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_owner"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_crmsync_owner_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_task"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_crmsync_task,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("crmsync_flag"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE23,
      ngx_http_crmsync_flag,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_crmsync_module_ctx = {
    ngx_http_crmsync_add_variables,        /* preconfiguration */
    ngx_http_crmsync_init,                 /* postconfiguration */

    ngx_http_crmsync_create_main_conf,     /* create main configuration */
    ngx_http_crmsync_init_main_conf,       /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_crmsync_create_loc_conf,      /* create location configuration */
    ngx_http_crmsync_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_crmsync_module = {
    NGX_MODULE_V1,
    &ngx_http_crmsync_module_ctx,          /* module context */
    ngx_http_crmsync_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_crmsync_init_module,          /* init module */
    ngx_http_crmsync_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_crmsync_exit_process,         /* exit process */
    ngx_http_crmsync_exit_master,          /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_crmsync_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_crmsync_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_crmsync_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->provider = NGX_HTTP_CRMSYNC_PROVIDER_NONE;
     *     conf->verify_token = { 0, NULL };
     *     conf->region = "";
     *     conf->clcf = NULL;
     *     conf->portal_name = { 0, NULL };
     *     conf->portal = NULL;
     *     conf->sh = NULL;
     */

    conf->secrets = NGX_CONF_UNSET_PTR;
    conf->public_url = NGX_CONF_UNSET_PTR;
    conf->replay_window = NGX_CONF_UNSET;
    conf->log_level = NGX_CONF_UNSET_UINT;
    conf->region_set = NGX_CONF_UNSET;
    conf->sets = NGX_CONF_UNSET_PTR;
    conf->match = NGX_CONF_UNSET_PTR;
    conf->create = NGX_CONF_UNSET_UINT;
    conf->filter = NGX_CONF_UNSET_PTR;
    conf->dry_run = NGX_CONF_UNSET;
    conf->id_props = NGX_CONF_UNSET_PTR;
    conf->lookup_properties = NGX_CONF_UNSET_PTR;
    conf->transcript = NGX_CONF_UNSET_UINT;
    conf->transcript_idle = NGX_CONF_UNSET_MSEC;
    conf->transcript_authors = NGX_CONF_UNSET_UINT;
    conf->transcript_when = NGX_CONF_UNSET_UINT;
    conf->deal = NGX_CONF_UNSET_PTR;
    conf->owner_assignee = NGX_CONF_UNSET;
    conf->owner_rr = NGX_CONF_UNSET_PTR;
    conf->task = NGX_CONF_UNSET_PTR;
    conf->flags = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_crmsync_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_crmsync_loc_conf_t *prev = parent;
    ngx_http_crmsync_loc_conf_t *conf = child;

    const char                *err;
    ngx_str_t                 *secret;
    ngx_uint_t                 i;
    ngx_http_crmsync_str_t     s;

    ngx_conf_merge_ptr_value(conf->secrets, prev->secrets, NULL);
    ngx_conf_merge_str_value(conf->verify_token, prev->verify_token, "");
    ngx_conf_merge_ptr_value(conf->public_url, prev->public_url, NULL);
    ngx_conf_merge_sec_value(conf->replay_window, prev->replay_window,
                             NGX_HTTP_CRMSYNC_VERIFY_WINDOW);
    ngx_conf_merge_uint_value(conf->log_level, prev->log_level,
                              NGX_LOG_WARN);
    ngx_conf_merge_str_value(conf->portal_name, prev->portal_name, "");
    ngx_conf_merge_ptr_value(conf->sets, prev->sets, NULL);
    ngx_conf_merge_ptr_value(conf->match, prev->match, NULL);
    ngx_conf_merge_uint_value(conf->create, prev->create,
                              NGX_HTTP_CRMSYNC_CREATE_IDENTIFIED);
    ngx_conf_merge_str_value(conf->lifecycle, prev->lifecycle, "lead");
    ngx_conf_merge_ptr_value(conf->filter, prev->filter, NULL);
    ngx_conf_merge_value(conf->dry_run, prev->dry_run, 0);
    ngx_conf_merge_ptr_value(conf->id_props, prev->id_props, NULL);
    ngx_conf_merge_ptr_value(conf->lookup_properties,
                             prev->lookup_properties, NULL);
    ngx_conf_merge_uint_value(conf->transcript, prev->transcript,
                              NGX_HTTP_CRMSYNC_TRANSCRIPT_OFF);
    ngx_conf_merge_msec_value(conf->transcript_idle, prev->transcript_idle,
                              NGX_HTTP_CRMSYNC_IDLE_DEFAULT);
    ngx_conf_merge_uint_value(conf->transcript_authors,
                              prev->transcript_authors,
                              NGX_HTTP_CRMSYNC_AUTHORS_DEFAULT);
    ngx_conf_merge_uint_value(conf->transcript_when, prev->transcript_when,
                              NGX_HTTP_CRMSYNC_WHEN_CLOSED);
    ngx_conf_merge_ptr_value(conf->deal, prev->deal, NULL);
    ngx_conf_merge_str_value(conf->lifecycle_on_deal,
                             prev->lifecycle_on_deal, "");
    ngx_conf_merge_value(conf->owner_assignee, prev->owner_assignee, 0);
    ngx_conf_merge_ptr_value(conf->owner_rr, prev->owner_rr, NULL);
    ngx_conf_merge_ptr_value(conf->task, prev->task, NULL);
    ngx_conf_merge_ptr_value(conf->flags, prev->flags, NULL);

    if (conf->lookup_properties == NULL) {
        conf->lookup_properties = ngx_http_crmsync_default_lookup(cf);
        if (conf->lookup_properties == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (conf->region_set == NGX_CONF_UNSET) {
        conf->region_set = prev->region_set;
        ngx_memcpy(conf->region, prev->region, sizeof(conf->region));
    }

    if (conf->provider == NGX_HTTP_CRMSYNC_PROVIDER_NONE) {
        return NGX_CONF_OK;
    }

    /* a webhook endpoint never runs unverified */

    if (conf->secrets == NULL || conf->secrets->nelts == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"crmsync_webhook %s\" in location \"%V\" needs "
                      "\"crmsync_secret\" or \"crmsync_secret_file\"",
                      ngx_http_crmsync_provider_names[conf->provider],
                      &conf->clcf->name);
        return NGX_CONF_ERROR;
    }

    secret = conf->secrets->elts;

    for (i = 0; i < conf->secrets->nelts; i++) {
        s.data = secret[i].data;
        s.len = secret[i].len;

        err = ngx_http_crmsync_verify_secret_error(conf->provider, &s);

        if (err != NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"crmsync_secret\" #%ui of location \"%V\" %s "
                          "for provider \"%s\"", i + 1, &conf->clcf->name,
                          err,
                          ngx_http_crmsync_provider_names[conf->provider]);
            return NGX_CONF_ERROR;
        }
    }


    return ngx_http_crmsync_merge_store(cf, conf);
}


static char *
ngx_http_crmsync_webhook(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    u_char                     *p, *last;
    ngx_str_t                  *value;
    ngx_uint_t                  i;
    ngx_http_core_loc_conf_t   *clcf;
    u_char                      names[256];

    if (cslcf->provider != NGX_HTTP_CRMSYNC_PROVIDER_NONE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    cslcf->provider = ngx_http_crmsync_provider_by_name(value[1].data,
                                                        value[1].len);

    if (cslcf->provider == NGX_HTTP_CRMSYNC_PROVIDER_NONE) {
        p = names;
        last = names + sizeof(names);

        for (i = 1; i < NGX_HTTP_CRMSYNC_PROVIDER_MAX; i++) {
            p = ngx_slprintf(p, last, "%s%s", i == 1 ? "" : ", ",
                             ngx_http_crmsync_provider_names[i]);
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown provider \"%V\" in \"crmsync_webhook\" "
                           "directive, valid providers are: %*s",
                           &value[1], p - names, names);
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_crmsync_webhook_handler;

    cslcf->clcf = clcf;

    return NGX_CONF_OK;
}


static ngx_array_t *
ngx_http_crmsync_secrets(ngx_conf_t *cf, ngx_http_crmsync_loc_conf_t *cslcf)
{
    if (cslcf->secrets == NGX_CONF_UNSET_PTR) {
        cslcf->secrets = ngx_array_create(cf->pool, 2, sizeof(ngx_str_t));
    }

    return cslcf->secrets;
}


static char *
ngx_http_crmsync_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    ngx_str_t    *value, *s;
    ngx_array_t  *a;

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "takes a non-empty secret";
    }

    a = ngx_http_crmsync_secrets(cf, cslcf);
    if (a == NULL) {
        return NGX_CONF_ERROR;
    }

    s = ngx_array_push(a);
    if (s == NULL) {
        return NGX_CONF_ERROR;
    }

    *s = value[1];

    return NGX_CONF_OK;
}


/*
 * Reads a whole secret-bearing file (a secret file, a token file) into
 * the configuration's pool: a regular file of at most 64K; one readable
 * by anyone is accepted with a warning.  The file is read with the rest of
 * the configuration, so a reload picks up a rotated secret.
 */

static char *
ngx_http_crmsync_read_file(ngx_conf_t *cf, ngx_str_t *name, const char *what,
    ngx_str_t *content)
{
    u_char          *p;
    ssize_t          n;
    ngx_str_t       *directive;
    ngx_file_t       file;
    ngx_file_info_t  fi;

    if (ngx_conf_full_name(cf->cycle, name, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = *name;
    file.log = cf->log;

    /* the directive, for the messages: crmsync_hubspot or
       crmsync_secret_file */
    directive = &((ngx_str_t *) cf->args->elts)[0];

    file.fd = ngx_open_file(name->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "cannot read the %s file of \"%V\": "
                           ngx_open_file_n " \"%V\" failed",
                           what, directive, name);
        return NGX_CONF_ERROR;
    }

    p = NULL;
    n = NGX_ERROR;

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "cannot read the %s file of \"%V\": "
                           ngx_fd_info_n " \"%V\" failed",
                           what, directive, name);
        goto done;
    }

    if (!ngx_is_file(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s file \"%V\" of \"%V\" is not a regular "
                           "file", what, name, directive);
        goto done;
    }

    if (ngx_file_size(&fi) > NGX_HTTP_CRMSYNC_SECRET_FILE_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s file \"%V\" of \"%V\" is over %d bytes",
                           what, name, directive,
                           NGX_HTTP_CRMSYNC_SECRET_FILE_MAX);
        goto done;
    }

    if (ngx_file_access(&fi) & 0004) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "%s file \"%V\" of \"%V\" is readable by "
                           "anyone", what, name, directive);
    }

    p = ngx_pnalloc(cf->pool, (size_t) ngx_file_size(&fi) + 1);
    if (p == NULL) {
        goto done;
    }

    n = ngx_read_file(&file, p, (size_t) ngx_file_size(&fi), 0);

done:

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", name);
    }

    if (n == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    content->data = p;
    content->len = n;

    return NGX_CONF_OK;
}


/*
 * The next line of a secret-bearing file that holds something: blank
 * lines and lines starting with '#' are skipped, spaces around the value
 * trimmed.  NGX_DECLINED at the end.
 */

static ngx_int_t
ngx_http_crmsync_next_line(ngx_str_t *content, ngx_str_t *line)
{
    u_char  *p, *last, *start, *end;

    p = content->data;
    last = p + content->len;

    while (p < last) {
        start = p;

        while (p < last && *p != LF) {
            p++;
        }

        end = p;

        if (p < last) {
            p++;
        }

        while (start < end && (*start == ' ' || *start == '\t')) {
            start++;
        }

        while (end > start
               && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == CR))
        {
            end--;
        }

        if (start == end || *start == '#') {
            continue;
        }

        line->data = start;
        line->len = end - start;

        content->len = last - p;
        content->data = p;

        return NGX_OK;
    }

    return NGX_DECLINED;
}


/* one secret a line (see ngx_http_crmsync_next_line) */

static char *
ngx_http_crmsync_secret_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    ngx_str_t    *value, *s, content, line;
    ngx_uint_t    count;
    ngx_array_t  *a;

    value = cf->args->elts;

    if (ngx_http_crmsync_read_file(cf, &value[1], "secret", &content)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    a = ngx_http_crmsync_secrets(cf, cslcf);
    if (a == NULL) {
        return NGX_CONF_ERROR;
    }

    count = 0;

    while (ngx_http_crmsync_next_line(&content, &line) == NGX_OK) {
        s = ngx_array_push(a);
        if (s == NULL) {
            return NGX_CONF_ERROR;
        }

        *s = line;
        count++;
    }

    if (count == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "secret file \"%V\" of \"crmsync_secret_file\" "
                           "holds no secret", &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_crmsync_default_region(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    u_char      region[NGX_HTTP_CRMSYNC_REGION_LEN + 1];
    ngx_str_t  *value;

    if (cslcf->region_set != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len != NGX_HTTP_CRMSYNC_REGION_LEN
        || ngx_http_crmsync_phone_init() != 0)
    {
        goto invalid;
    }

    region[0] = ngx_toupper(value[1].data[0]);
    region[1] = ngx_toupper(value[1].data[1]);
    region[2] = '\0';

    if (!ngx_http_crmsync_phone_region_known((char *) region, 2)) {
        goto invalid;
    }

    ngx_memcpy(cslcf->region, region, sizeof(region));
    cslcf->region_set = 1;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid region \"%V\" in \"crmsync_default_region\" "
                       "directive: an ISO 3166 code with a calling code is "
                       "expected, such as US, GB, DE or BR", &value[1]);
    return NGX_CONF_ERROR;
}


static void *
ngx_http_crmsync_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_crmsync_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_crmsync_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mcf->store = { 0, NULL };
     *     mcf->zone = NULL;
     */

    mcf->sync_full = NGX_CONF_UNSET;
    mcf->keep_deliveries = NGX_CONF_UNSET_MSEC;
    mcf->retry_for = NGX_CONF_UNSET_MSEC;
    mcf->audit_for = NGX_CONF_UNSET_MSEC;
    mcf->linger = NGX_CONF_UNSET_MSEC;
    mcf->index_lag = NGX_CONF_UNSET_MSEC;

    if (ngx_array_init(&mcf->portals, cf->pool, 2,
                       sizeof(ngx_http_crmsync_portal_t))
        != NGX_OK
        || ngx_array_init(&mcf->locations, cf->pool, 4,
                          sizeof(ngx_http_crmsync_loc_conf_t *))
           != NGX_OK
        || ngx_array_init(&mcf->props, cf->pool, 4,
                          sizeof(ngx_http_crmsync_portal_prop_t))
           != NGX_OK)
    {
        return NULL;
    }

    return mcf;
}


static char *
ngx_http_crmsync_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_crmsync_main_conf_t *mcf = conf;

    ngx_conf_init_value(mcf->sync_full, 1);
    ngx_conf_init_msec_value(mcf->keep_deliveries, 3 * 86400 * 1000);
    ngx_conf_init_msec_value(mcf->retry_for, 3 * 86400 * 1000);
    ngx_conf_init_msec_value(mcf->audit_for, 7 * 86400 * 1000);
    ngx_conf_init_msec_value(mcf->linger, 200);
    ngx_conf_init_msec_value(mcf->index_lag, 60000);

    if (mcf->store.len == 0) {
        if (mcf->portals.nelts) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"crmsync_hubspot\" needs \"crmsync_store\": "
                          "events are synced from the durable store");
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (mcf->zone == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"crmsync_store\" needs \"crmsync_zone\": the "
                      "workers share rate budgets and counters there");
        return NGX_CONF_ERROR;
    }

    if (mcf->portals.nelts == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"crmsync_store\" needs a HubSpot portal: "
                      "add \"crmsync_hubspot token_file=...\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_http_crmsync_portal_t *
ngx_http_crmsync_portal_by_name(ngx_http_crmsync_main_conf_t *mcf,
    ngx_str_t *name)
{
    ngx_uint_t                  i;
    ngx_http_crmsync_portal_t  *portal;

    portal = mcf->portals.elts;

    for (i = 0; i < mcf->portals.nelts; i++) {
        if (portal[i].name.len == name->len
            && ngx_strncmp(portal[i].name.data, name->data, name->len) == 0)
        {
            return &portal[i];
        }
    }

    return NULL;
}


/*
 * The location's side of the store: its portal and its counters; called
 * from the location's merge for a webhook endpoint.
 */

static char *
ngx_http_crmsync_merge_store(ngx_conf_t *cf, ngx_http_crmsync_loc_conf_t *conf)
{
    const char                     *name;
    ngx_http_crmsync_loc_conf_t   **loc;
    ngx_http_crmsync_main_conf_t   *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_crmsync_module);

    if (mcf->store.len == 0) {

        /* a directive that changes what is synced, with nothing to sync */

        if (conf->portal_name.len) {
            name = "crmsync_portal";

        } else if (conf->sets) {
            name = "crmsync_set";

        } else if (conf->match) {
            name = "crmsync_match";

        } else if (conf->id_props) {
            name = "crmsync_id_property";

        } else if (conf->create != NGX_HTTP_CRMSYNC_CREATE_IDENTIFIED) {
            name = "crmsync_create";

        } else if (conf->lifecycle.len != 4
                   || ngx_strncmp(conf->lifecycle.data, "lead", 4) != 0)
        {
            name = "crmsync_lifecycle";

        } else if (conf->filter) {
            name = "crmsync_filter";

        } else if (conf->dry_run) {
            name = "crmsync_dry_run";

        } else if (conf->transcript != NGX_HTTP_CRMSYNC_TRANSCRIPT_OFF) {
            name = "crmsync_transcript";

        } else if (conf->transcript_idle != NGX_HTTP_CRMSYNC_IDLE_DEFAULT) {
            name = "crmsync_transcript_idle";

        } else if (conf->transcript_authors
                   != NGX_HTTP_CRMSYNC_AUTHORS_DEFAULT)
        {
            name = "crmsync_transcript_authors";

        } else if (conf->transcript_when != NGX_HTTP_CRMSYNC_WHEN_CLOSED) {
            name = "crmsync_transcript_when";

        } else if (conf->deal) {
            name = "crmsync_deal";

        } else if (conf->lifecycle_on_deal.len) {
            name = "crmsync_lifecycle_on_deal";

        } else if (conf->owner_assignee || conf->owner_rr) {
            name = "crmsync_owner";

        } else if (conf->task) {
            name = "crmsync_task";

        } else if (conf->flags) {
            name = "crmsync_flag";

        } else {
            name = NULL;
        }

        if (name) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"%s\" in location \"%V\" needs \"crmsync_store\"",
                          name, &conf->clcf->name);
            return NGX_CONF_ERROR;
        }

        ngx_log_error(NGX_LOG_NOTICE, cf->log, 0,
                      "\"crmsync_webhook %s\" in location \"%V\" has no "
                      "\"crmsync_store\": deliveries are verified and "
                      "answered, but not stored nor synced",
                      ngx_http_crmsync_provider_names[conf->provider],
                      &conf->clcf->name);
        return NGX_CONF_OK;
    }

    conf->portal = ngx_http_crmsync_portal_by_name(mcf, &conf->portal_name);

    if (conf->portal == NULL) {
        if (conf->portal_name.len) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "unknown portal \"%V\" in \"crmsync_portal\" of "
                          "location \"%V\": no \"crmsync_hubspot name=%V\"",
                          &conf->portal_name, &conf->clcf->name,
                          &conf->portal_name);

        } else {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "location \"%V\" has no portal: add "
                          "\"crmsync_portal <name>;\" or a \"crmsync_hubspot\""
                          " without name=", &conf->clcf->name);
        }

        return NGX_CONF_ERROR;
    }

    loc = ngx_array_push(&mcf->locations);
    if (loc == NULL) {
        return NGX_CONF_ERROR;
    }

    *loc = conf;

    if (ngx_http_crmsync_merge_props(cf, mcf, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_crmsync_merge_actions(cf, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_crmsync_merge_match(cf, conf);
}


/* crmsync_store <path> [sync=normal|full] [keep_deliveries=<time>] */

static char *
ngx_http_crmsync_store_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_main_conf_t *mcf = conf;

    ngx_str_t   *value, v;
    ngx_uint_t   i;

    if (mcf->store.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "takes a path";
    }

    mcf->store = value[1];

    if (ngx_conf_full_name(cf->cycle, &mcf->store, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "sync=full") == 0) {
            mcf->sync_full = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "sync=normal") == 0) {
            mcf->sync_full = 0;
            continue;
        }

        if (ngx_strncmp(value[i].data, "keep_deliveries=", 16) == 0) {
            v.data = value[i].data + 16;
            v.len = value[i].len - 16;

            mcf->keep_deliveries = ngx_parse_time(&v, 0);

            if (mcf->keep_deliveries == (ngx_msec_t) NGX_ERROR
                || mcf->keep_deliveries == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" in \"crmsync_store\": a "
                                   "time such as 3d is expected", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"crmsync_store\": "
                           "sync=full, sync=normal or keep_deliveries= is "
                           "expected", &value[i]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* crmsync_zone <name>:<size> */

static char *
ngx_http_crmsync_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_main_conf_t *mcf = conf;

    u_char                       *p;
    ssize_t                       size;
    ngx_str_t                    *value, name, s;
    ngx_http_crmsync_zone_ctx_t  *ctx;

    if (mcf->zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    p = (u_char *) ngx_strchr(value[1].data, ':');

    if (p == NULL || p == value[1].data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\" in \"crmsync_zone\": "
                           "<name>:<size> is expected, such as crmsync:1m",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    name.data = value[1].data;
    name.len = p - value[1].data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\" in \"crmsync_zone\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (16 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" of \"crmsync_zone\" is too small: "
                           "at least %uzk is needed", &name,
                           16 * ngx_pagesize / 1024);
        return NGX_CONF_ERROR;
    }

    ctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_crmsync_zone_ctx_t));
    if (ctx == NULL) {
        return NGX_CONF_ERROR;
    }

    mcf->zone = ngx_shared_memory_add(cf, &name, size,
                                      &ngx_http_crmsync_module);
    if (mcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (mcf->zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\" in \"crmsync_zone\"",
                           &name);
        return NGX_CONF_ERROR;
    }

    ctx->conf = mcf;

    mcf->zone->init = ngx_http_crmsync_init_zone;
    mcf->zone->data = ctx;

    return NGX_CONF_OK;
}


/*
 * The zone as this configuration needs it: an entry for each portal and
 * each webhook location, found by name (so counters go on across a
 * reload) or made.  A zone too small for them fails the configuration.
 */

static ngx_int_t
ngx_http_crmsync_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_uint_t                      i;
    ngx_http_crmsync_portal_t      *portal;
    ngx_http_crmsync_zone_ctx_t    *ctx;
    ngx_http_crmsync_loc_conf_t   **loc;
    ngx_http_crmsync_main_conf_t   *mcf;

    ctx = shm_zone->data;

    /* init_zone runs inside ngx_init_cycle, before the new cycle is the
       current one: the configuration comes with the zone */

    mcf = ctx->conf;

    if (ngx_http_crmsync_shm_init_zone(shm_zone, data) != NGX_OK) {
        goto small;
    }

    portal = mcf->portals.elts;

    for (i = 0; i < mcf->portals.nelts; i++) {
        portal[i].sh = ngx_http_crmsync_shm_portal(ctx, &portal[i].label,
                                                   portal[i].rate);
        if (portal[i].sh == NULL) {
            goto small;
        }
    }

    loc = mcf->locations.elts;

    for (i = 0; i < mcf->locations.nelts; i++) {
        loc[i]->sh = ngx_http_crmsync_shm_location(ctx, &loc[i]->clcf->name);
        if (loc[i]->sh == NULL) {
            goto small;
        }
    }

    return NGX_OK;

small:

    ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                  "zone \"%V\" of \"crmsync_zone\" is too small for %ui "
                  "portals and %ui webhook locations",
                  &shm_zone->shm.name, mcf->portals.nelts,
                  mcf->locations.nelts);

    return NGX_ERROR;
}


/* "100r/10s", "4r/s": calls and the window they are counted in */

static ngx_int_t
ngx_http_crmsync_parse_rate(ngx_str_t *v, ngx_uint_t *n, ngx_msec_t *window)
{
    u_char     *p, *last;
    ngx_int_t   num;
    ngx_str_t   w;

    last = v->data + v->len;

    for (p = v->data; p < last && *p >= '0' && *p <= '9'; p++) {
        /* void */
    }

    if (p == v->data || last - p < 3 || p[0] != 'r' || p[1] != '/') {
        return NGX_ERROR;
    }

    num = ngx_atoi(v->data, p - v->data);

    if (num <= 0 || num > NGX_HTTP_CRMSYNC_RATE_MAX) {
        return NGX_ERROR;
    }

    w.data = p + 2;
    w.len = last - w.data;

    if (w.len == 1 && (w.data[0] == 's' || w.data[0] == 'm')) {
        *window = (w.data[0] == 's') ? 1000 : 60000;

    } else {
        *window = ngx_parse_time(&w, 0);

        if (*window == (ngx_msec_t) NGX_ERROR || *window == 0) {
            return NGX_ERROR;
        }
    }

    *n = num;

    return NGX_OK;
}


/*
 * crmsync_hubspot [name=<portal>] [url=<base url>] token_file=<path>
 *     [api=<version>] [rate=<n>r/10s] [search_rate=<n>r/s] [daily=<n>]
 *     [timeout=<time>] [ca_file=<path>] [hub=<hub id>]
 */

static char *
ngx_http_crmsync_hubspot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_main_conf_t *mcf = conf;

    u_char                     *p;
    ngx_int_t                   n;
    ngx_str_t                  *value, v, content, api;
    ngx_uint_t                  i, k;
    ngx_msec_t                  window;
    ngx_file_info_t             fi;
    ngx_http_crmsync_portal_t  *portal;

    portal = ngx_array_push(&mcf->portals);
    if (portal == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(portal, sizeof(ngx_http_crmsync_portal_t));

    ngx_str_set(&portal->label, "default");
    ngx_str_set(&portal->url, "https://api.hubapi.com");
    ngx_str_set(&portal->api, "2026-03");
    portal->rate = 100;
    portal->window = 10000;
    portal->search_rate = 4;
    portal->timeout = 30000;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        p = (u_char *) ngx_strchr(value[i].data, '=');

        if (p == NULL) {
            goto invalid;
        }

        v.data = p + 1;
        v.len = value[i].data + value[i].len - v.data;

        if (ngx_strncmp(value[i].data, "name=", 5) == 0) {
            if (v.len == 0 || v.len >= NGX_HTTP_CRMSYNC_NAME_LEN
                || (v.len == 7 && ngx_strncmp(v.data, "default", 7) == 0))
            {
                goto invalid;
            }

            portal->name = v;
            portal->label = v;

        } else if (ngx_strncmp(value[i].data, "url=", 4) == 0) {
            if (ngx_strncmp(v.data, "http://", 7) != 0
                && ngx_strncmp(v.data, "https://", 8) != 0)
            {
                goto invalid;
            }

            while (v.len && v.data[v.len - 1] == '/') {
                v.len--;
            }

            /* a host after the scheme: "http://" alone is not a URL */

            n = (v.data[4] == 's') ? 8 : 7;

            if (v.len <= (size_t) n) {
                goto invalid;
            }

            portal->url = v;

        } else if (ngx_strncmp(value[i].data, "token_file=", 11) == 0) {
            if (v.len == 0) {
                goto invalid;
            }

            portal->token_file = v;

        } else if (ngx_strncmp(value[i].data, "api=", 4) == 0) {
            api = v;

            if (!(api.len == 2 && ngx_strcmp(api.data, "v3") == 0)
                && !(api.len == 7 && api.data[4] == '-'
                     && ngx_atoi(api.data, 4) >= 2026
                     && ngx_atoi(api.data + 5, 2) >= 1
                     && ngx_atoi(api.data + 5, 2) <= 12))
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" in \"crmsync_hubspot\": "
                                   "a dated version such as api=2026-03, or "
                                   "api=v3 for the legacy paths, is expected",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            portal->api = api;

        } else if (ngx_strncmp(value[i].data, "rate=", 5) == 0) {
            if (ngx_http_crmsync_parse_rate(&v, &portal->rate,
                                            &portal->window)
                != NGX_OK)
            {
                goto invalid;
            }

        } else if (ngx_strncmp(value[i].data, "search_rate=", 12) == 0) {
            if (ngx_http_crmsync_parse_rate(&v, &portal->search_rate,
                                            &window)
                != NGX_OK
                || window != 1000)
            {
                goto invalid;
            }

        } else if (ngx_strncmp(value[i].data, "daily=", 6) == 0) {
            n = ngx_atoi(v.data, v.len);

            if (n <= 0) {
                goto invalid;
            }

            portal->daily = n;

        } else if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            portal->timeout = ngx_parse_time(&v, 0);

            if (portal->timeout == (ngx_msec_t) NGX_ERROR
                || portal->timeout == 0)
            {
                goto invalid;
            }

        } else if (ngx_strncmp(value[i].data, "hub=", 4) == 0) {
            if (v.len == 0 || v.len > 20) {
                goto invalid;
            }

            for (k = 0; k < v.len; k++) {
                if (v.data[k] < '0' || v.data[k] > '9') {
                    goto invalid;
                }
            }

            portal->hub = v;

        } else if (ngx_strncmp(value[i].data, "ca_file=", 8) == 0) {
            if (v.len == 0) {
                goto invalid;
            }

            portal->ca_file = v;

            if (ngx_conf_full_name(cf->cycle, &portal->ca_file, 1)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            if (ngx_file_info(portal->ca_file.data, &fi) == NGX_FILE_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                                   "ca_file \"%V\" of \"crmsync_hubspot\" "
                                   "cannot be used: " ngx_file_info_n
                                   " failed", &portal->ca_file);
                return NGX_CONF_ERROR;
            }

        } else {
            goto invalid;
        }
    }

    if (portal->token_file.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"crmsync_hubspot\" needs token_file=<path>");
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < mcf->portals.nelts - 1; i++) {
        if (((ngx_http_crmsync_portal_t *) mcf->portals.elts)[i].name.len
                == portal->name.len
            && ngx_strncmp(
                   ((ngx_http_crmsync_portal_t *) mcf->portals.elts)[i]
                       .name.data,
                   portal->name.data, portal->name.len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate portal \"%V\" in "
                               "\"crmsync_hubspot\"%s", &portal->name,
                               portal->name.len ? ""
                               : ": only one may go without name=");
            return NGX_CONF_ERROR;
        }
    }

    /* the token: read now and on every reload, never logged */

    if (ngx_http_crmsync_read_file(cf, &portal->token_file, "token",
                                   &content)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_crmsync_next_line(&content, &portal->token) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "token file \"%V\" of \"crmsync_hubspot\" holds no "
                           "token", &portal->token_file);
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < portal->token.len; i++) {
        if (portal->token.data[i] <= ' ' || portal->token.data[i] >= 0x7f) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "token file \"%V\" of \"crmsync_hubspot\" "
                               "holds a token with spaces or control "
                               "characters", &portal->token_file);
            return NGX_CONF_ERROR;
        }
    }

    portal->token_crc = ngx_crc32_short(portal->token.data,
                                        portal->token.len);

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"crmsync_hubspot\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}


/* crmsync_set <property> <value> [if_empty] */

static char *
ngx_http_crmsync_set(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    u_char                            *p;
    ngx_uint_t                         i;
    ngx_str_t                         *value;
    ngx_http_crmsync_set_t            *set;
    ngx_http_compile_complex_value_t   ccv;

    value = cf->args->elts;

    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
              || *p == '_'))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid property \"%V\" in \"crmsync_set\": "
                               "HubSpot's internal name is expected (lower "
                               "case, digits and '_')", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    if (value[1].len == 5 && ngx_strncmp(value[1].data, "email", 5) == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"crmsync_set email\" is not allowed: the email "
                           "comes from the event, and contacts are matched "
                           "on it");
        return NGX_CONF_ERROR;
    }

    if (value[1].len == 0 || value[1].len > 100) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid property \"%V\" in \"crmsync_set\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 4
        && (value[3].len != 8
            || ngx_strncmp(value[3].data, "if_empty", 8) != 0))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"crmsync_set\": "
                           "only \"if_empty\" may follow the value",
                           &value[3]);
        return NGX_CONF_ERROR;
    }

    if (cslcf->sets == NGX_CONF_UNSET_PTR) {
        cslcf->sets = ngx_array_create(cf->pool, 4,
                                       sizeof(ngx_http_crmsync_set_t));
        if (cslcf->sets == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    set = cslcf->sets->elts;

    for (i = 0; i < cslcf->sets->nelts; i++) {
        if (set[i].property.len == value[1].len
            && ngx_strncmp(set[i].property.data, value[1].data,
                           value[1].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate property \"%V\" in "
                               "\"crmsync_set\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    set = ngx_array_push(cslcf->sets);
    if (set == NULL) {
        return NGX_CONF_ERROR;
    }

    set->property = value[1];
    set->if_empty = (cf->args->nelts == 4);

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[2];
    ccv.complex_value = &set->value;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * A HubSpot internal property name: a lower case letter, then lower case
 * letters, digits and '_', at most 100 bytes.  NULL, or what is wrong.
 */

static const char *
ngx_http_crmsync_property_error(ngx_str_t *name)
{
    u_char  *p;

    if (name->len == 0 || name->len > 100) {
        return "HubSpot's internal name of at most 100 characters is "
               "expected";
    }

    if (name->data[0] < 'a' || name->data[0] > 'z') {
        return "HubSpot's internal name starts with a lower case letter";
    }

    for (p = name->data; p < name->data + name->len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
              || *p == '_'))
        {
            return "HubSpot's internal name is expected (lower case, "
                   "digits and '_')";
        }
    }

    return NULL;
}


static ngx_uint_t
ngx_http_crmsync_id_kind_by_name(ngx_str_t *name)
{
    ngx_uint_t  k;

    for (k = 0; k < NGX_HTTP_CRMSYNC_ID_MAX; k++) {
        if (ngx_http_crmsync_id_names[k].len == name->len
            && ngx_strncmp(ngx_http_crmsync_id_names[k].data, name->data,
                           name->len)
               == 0)
        {
            return k;
        }
    }

    return NGX_HTTP_CRMSYNC_ID_MAX;
}


static char *
ngx_http_crmsync_unknown_id(ngx_conf_t *cf, const char *what,
    const char *directive, ngx_str_t *value, ngx_uint_t from)
{
    u_char      *p, *last;
    ngx_uint_t   k;
    u_char       names[256];

    p = names;
    last = names + sizeof(names);

    for (k = from; k < NGX_HTTP_CRMSYNC_ID_MAX; k++) {
        p = ngx_slprintf(p, last, "%s%V", k == from ? "" : " ",
                         &ngx_http_crmsync_id_names[k]);
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "unknown %s \"%V\" in \"%s\", valid ones are: %*s",
                       what, value, directive, p - names, names);

    return NGX_CONF_ERROR;
}


/* crmsync_match <rule> ... */

static char *
ngx_http_crmsync_match(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i, j, k, *rule;

    if (cslcf->match != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    cslcf->match = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                    sizeof(ngx_uint_t));
    if (cslcf->match == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        k = ngx_http_crmsync_id_kind_by_name(&value[i]);

        if (k == NGX_HTTP_CRMSYNC_ID_MAX) {
            return ngx_http_crmsync_unknown_id(cf, "rule", "crmsync_match",
                                               &value[i], 0);
        }

        for (j = 1; j < i; j++) {
            if (value[j].len == value[i].len
                && ngx_strncmp(value[j].data, value[i].data, value[i].len)
                   == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "duplicate rule \"%V\" in "
                                   "\"crmsync_match\"", &value[i]);
                return NGX_CONF_ERROR;
            }
        }

        rule = ngx_array_push(cslcf->match);
        if (rule == NULL) {
            return NGX_CONF_ERROR;
        }

        *rule = k;
    }

    return NGX_CONF_OK;
}


/* crmsync_id_property <identifier> <property> */

static char *
ngx_http_crmsync_id_property(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    ngx_str_t                   *value;
    ngx_uint_t                   i, k;
    const char                  *err;
    ngx_http_crmsync_id_prop_t  *prop;

    static ngx_str_t  reserved[] = {
        ngx_string("email"), ngx_string("phone"), ngx_string("mobilephone"),
        ngx_string("firstname"), ngx_string("lastname"),
        ngx_string("lifecyclestage"), ngx_string("hubspot_owner_id"),
        ngx_null_string
    };

    value = cf->args->elts;

    k = ngx_http_crmsync_id_kind_by_name(&value[1]);

    if (k == NGX_HTTP_CRMSYNC_ID_MAX
        || k == NGX_HTTP_CRMSYNC_ID_CRM_ID
        || k == NGX_HTTP_CRMSYNC_ID_EMAIL)
    {
        /* crm_id is the record's own id, email HubSpot's own unique
           property: neither needs one of its own */

        return ngx_http_crmsync_unknown_id(cf, "identifier",
                                           "crmsync_id_property", &value[1],
                                           NGX_HTTP_CRMSYNC_ID_PHONE);
    }

    err = ngx_http_crmsync_property_error(&value[2]);

    if (err) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid property \"%V\" in "
                           "\"crmsync_id_property\": %s", &value[2], err);
        return NGX_CONF_ERROR;
    }

    if (value[2].len >= 3 && ngx_strncmp(value[2].data, "hs_", 3) == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid property \"%V\" in "
                           "\"crmsync_id_property\": \"hs_\" names are "
                           "HubSpot's own", &value[2]);
        return NGX_CONF_ERROR;
    }

    for (i = 0; reserved[i].len; i++) {
        if (reserved[i].len == value[2].len
            && ngx_strncmp(reserved[i].data, value[2].data, value[2].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid property \"%V\" in "
                               "\"crmsync_id_property\": a property of "
                               "HubSpot's own cannot hold unique values",
                               &value[2]);
            return NGX_CONF_ERROR;
        }
    }

    if (cslcf->id_props == NGX_CONF_UNSET_PTR) {
        cslcf->id_props = ngx_array_create(cf->pool, 2,
                                           sizeof(ngx_http_crmsync_id_prop_t));
        if (cslcf->id_props == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    prop = cslcf->id_props->elts;

    for (i = 0; i < cslcf->id_props->nelts; i++) {
        if (prop[i].kind == k) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate identifier \"%V\" in "
                               "\"crmsync_id_property\": one property per "
                               "identifier", &value[1]);
            return NGX_CONF_ERROR;
        }

        if (prop[i].property.len == value[2].len
            && ngx_strncmp(prop[i].property.data, value[2].data,
                           value[2].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate property \"%V\" in "
                               "\"crmsync_id_property\": one identifier "
                               "per property", &value[2]);
            return NGX_CONF_ERROR;
        }
    }

    prop = ngx_array_push(cslcf->id_props);
    if (prop == NULL) {
        return NGX_CONF_ERROR;
    }

    prop->kind = k;
    prop->property = value[2];

    return NGX_CONF_OK;
}


/* crmsync_create identified | with_email | always | off */

static char *
ngx_http_crmsync_create(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    ngx_str_t        *value;
    ngx_conf_enum_t  *e;

    if (cslcf->create != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (e = ngx_http_crmsync_create_modes; e->name.len; e++) {
        if (e->name.len == value[1].len
            && ngx_strncmp(e->name.data, value[1].data, value[1].len) == 0)
        {
            cslcf->create = e->value;
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"crmsync_create\": "
                       "identified, with_email, always or off is expected",
                       &value[1]);

    return NGX_CONF_ERROR;
}


/* crmsync_lifecycle <stage> | off */

static char *
ngx_http_crmsync_lifecycle(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    u_char     *p;
    ngx_str_t  *value;

    if (cslcf->lifecycle.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        ngx_str_set(&cslcf->lifecycle, "");
        return NGX_CONF_OK;
    }

    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) {
            break;
        }
    }

    if (value[1].len == 0 || value[1].len > 100
        || p != value[1].data + value[1].len)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid stage \"%V\" in \"crmsync_lifecycle\": "
                           "HubSpot's internal value is expected (lower "
                           "case and digits, such as lead or "
                           "marketingqualifiedlead), or off", &value[1]);
        return NGX_CONF_ERROR;
    }

    cslcf->lifecycle = value[1];

    return NGX_CONF_OK;
}


/* crmsync_lookup_properties <property> ... */

static char *
ngx_http_crmsync_lookup_properties(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    ngx_str_t   *value, *prop;
    ngx_uint_t   i, j;
    const char  *err;

    if (cslcf->lookup_properties != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    cslcf->lookup_properties = ngx_array_create(cf->pool,
                                                cf->args->nelts - 1,
                                                sizeof(ngx_str_t));
    if (cslcf->lookup_properties == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        err = ngx_http_crmsync_property_error(&value[i]);

        if (err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid property \"%V\" in "
                               "\"crmsync_lookup_properties\": %s",
                               &value[i], err);
            return NGX_CONF_ERROR;
        }

        for (j = 1; j < i; j++) {
            if (value[j].len == value[i].len
                && ngx_strncmp(value[j].data, value[i].data, value[i].len)
                   == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "duplicate property \"%V\" in "
                                   "\"crmsync_lookup_properties\"",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }
        }

        prop = ngx_array_push(cslcf->lookup_properties);
        if (prop == NULL) {
            return NGX_CONF_ERROR;
        }

        *prop = value[i];
    }

    return NGX_CONF_OK;
}


/* the default list, made once a configuration and shared by locations */

static ngx_array_t *
ngx_http_crmsync_default_lookup(ngx_conf_t *cf)
{
    ngx_str_t                     *prop;
    ngx_uint_t                     i;
    ngx_array_t                   *a;
    ngx_http_crmsync_main_conf_t  *mcf;

    static ngx_str_t  names[] = {
        ngx_string("email"), ngx_string("firstname"), ngx_string("lastname"),
        ngx_string("phone"), ngx_string("mobilephone"),
        ngx_string("lifecyclestage"), ngx_string("hubspot_owner_id")
    };

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_crmsync_module);

    if (mcf->lookup_default) {
        return mcf->lookup_default;
    }

    a = ngx_array_create(cf->pool, sizeof(names) / sizeof(names[0]),
                         sizeof(ngx_str_t));
    if (a == NULL) {
        return NULL;
    }

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        prop = ngx_array_push(a);
        *prop = names[i];
    }

    mcf->lookup_default = a;

    return a;
}


/*
 * Every crmsync_id_property of a webhook location, once per portal: one
 * property per identifier and portal, at most HubSpot's 10 unique
 * properties per object.
 */

static char *
ngx_http_crmsync_merge_props(ngx_conf_t *cf, ngx_http_crmsync_main_conf_t *mcf,
    ngx_http_crmsync_loc_conf_t *conf)
{
    ngx_uint_t                       i, j, n, found;
    ngx_http_crmsync_id_prop_t      *prop;
    ngx_http_crmsync_portal_prop_t  *pp, *add;

    if (conf->id_props == NULL
        || conf->provider == NGX_HTTP_CRMSYNC_PROVIDER_HUBSPOT)
    {
        /* HubSpot's own events create no contact */
        return NGX_CONF_OK;
    }

    prop = conf->id_props->elts;

    for (i = 0; i < conf->id_props->nelts; i++) {
        pp = mcf->props.elts;
        found = 0;
        n = 0;

        for (j = 0; j < mcf->props.nelts; j++) {
            if (pp[j].portal != conf->portal) {
                continue;
            }

            n++;

            if (pp[j].kind == prop[i].kind
                && pp[j].property.len == prop[i].property.len
                && ngx_strncmp(pp[j].property.data, prop[i].property.data,
                               prop[i].property.len)
                   == 0)
            {
                found = 1;
                break;
            }

            if (pp[j].kind == prop[i].kind) {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "\"crmsync_id_property %V %V\" of location "
                              "\"%V\": another location of portal \"%V\" "
                              "keeps %V in \"%V\"; one property per "
                              "identifier and portal",
                              &ngx_http_crmsync_id_names[prop[i].kind],
                              &prop[i].property, &conf->clcf->name,
                              &conf->portal->label,
                              &ngx_http_crmsync_id_names[prop[i].kind],
                              &pp[j].property);
                return NGX_CONF_ERROR;
            }

            if (pp[j].property.len == prop[i].property.len
                && ngx_strncmp(pp[j].property.data, prop[i].property.data,
                               prop[i].property.len)
                   == 0)
            {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "\"crmsync_id_property %V %V\" of location "
                              "\"%V\": another location of portal \"%V\" "
                              "keeps %V in it; one identifier per property",
                              &ngx_http_crmsync_id_names[prop[i].kind],
                              &prop[i].property, &conf->clcf->name,
                              &conf->portal->label,
                              &ngx_http_crmsync_id_names[pp[j].kind]);
                return NGX_CONF_ERROR;
            }
        }

        if (found) {
            continue;
        }

        if (n == NGX_HTTP_CRMSYNC_ID_PROPS_MAX) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"crmsync_id_property %V %V\" of location "
                          "\"%V\": portal \"%V\" would have more than %d "
                          "unique properties, HubSpot's limit",
                          &ngx_http_crmsync_id_names[prop[i].kind],
                          &prop[i].property, &conf->clcf->name,
                          &conf->portal->label,
                          NGX_HTTP_CRMSYNC_ID_PROPS_MAX);
            return NGX_CONF_ERROR;
        }

        add = ngx_array_push(&mcf->props);
        if (add == NULL) {
            return NGX_CONF_ERROR;
        }

        add->portal = conf->portal;
        add->kind = prop[i].kind;
        add->property = prop[i].property;
    }

    return NGX_CONF_OK;
}


/*
 * The job payload's members that the location fixes (doc/matching.md):
 * made once here, copied into every payload.  Property and stage names
 * were checked to need no JSON escaping.
 */

static char *
ngx_http_crmsync_merge_match(ngx_conf_t *cf, ngx_http_crmsync_loc_conf_t *conf)
{
    u_char                      *p;
    size_t                       len;
    ngx_uint_t                   i, n, *rules, first, last;
    ngx_http_crmsync_set_t      *set;
    ngx_http_crmsync_id_prop_t  *prop;

    if (conf->match) {
        rules = conf->match->elts;
        n = conf->match->nelts;

    } else {
        rules = ngx_http_crmsync_default_rules[conf->provider];

        for (n = 0; rules[n] != NGX_HTTP_CRMSYNC_ID_MAX; n++) {
            /* void */
        }
    }

    /* "match":[...],"create":"...","lifecycle":"..." */

    len = sizeof("\"match\":[],\"create\":\"with_email\",\"lifecycle\":\"\"")
          + conf->lifecycle.len;

    for (i = 0; i < n; i++) {
        len += ngx_http_crmsync_id_names[rules[i]].len + 3;
    }

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    conf->payload_head.data = p;
    p = ngx_cpymem(p, "\"match\":[", sizeof("\"match\":[") - 1);

    for (i = 0; i < n; i++) {
        p = ngx_sprintf(p, "%s\"%V\"", i ? "," : "",
                        &ngx_http_crmsync_id_names[rules[i]]);
    }

    p = ngx_sprintf(p, "],\"create\":\"%V\"",
                    &ngx_http_crmsync_create_modes[conf->create].name);

    if (conf->lifecycle.len) {
        p = ngx_sprintf(p, ",\"lifecycle\":\"%V\"", &conf->lifecycle);
    }

    conf->payload_head.len = p - conf->payload_head.data;

    /*
     * ,"if_empty":[...]: the event's names never overwrite a name HubSpot
     * holds, unless a crmsync_set without if_empty names the property;
     * ,"idprops":{...} and ,"dry_run":true
     */

    n = conf->sets ? conf->sets->nelts : 0;
    set = n ? conf->sets->elts : NULL;

    first = 1;
    last = 1;

    len = sizeof(",\"if_empty\":[\"firstname\",\"lastname\"]")
          + sizeof(",\"idprops\":{}") + sizeof(",\"dry_run\":true");

    for (i = 0; i < n; i++) {
        len += set[i].property.len + 3;

        if (!set[i].if_empty) {
            if (set[i].property.len == 9
                && ngx_strncmp(set[i].property.data, "firstname", 9) == 0)
            {
                first = 0;
            }

            if (set[i].property.len == 8
                && ngx_strncmp(set[i].property.data, "lastname", 8) == 0)
            {
                last = 0;
            }
        }
    }

    if (conf->id_props) {
        prop = conf->id_props->elts;

        for (i = 0; i < conf->id_props->nelts; i++) {
            len += ngx_http_crmsync_id_names[prop[i].kind].len
                   + prop[i].property.len + 6;
        }
    }

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    conf->payload_tail.data = p;
    p = ngx_cpymem(p, ",\"if_empty\":[", sizeof(",\"if_empty\":[") - 1);

    if (first) {
        p = ngx_cpymem(p, "\"firstname\",", sizeof("\"firstname\",") - 1);
    }

    if (last) {
        p = ngx_cpymem(p, "\"lastname\",", sizeof("\"lastname\",") - 1);
    }

    for (i = 0; i < n; i++) {
        if (!set[i].if_empty
            || (set[i].property.len == 9
                && ngx_strncmp(set[i].property.data, "firstname", 9) == 0)
            || (set[i].property.len == 8
                && ngx_strncmp(set[i].property.data, "lastname", 8) == 0))
        {
            continue;
        }

        p = ngx_sprintf(p, "\"%V\",", &set[i].property);
    }

    if (p[-1] == '[') {
        p -= sizeof(",\"if_empty\":[") - 1;

    } else {
        p[-1] = ']';
    }

    if (conf->id_props) {
        prop = conf->id_props->elts;
        p = ngx_cpymem(p, ",\"idprops\":{", sizeof(",\"idprops\":{") - 1);

        for (i = 0; i < conf->id_props->nelts; i++) {
            p = ngx_sprintf(p, "%s\"%V\":\"%V\"", i ? "," : "",
                            &ngx_http_crmsync_id_names[prop[i].kind],
                            &prop[i].property);
        }

        *p++ = '}';
    }

    if (conf->dry_run) {
        p = ngx_cpymem(p, ",\"dry_run\":true",
                       sizeof(",\"dry_run\":true") - 1);
    }

    conf->payload_tail.len = p - conf->payload_tail.data;

    return NGX_CONF_OK;
}


/* crmsync_transcript note | communication | off */

static char *
ngx_http_crmsync_transcript(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    ngx_str_t  *value;

    if (cslcf->transcript != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "note") == 0) {
        cslcf->transcript = NGX_HTTP_CRMSYNC_TRANSCRIPT_NOTE;

    } else if (ngx_strcmp(value[1].data, "communication") == 0) {
        cslcf->transcript = NGX_HTTP_CRMSYNC_TRANSCRIPT_COMMUNICATION;

    } else if (ngx_strcmp(value[1].data, "off") == 0) {
        cslcf->transcript = NGX_HTTP_CRMSYNC_TRANSCRIPT_OFF;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"crmsync_transcript\": "
                           "note, communication or off is expected",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* crmsync_transcript_authors contact agent [bot] [system] [note] */

static char *
ngx_http_crmsync_transcript_authors(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i, a, mask;

    if (cslcf->transcript_authors != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;
    mask = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        for (a = NGX_HTTP_CRMSYNC_AUTHOR_CONTACT;
             a <= NGX_HTTP_CRMSYNC_AUTHOR_NOTE;
             a++)
        {
            if (ngx_strcmp(value[i].data, ngx_http_crmsync_author_names[a])
                == 0)
            {
                break;
            }
        }

        if (a > NGX_HTTP_CRMSYNC_AUTHOR_NOTE) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "unknown author \"%V\" in "
                               "\"crmsync_transcript_authors\", valid ones "
                               "are: contact agent bot system note",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        if (mask & (1 << a)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate author \"%V\" in "
                               "\"crmsync_transcript_authors\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        mask |= 1 << a;
    }

    cslcf->transcript_authors = mask;

    return NGX_CONF_OK;
}


/* crmsync_transcript_when closed | assigned | always */

static char *
ngx_http_crmsync_transcript_when(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    ngx_str_t  *value;

    if (cslcf->transcript_when != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "closed") == 0) {
        cslcf->transcript_when = NGX_HTTP_CRMSYNC_WHEN_CLOSED;

    } else if (ngx_strcmp(value[1].data, "assigned") == 0) {
        cslcf->transcript_when = NGX_HTTP_CRMSYNC_WHEN_ASSIGNED;

    } else if (ngx_strcmp(value[1].data, "always") == 0) {
        cslcf->transcript_when = NGX_HTTP_CRMSYNC_WHEN_ALWAYS;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in "
                           "\"crmsync_transcript_when\": closed, assigned "
                           "or always is expected", &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* a value with variables, compiled into cv (allocated when NULL) */

static ngx_http_complex_value_t *
ngx_http_crmsync_compile(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_complex_value_t *cv)
{
    ngx_http_compile_complex_value_t  ccv;

    if (cv == NULL) {
        cv = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
        if (cv == NULL) {
            return NULL;
        }
    }

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = value;
    ccv.complex_value = cv;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NULL;
    }

    return cv;
}


/*
 * "name=value" parameters: the index in names of the parameter's name,
 * its value in v; an unknown name, an empty value or a name given twice
 * is an [emerg] naming the directive.
 */

static ngx_int_t
ngx_http_crmsync_param(ngx_conf_t *cf, ngx_str_t *arg, const char **names,
    ngx_uint_t *seen, ngx_str_t *v)
{
    u_char      *eq;
    size_t       len;
    ngx_str_t   *value;
    ngx_uint_t   k;

    value = cf->args->elts;

    eq = (u_char *) ngx_strchr(arg->data, '=');

    if (eq != NULL) {
        len = eq - arg->data;

        for (k = 0; names[k]; k++) {
            if (ngx_strlen(names[k]) == len
                && ngx_strncmp(names[k], arg->data, len) == 0)
            {
                break;
            }
        }

        if (names[k]) {
            v->data = eq + 1;
            v->len = arg->data + arg->len - v->data;

            if (v->len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "empty \"%V\" in \"%V\"", arg, &value[0]);
                return NGX_ERROR;
            }

            if (*seen & (1 << k)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "duplicate parameter \"%*s\" in \"%V\"",
                                   len + 1, arg->data, &value[0]);
                return NGX_ERROR;
            }

            *seen |= 1 << k;

            return k;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" in \"%V\"", arg, &value[0]);

    return NGX_ERROR;
}


/*
 * An owner's email: one '@' with something before it and a dot in the
 * domain, printable, nothing JSON would escape.  Lower-cased in place.
 */

static ngx_int_t
ngx_http_crmsync_owner_email(ngx_str_t *v)
{
    u_char      *p, *at, *dot;
    ngx_uint_t   n;

    if (v->len < 5 || v->len > 254) {
        return NGX_ERROR;
    }

    at = NULL;
    dot = NULL;
    n = 0;

    for (p = v->data; p < v->data + v->len; p++) {
        if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\' || *p == ','
            || *p == '<' || *p == '>' || *p == '$')
        {
            return NGX_ERROR;
        }

        if (*p == '@') {
            at = p;
            n++;

        } else if (*p == '.' && at) {
            dot = p;
        }
    }

    if (n != 1 || at == v->data || dot == NULL || dot == at + 1
        || dot == v->data + v->len - 1)
    {
        return NGX_ERROR;
    }

    ngx_strlow(v->data, v->data, v->len);

    return NGX_OK;
}


/*
 * crmsync_deal pipeline=<id or label> stage=<id or label> name=<template>
 *     [amount=<value>] [when=<value>]
 */

static char *
ngx_http_crmsync_deal(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    ngx_int_t                 k;
    ngx_str_t                *value, v;
    ngx_uint_t                i, seen;
    ngx_http_crmsync_deal_t  *deal;

    static const char  *names[] = {
        "pipeline", "stage", "name", "amount", "when", NULL
    };

    if (cslcf->deal != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    deal = ngx_pcalloc(cf->pool, sizeof(ngx_http_crmsync_deal_t));
    if (deal == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;
    seen = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        k = ngx_http_crmsync_param(cf, &value[i], names, &seen, &v);

        switch (k) {

        case 0:
        case 1:
            if (ngx_strlchr(v.data, v.data + v.len, '$') != NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" in \"crmsync_deal\": the "
                                   "pipeline and the stage are an id or a "
                                   "label, without variables", &value[i]);
                return NGX_CONF_ERROR;
            }

            if (k == 0) {
                deal->pipeline = v;

            } else {
                deal->stage = v;
            }

            break;

        case 2:
            if (ngx_http_crmsync_compile(cf, &v, &deal->name) == NULL) {
                return NGX_CONF_ERROR;
            }

            break;

        case 3:
            deal->amount = ngx_http_crmsync_compile(cf, &v, NULL);
            if (deal->amount == NULL) {
                return NGX_CONF_ERROR;
            }

            break;

        case 4:
            deal->when = ngx_http_crmsync_compile(cf, &v, NULL);
            if (deal->when == NULL) {
                return NGX_CONF_ERROR;
            }

            break;

        default:
            return NGX_CONF_ERROR;
        }
    }

    for (k = 0; k < 3; k++) {
        if (!(seen & (1 << k))) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"crmsync_deal\" needs %s=", names[k]);
            return NGX_CONF_ERROR;
        }
    }

    cslcf->deal = deal;

    return NGX_CONF_OK;
}


/* crmsync_lifecycle_on_deal <stage> | off */

static char *
ngx_http_crmsync_lifecycle_on_deal(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    u_char     *p;
    ngx_str_t  *value;

    if (cslcf->lifecycle_on_deal.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(&cslcf->lifecycle_on_deal, "");
        return NGX_CONF_OK;
    }

    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) {
            break;
        }
    }

    if (value[1].len == 0 || value[1].len > 100
        || p != value[1].data + value[1].len)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid stage \"%V\" in "
                           "\"crmsync_lifecycle_on_deal\": HubSpot's "
                           "internal value is expected (lower case and "
                           "digits, such as marketingqualifiedlead), or off",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    cslcf->lifecycle_on_deal = value[1];

    return NGX_CONF_OK;
}


/* crmsync_owner assignee; crmsync_owner round_robin <email> ... */

static char *
ngx_http_crmsync_owner_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    ngx_str_t   *value, *email;
    ngx_uint_t   i, j;

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "assignee") == 0) {
        if (cf->args->nelts != 2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in "
                               "\"crmsync_owner assignee\": nothing may "
                               "follow", &value[2]);
            return NGX_CONF_ERROR;
        }

        if (cslcf->owner_assignee != NGX_CONF_UNSET) {
            return "assignee is duplicate";
        }

        cslcf->owner_assignee = 1;

        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[1].data, "round_robin") != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"crmsync_owner\": "
                           "assignee or round_robin <owner email> ... is "
                           "expected", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (cslcf->owner_rr != NGX_CONF_UNSET_PTR) {
        return "round_robin is duplicate";
    }

    if (cf->args->nelts < 3) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"crmsync_owner round_robin\" needs at least "
                           "one owner email");
        return NGX_CONF_ERROR;
    }

    cslcf->owner_rr = ngx_array_create(cf->pool, cf->args->nelts - 2,
                                       sizeof(ngx_str_t));
    if (cslcf->owner_rr == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        if (ngx_http_crmsync_owner_email(&value[i]) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid owner email \"%V\" in "
                               "\"crmsync_owner round_robin\"", &value[i]);
            return NGX_CONF_ERROR;
        }

        for (j = 2; j < i; j++) {
            if (value[j].len == value[i].len
                && ngx_strncmp(value[j].data, value[i].data, value[i].len)
                   == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "duplicate owner \"%V\" in "
                                   "\"crmsync_owner round_robin\"",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }
        }

        email = ngx_array_push(cslcf->owner_rr);
        if (email == NULL) {
            return NGX_CONF_ERROR;
        }

        *email = value[i];
    }

    return NGX_CONF_OK;
}


/*
 * crmsync_task when=<value> subject=<template> [due=<time>]
 *     [owner=contact_owner|<email>]
 */

static char *
ngx_http_crmsync_task(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    ngx_int_t                 k;
    ngx_str_t                *value, v;
    ngx_uint_t                i, seen;
    ngx_http_crmsync_task_t  *task;

    static const char  *names[] = {
        "when", "subject", "due", "owner", NULL
    };

    if (cslcf->task != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    task = ngx_pcalloc(cf->pool, sizeof(ngx_http_crmsync_task_t));
    if (task == NULL) {
        return NGX_CONF_ERROR;
    }

    task->due = 86400 * 1000;
    ngx_str_set(&task->owner, "contact_owner");

    value = cf->args->elts;
    seen = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        k = ngx_http_crmsync_param(cf, &value[i], names, &seen, &v);

        switch (k) {

        case 0:
            if (ngx_http_crmsync_compile(cf, &v, &task->when) == NULL) {
                return NGX_CONF_ERROR;
            }

            break;

        case 1:
            if (ngx_http_crmsync_compile(cf, &v, &task->subject) == NULL) {
                return NGX_CONF_ERROR;
            }

            break;

        case 2:
            task->due = ngx_parse_time(&v, 0);

            if (task->due == (ngx_msec_t) NGX_ERROR || task->due == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" in \"crmsync_task\": a "
                                   "time such as 24h is expected",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            break;

        case 3:
            if (!(v.len == 13 && ngx_strncmp(v.data, "contact_owner", 13) == 0)
                && ngx_http_crmsync_owner_email(&v) != NGX_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" in \"crmsync_task\": "
                                   "owner=contact_owner or an owner's email "
                                   "is expected", &value[i]);
                return NGX_CONF_ERROR;
            }

            task->owner = v;
            break;

        default:
            return NGX_CONF_ERROR;
        }
    }

    for (k = 0; k < 2; k++) {
        if (!(seen & (1 << k))) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"crmsync_task\" needs %s=", names[k]);
            return NGX_CONF_ERROR;
        }
    }

    cslcf->task = task;

    return NGX_CONF_OK;
}


/* crmsync_flag <property> when=<value> [idle=<time>] */

static char *
ngx_http_crmsync_flag(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    ngx_int_t                 k;
    ngx_str_t                *value, v;
    ngx_uint_t                i, seen;
    const char               *err;
    ngx_http_crmsync_flag_t  *flag;

    static const char  *names[] = { "when", "idle", NULL };

    value = cf->args->elts;

    err = ngx_http_crmsync_property_error(&value[1]);

    if (err) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid property \"%V\" in \"crmsync_flag\": %s",
                           &value[1], err);
        return NGX_CONF_ERROR;
    }

    if (cslcf->flags == NGX_CONF_UNSET_PTR) {
        cslcf->flags = ngx_array_create(cf->pool, 2,
                                        sizeof(ngx_http_crmsync_flag_t));
        if (cslcf->flags == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    flag = cslcf->flags->elts;

    for (i = 0; i < cslcf->flags->nelts; i++) {
        if (flag[i].property.len == value[1].len
            && ngx_strncmp(flag[i].property.data, value[1].data,
                           value[1].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate property \"%V\" in "
                               "\"crmsync_flag\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    flag = ngx_array_push(cslcf->flags);
    if (flag == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(flag, sizeof(ngx_http_crmsync_flag_t));
    flag->property = value[1];

    seen = 0;

    for (i = 2; i < cf->args->nelts; i++) {
        k = ngx_http_crmsync_param(cf, &value[i], names, &seen, &v);

        switch (k) {

        case 0:
            if (ngx_http_crmsync_compile(cf, &v, &flag->when) == NULL) {
                return NGX_CONF_ERROR;
            }

            break;

        case 1:
            flag->idle = ngx_parse_time(&v, 0);

            if (flag->idle == (ngx_msec_t) NGX_ERROR || flag->idle == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" in \"crmsync_flag\": a "
                                   "time such as 24h is expected",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            break;

        default:
            return NGX_CONF_ERROR;
        }
    }

    if (!(seen & 1)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"crmsync_flag\" needs when=");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* a JSON string, quoted and escaped, made at configuration time */

static u_char *
ngx_http_crmsync_conf_json(u_char *p, ngx_str_t *v)
{
    *p++ = '"';
    p = (u_char *) ngx_escape_json(p, v->data, v->len);
    *p++ = '"';

    return p;
}


static size_t
ngx_http_crmsync_conf_json_len(ngx_str_t *v)
{
    return v->len + ngx_escape_json(NULL, v->data, v->len) + 2;
}


/*
 * The action payloads' members that the location fixes
 * (doc/conversations.md), made once here: ,"pipeline":P (transcripts
 * and owners), the transcript's ,"when":W, the deal's head
 * {"v":1,"pipeline":P,"stage":S,"name": and its tail ,"lifecycle":L
 * ,"rr":[...], and the task's ,"due":D,"owner":O,"key":
 */

static char *
ngx_http_crmsync_merge_actions(ngx_conf_t *cf,
    ngx_http_crmsync_loc_conf_t *conf)
{
    u_char                   *p;
    size_t                    len;
    ngx_str_t                *rr;
    ngx_uint_t                i;
    ngx_http_crmsync_deal_t  *deal;

    static const char  *when[] = { "closed", "assigned", "always" };

    deal = conf->deal;

    if (deal) {
        len = sizeof(",\"pipeline\":")
              + ngx_http_crmsync_conf_json_len(&deal->pipeline);

        p = ngx_pnalloc(cf->pool, len);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        conf->pipeline_json.data = p;
        p = ngx_cpymem(p, ",\"pipeline\":", sizeof(",\"pipeline\":") - 1);
        p = ngx_http_crmsync_conf_json(p, &deal->pipeline);
        conf->pipeline_json.len = p - conf->pipeline_json.data;

        len = sizeof("{\"v\":1,\"pipeline\":,\"stage\":,\"name\":")
              + ngx_http_crmsync_conf_json_len(&deal->pipeline)
              + ngx_http_crmsync_conf_json_len(&deal->stage);

        p = ngx_pnalloc(cf->pool, len);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        conf->deal_head.data = p;
        p = ngx_cpymem(p, "{\"v\":1,\"pipeline\":",
                       sizeof("{\"v\":1,\"pipeline\":") - 1);
        p = ngx_http_crmsync_conf_json(p, &deal->pipeline);
        p = ngx_cpymem(p, ",\"stage\":", sizeof(",\"stage\":") - 1);
        p = ngx_http_crmsync_conf_json(p, &deal->stage);
        p = ngx_cpymem(p, ",\"name\":", sizeof(",\"name\":") - 1);
        conf->deal_head.len = p - conf->deal_head.data;

        len = sizeof(",\"lifecycle\":\"\",\"rr\":[]")
              + conf->lifecycle_on_deal.len;

        rr = conf->owner_rr ? conf->owner_rr->elts : NULL;

        for (i = 0; rr && i < conf->owner_rr->nelts; i++) {
            len += ngx_http_crmsync_conf_json_len(&rr[i]) + 1;
        }

        p = ngx_pnalloc(cf->pool, len);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        conf->deal_tail.data = p;

        if (conf->lifecycle_on_deal.len) {
            p = ngx_sprintf(p, ",\"lifecycle\":\"%V\"",
                            &conf->lifecycle_on_deal);
        }

        if (rr) {
            p = ngx_cpymem(p, ",\"rr\":[", sizeof(",\"rr\":[") - 1);

            for (i = 0; i < conf->owner_rr->nelts; i++) {
                if (i) {
                    *p++ = ',';
                }

                p = ngx_http_crmsync_conf_json(p, &rr[i]);
            }

            *p++ = ']';
        }

        conf->deal_tail.len = p - conf->deal_tail.data;

    } else {
        ngx_str_set(&conf->pipeline_json, "");
    }

    len = conf->pipeline_json.len + sizeof(",\"when\":\"assigned\"");

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    conf->transcript_tail.data = p;
    p = ngx_cpymem(p, conf->pipeline_json.data, conf->pipeline_json.len);
    p = ngx_sprintf(p, ",\"when\":\"%s\"", when[conf->transcript_when]);
    conf->transcript_tail.len = p - conf->transcript_tail.data;

    if (conf->task) {
        len = sizeof(",\"due\":,\"owner\":,\"key\":") + NGX_INT_T_LEN
              + ngx_http_crmsync_conf_json_len(&conf->task->owner);

        p = ngx_pnalloc(cf->pool, len);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        conf->task_mid.data = p;
        p = ngx_sprintf(p, ",\"due\":%M,\"owner\":", conf->task->due);
        p = ngx_http_crmsync_conf_json(p, &conf->task->owner);
        p = ngx_cpymem(p, ",\"key\":", sizeof(",\"key\":") - 1);
        conf->task_mid.len = p - conf->task_mid.data;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_crmsync_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_crmsync_status_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_crmsync_lookup(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_crmsync_lookup_handler;

    cslcf->clcf = clcf;

    return NGX_CONF_OK;
}


static char *
ngx_http_crmsync_check_window(ngx_conf_t *cf, void *post, void *data)
{
    time_t  *sp = data;

    if (*sp < 1 || *sp > 86400) {
        return "must be between 1s and 24h";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_crmsync_check_positive(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *mp = data;

    if (*mp == 0) {
        return "must be more than 0";
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_crmsync_init_module(ngx_cycle_t *cycle)
{
    char                           err[256];
    ngx_http_crmsync_main_conf_t  *mcf;

    /*
     * phone regexes are compiled once in the master (or the single
     * process); workers inherit them across fork() read-only
     */

    if (ngx_http_crmsync_phone_init() != 0) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "crmsync: could not compile the phone metadata");
        return NGX_ERROR;
    }

    /* the schema is made or migrated here, before any worker opens it */

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_crmsync_module);

    if (mcf == NULL || mcf->store.len == 0) {
        return NGX_OK;
    }

    if (ngx_http_crmsync_store_init((char *) mcf->store.data, err,
                                    sizeof(err))
        != 0)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "crmsync_store \"%V\" cannot be used: %s",
                      &mcf->store, err);
        return NGX_ERROR;
    }

    return ngx_http_crmsync_store_owner(cycle, &mcf->store);
}


/*
 * A master that runs as root made the store: the workers, under "user",
 * must be able to write it, and to make its -wal and -shm files beside
 * it, so its directory must be writable by them too.
 */

static ngx_int_t
ngx_http_crmsync_store_owner(ngx_cycle_t *cycle, ngx_str_t *store)
{
    u_char           *p, path[NGX_MAX_PATH + 8];
    ngx_uint_t        i;
    ngx_file_info_t   fi;
    ngx_core_conf_t  *ccf;

    static const char  *suffix[] = { "", "-wal", "-shm" };

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    if (geteuid() != 0 || ccf->user == (ngx_uid_t) NGX_CONF_UNSET_UINT
        || ccf->user == 0 || store->len > NGX_MAX_PATH)
    {
        return NGX_OK;
    }

    for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        ngx_sprintf(path, "%V%s%Z", store, suffix[i]);

        if (chown((char *) path, ccf->user, ccf->group) == -1
            && ngx_errno != NGX_ENOENT)
        {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                          "chown(\"%s\", %s) failed", path, ccf->username);
            return NGX_ERROR;
        }
    }

    /* the store's path is absolute: ngx_conf_full_name() */

    p = ngx_cpymem(path, store->data, store->len);

    while (p > path + 1 && p[-1] != '/') {
        p--;
    }

    p[p == path + 1 ? 0 : -1] = '\0';

    if (ngx_file_info(path, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      ngx_file_info_n " \"%s\" failed", path);
        return NGX_ERROR;
    }

    if ((fi.st_uid == ccf->user && (fi.st_mode & S_IWUSR))
        || (fi.st_gid == ccf->group && (fi.st_mode & S_IWGRP))
        || (fi.st_mode & S_IWOTH))
    {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                  "the directory \"%s\" of \"crmsync_store\" must be "
                  "writable by the workers' user \"%s\": SQLite makes the "
                  "-wal and -shm files beside the store", path,
                  ccf->username);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_crmsync_init_process(ngx_cycle_t *cycle)
{
    ngx_http_crmsync_main_conf_t  *mcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_crmsync_module);

    if (mcf == NULL || mcf->store.len == 0) {
        return NGX_OK;
    }

    if (ngx_http_crmsync_ingest_init_worker(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_crmsync_sync_init_worker(cycle);
}


static void
ngx_http_crmsync_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_crmsync_sync_exit_worker(cycle);
    ngx_http_crmsync_ingest_exit_worker(cycle);

    /* the phone tables the configuration compiled, as the master does */
    ngx_http_crmsync_phone_cleanup();
}


static void
ngx_http_crmsync_exit_master(ngx_cycle_t *cycle)
{
    ngx_http_crmsync_phone_cleanup();
}


static ngx_int_t
ngx_http_crmsync_init(ngx_conf_t *cf)
{
    return ngx_http_crmsync_filter_init(cf);
}
