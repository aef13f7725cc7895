
/*
 * Copyright (C) crmsync authors
 *
 * Phone normalization speed over the labelled corpus, on one core, and
 * the memory of the compiled tables and regexes.
 *
 *   phone-bench [corpus.tsv] [seconds]
 */


#define _GNU_SOURCE

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ngx_http_crmsync_phone.h"


typedef struct {
    char    *raw;
    size_t   len;
    char    *region;
} bench_row_t;


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


/* CPU time of this thread: the figure does not depend on other load */

static double
cpu(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static long
rss_kb(void)
{
    long   pages, rss;
    FILE  *f;

    f = fopen("/proc/self/statm", "r");
    if (f == NULL) {
        return -1;
    }

    if (fscanf(f, "%ld %ld", &pages, &rss) != 2) {
        rss = -1;
    }

    fclose(f);

    return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}


int
main(int argc, char **argv)
{
    int                       ok;
    char                     *line, *tab;
    long                      rss0, rss1;
    size_t                    cap, n, nrows, maxrows, i, iters;
    double                    t0, t1, c0, c1, secs;
    FILE                     *f;
    cpu_set_t                 cpus;
    bench_row_t              *rows;
    ngx_http_crmsync_phone_t  ph;

    f = fopen(argc > 1 ? argv[1] : "t/phone/corpus.tsv", "r");
    if (f == NULL) {
        perror("corpus");
        return 1;
    }

    secs = argc > 2 ? atof(argv[2]) : 3.0;

    CPU_ZERO(&cpus);
    CPU_SET(0, &cpus);
    (void) sched_setaffinity(0, sizeof(cpus), &cpus);

    rows = NULL;
    nrows = 0;
    maxrows = 0;
    line = NULL;
    cap = 0;

    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\r\n")] = '\0';

        tab = strchr(line, '\t');
        if (tab == NULL) {
            continue;
        }

        *tab++ = '\0';
        tab[strcspn(tab, "\t")] = '\0';

        if (nrows == maxrows) {
            maxrows = maxrows ? maxrows * 2 : 4096;
            rows = realloc(rows, maxrows * sizeof(bench_row_t));
            if (rows == NULL) {
                return 1;
            }
        }

        rows[nrows].raw = strdup(line);
        rows[nrows].len = strlen(line);
        rows[nrows].region = strdup(tab);
        nrows++;
    }

    free(line);
    fclose(f);

    if (nrows == 0) {
        fprintf(stderr, "empty corpus\n");
        return 1;
    }

    rss0 = rss_kb();

    t0 = now();
    if (ngx_http_crmsync_phone_init() != 0) {
        fprintf(stderr, "init failed\n");
        return 1;
    }
    t1 = now();

    rss1 = rss_kb();

    printf("phone init: %.1f ms; compiled tables + regexes: %zu bytes "
           "(%.2f MB); RSS growth at init: %ld KB\n",
           (t1 - t0) * 1e3, ngx_http_crmsync_phone_memory(),
           ngx_http_crmsync_phone_memory() / 1048576.0, rss1 - rss0);

    /* warm up, then time whole passes over the corpus */

    ok = 0;
    for (i = 0; i < nrows; i++) {
        ok += ngx_http_crmsync_phone_parse((unsigned char *) rows[i].raw,
                                           rows[i].len, rows[i].region,
                                           &ph) == 0;
    }

    iters = 0;
    n = 0;
    t0 = now();
    c0 = cpu();

    do {
        for (i = 0; i < nrows; i++) {
            (void) ngx_http_crmsync_phone_parse((unsigned char *) rows[i].raw,
                                                rows[i].len, rows[i].region,
                                                &ph);
        }

        n += nrows;
        iters++;
        c1 = cpu();

    } while (c1 - c0 < secs);

    t1 = now();

    printf("phone parse: %zu rows (%d parsed), %zu passes: %.0f "
           "normalizations/s of CPU time on one core (%.2f us each); "
           "%.0f/s wall clock\n",
           nrows, ok, iters, n / (c1 - c0), (c1 - c0) * 1e6 / n,
           n / (t1 - t0));

    printf("phone after the run: RSS %ld KB\n", rss_kb());

    ngx_http_crmsync_phone_cleanup();

    for (i = 0; i < nrows; i++) {
        free(rows[i].raw);
        free(rows[i].region);
    }

    free(rows);

    return 0;
}
