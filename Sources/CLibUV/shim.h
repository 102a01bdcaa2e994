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
