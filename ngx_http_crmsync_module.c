
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


static void *ngx_http_crmsync_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_crmsync_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_crmsync_webhook(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_crmsync_init(ngx_conf_t *cf);


static ngx_command_t  ngx_http_crmsync_commands[] = {

    { ngx_string("crmsync_webhook"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_crmsync_webhook,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_crmsync_module_ctx = {
    NULL,                                  /* preconfiguration */
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
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
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
     *     conf->clcf = NULL;
     */

    return conf;
}


static char *
ngx_http_crmsync_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    /* the webhook handler belongs to one location: nothing inherits */

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


static ngx_int_t
ngx_http_crmsync_init(ngx_conf_t *cf)
{
    return ngx_http_crmsync_filter_init(cf);
}
