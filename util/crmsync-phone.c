
/*
 * Copyright (C) crmsync authors
 *
 * crmsync-phone: reads "raw<TAB>REGION" lines on stdin and writes
 * "raw<TAB>REGION<TAB>E164-or-INVALID<TAB>true|false".
 *
 *   -w   parse the raw column as a WhatsApp id (no region, MX 521 rule,
 *        BR ninth digit), and add a fifth column with the other form
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_crmsync_phone.h"


int
main(int argc, char **argv)
{
    int                       whatsapp, rc;
    char                     *line, *tab, *region;
    size_t                    cap;
    ssize_t                   n;
    ngx_http_crmsync_phone_t  ph;

    whatsapp = (argc > 1 && strcmp(argv[1], "-w") == 0);

    if (argc > 1 && !whatsapp) {
        fprintf(stderr, "usage: crmsync-phone [-w] < raw<TAB>REGION lines\n");
        return 2;
    }

    if (ngx_http_crmsync_phone_init() != 0) {
        fprintf(stderr, "crmsync-phone: init failed\n");
        return 1;
    }

    line = NULL;
    cap = 0;

    while ((n = getline(&line, &cap, stdin)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
            line[--n] = '\0';
        }

        tab = memchr(line, '\t', (size_t) n);
        if (tab) {
            *tab = '\0';
            region = tab + 1;
            tab = strchr(region, '\t');
            if (tab) {
                *tab = '\0';
            }

        } else {
            region = line + n;
        }

        if (whatsapp) {
            rc = ngx_http_crmsync_phone_parse_whatsapp(
                     (const unsigned char *) line, strlen(line), &ph);
        } else {
            rc = ngx_http_crmsync_phone_parse((const unsigned char *) line,
                                              strlen(line), region, &ph);
        }

        if (rc == 0) {
            printf("%s\t%s\t%s\t%s", line, region, ph.e164,
                   ph.valid ? "true" : "false");
        } else {
            printf("%s\t%s\tINVALID\tfalse", line, region);
        }

        if (whatsapp) {
            printf("\t%s", rc == 0 ? ph.alt_e164 : "");
        }

        putchar('\n');
    }

    free(line);
    ngx_http_crmsync_phone_cleanup();

    return 0;
}
