
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


#define NGX_HTTP_CRMSYNC_SECRET_FILE_MAX  65536


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
static ngx_int_t ngx_http_crmsync_init_module(ngx_cycle_t *cycle);
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

      ngx_null_command
};


static ngx_http_module_t  ngx_http_crmsync_module_ctx = {
    ngx_http_crmsync_add_variables,        /* preconfiguration */
    ngx_http_crmsync_init,                 /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

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
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
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
     */

    conf->secrets = NGX_CONF_UNSET_PTR;
    conf->public_url = NGX_CONF_UNSET_PTR;
    conf->replay_window = NGX_CONF_UNSET;
    conf->log_level = NGX_CONF_UNSET_UINT;
    conf->region_set = NGX_CONF_UNSET;

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

    return NGX_CONF_OK;
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
 * One secret a line; blank lines and lines starting with '#' are skipped,
 * spaces around a secret trimmed.  The file is read with the rest of the
 * configuration, so a reload picks up a rotated secret.
 */

static char *
ngx_http_crmsync_secret_file(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_crmsync_loc_conf_t *cslcf = conf;

    u_char          *p, *last, *start, *end;
    ssize_t          n;
    ngx_str_t       *value, *s;
    ngx_file_t       file;
    ngx_uint_t       count;
    ngx_array_t     *a;
    ngx_file_info_t  fi;

    value = cf->args->elts;

    if (ngx_conf_full_name(cf->cycle, &value[1], 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = value[1];
    file.log = cf->log;

    file.fd = ngx_open_file(value[1].data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", &value[1]);
        goto failed;
    }

    if (!ngx_is_file(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "secret file \"%V\" is not a regular file",
                           &value[1]);
        goto failed;
    }

    if (ngx_file_size(&fi) > NGX_HTTP_CRMSYNC_SECRET_FILE_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "secret file \"%V\" is over %d bytes",
                           &value[1], NGX_HTTP_CRMSYNC_SECRET_FILE_MAX);
        goto failed;
    }

    if (ngx_file_access(&fi) & 0004) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "secret file \"%V\" is readable by anyone",
                           &value[1]);
    }

    p = ngx_pnalloc(cf->pool, (size_t) ngx_file_size(&fi));
    if (p == NULL) {
        goto failed;
    }

    n = ngx_read_file(&file, p, (size_t) ngx_file_size(&fi), 0);

    if (n == NGX_ERROR) {
        goto failed;
    }

    a = ngx_http_crmsync_secrets(cf, cslcf);
    if (a == NULL) {
        goto failed;
    }

    count = 0;
    last = p + n;

    while (p < last) {
        start = p;

        while (p < last && *p != LF) {
            p++;
        }

        end = p++;

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

        s = ngx_array_push(a);
        if (s == NULL) {
            goto failed;
        }

        s->data = start;
        s->len = end - start;
        count++;
    }

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", &value[1]);
    }

    if (count == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "secret file \"%V\" holds no secret", &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;

failed:

    if (ngx_close_file(file.fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", &value[1]);
    }

    return NGX_CONF_ERROR;
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


static char *
ngx_http_crmsync_check_window(ngx_conf_t *cf, void *post, void *data)
{
    time_t  *sp = data;

    if (*sp < 1 || *sp > 86400) {
        return "must be between 1s and 24h";
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_crmsync_init_module(ngx_cycle_t *cycle)
{
    /*
     * phone regexes are compiled once in the master (or the single
     * process); workers inherit them across fork() read-only
     */

    if (ngx_http_crmsync_phone_init() != 0) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "crmsync: could not compile the phone metadata");
        return NGX_ERROR;
    }

    return NGX_OK;
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
