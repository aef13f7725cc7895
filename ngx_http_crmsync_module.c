
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


#define NGX_HTTP_CRMSYNC_SECRET_FILE_MAX  65536
#define NGX_HTTP_CRMSYNC_RATE_MAX         100000


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
static char *ngx_http_crmsync_lookup(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
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

    { ngx_string("crmsync_portal"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_crmsync_loc_conf_t, portal_name),
      NULL },

    { ngx_string("crmsync_set"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
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

    { ngx_string("crmsync_lookup"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_crmsync_lookup,
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

    if (ngx_array_init(&mcf->portals, cf->pool, 2,
                       sizeof(ngx_http_crmsync_portal_t))
        != NGX_OK
        || ngx_array_init(&mcf->locations, cf->pool, 4,
                          sizeof(ngx_http_crmsync_loc_conf_t *))
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
    ngx_http_crmsync_loc_conf_t   **loc;
    ngx_http_crmsync_main_conf_t   *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_crmsync_module);

    if (mcf->store.len == 0) {
        if (conf->portal_name.len || conf->sets) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"%s\" in location \"%V\" needs \"crmsync_store\"",
                          conf->sets ? "crmsync_set" : "crmsync_portal",
                          &conf->clcf->name);
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

    return NGX_CONF_OK;
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
 *     [timeout=<time>] [ca_file=<path>]
 */

static char *
ngx_http_crmsync_hubspot(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_main_conf_t *mcf = conf;

    u_char                     *p;
    ngx_int_t                   n;
    ngx_str_t                  *value, v, content, api;
    ngx_uint_t                  i;
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


/* crmsync_set <property> <value> */

static char *
ngx_http_crmsync_set(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    u_char                            *p;
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

    if (cslcf->sets == NGX_CONF_UNSET_PTR) {
        cslcf->sets = ngx_array_create(cf->pool, 4,
                                       sizeof(ngx_http_crmsync_set_t));
        if (cslcf->sets == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    set = ngx_array_push(cslcf->sets);
    if (set == NULL) {
        return NGX_CONF_ERROR;
    }

    set->property = value[1];

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = &value[2];
    ccv.complex_value = &set->value;

    if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
        return NGX_CONF_ERROR;
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
