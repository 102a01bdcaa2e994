#ifndef REDIS_UV_CLIBUV_SHIM_H
#define REDIS_UV_CLIBUV_SHIM_H
#include <uv.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

extern char **environ;

/* Redis's spt_init (setproctitle.c): the argv strings and, right after them, the
 * environment strings form one contiguous area the kernel shows as /proc/PID/cmdline.
 * The environment is copied elsewhere (environ points at the copies) so the whole area
 * can hold a new title. Returns its start and length (0 when argv is not contiguous). */
static inline char *ruv_proc_title_area(int argc, char **argv, size_t *len) {
    *len = 0;
    if (argc < 1 || !argv || !argv[0]) return NULL;
    char *base = argv[0];
    char *end = base + strlen(base) + 1;
    for (int i = 1; i < argc; i++) {
        if (argv[i] != end) return base;  /* not contiguous: keep argv as it is */
        end = argv[i] + strlen(argv[i]) + 1;
    }
    size_t envc = 0;
    while (environ && environ[envc]) envc++;
    char **copy = malloc((envc + 1) * sizeof(char *));
    if (copy) {
        for (size_t i = 0; i < envc; i++) {
            if (environ[i] == end) end = environ[i] + strlen(environ[i]) + 1;
            copy[i] = strdup(environ[i]);
        }
        copy[envc] = NULL;
        environ = copy;
    }
    *len = (size_t)(end - base);
    return base;
}

/* prctl is variadic: Swift cannot call it. */
static inline int ruv_disable_thp(void) { return prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0); }

/* glibc heap totals (Redis's zmalloc_used_memory / allocator active): in use, obtained. */
static inline void ruv_malloc_totals(size_t *used, size_t *obtained) {
    struct mallinfo2 m = mallinfo2();
    *used = m.uordblks + m.hblkhd;
    *obtained = m.arena + m.hblkhd;
}

static inline size_t ruv_malloc_usable_size(void *p) { return malloc_usable_size(p); }

/* A hint to fetch the cache line at `p` (Swift cannot spell __builtin_prefetch). */
static inline void ruv_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

/* A cheap monotonic tick counter for per-command timing (INFO commandstats); calibrated
 * against the clock at startup. clock_gettime per command measured at ~19% of user time. */
static inline unsigned long long ruv_cycles(void) {
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_ia32_rdtsc();
#elif defined(__aarch64__)
    unsigned long long v;
    __asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
    return v;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
#endif
}
#endif
