/* MULTI / SET / INCR / EXEC load generator for scripts/bench (redis-benchmark sends one
 * command per request, so it cannot time a transaction).
 *
 *   bench-multi PORT CLIENTS TRANSACTIONS PIPELINE
 *
 * Each of CLIENTS connections keeps PIPELINE transactions in flight; prints
 * "transactions/s elapsed_s". A transaction is complete when its EXEC reply ("*2") has
 * arrived: '*' appears in no other reply of this exchange (+OK, +QUEUED, :N), so counting
 * '*' bytes counts finished transactions without a full RESP parser. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char TX[] =
    "*1\r\n$5\r\nMULTI\r\n"
    "*3\r\n$3\r\nSET\r\n$7\r\nbench:k\r\n$5\r\nvalue\r\n"
    "*2\r\n$4\r\nINCR\r\n$9\r\nbench:ctr\r\n"
    "*1\r\n$4\r\nEXEC\r\n";

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) { if (errno == EINTR || errno == EAGAIN) continue; perror("write"); exit(1); }
        p += w; n -= (size_t)w;
    }
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s PORT CLIENTS TRANSACTIONS PIPELINE\n", argv[0]); return 2; }
    int port = atoi(argv[1]), clients = atoi(argv[2]), pipeline = atoi(argv[4]);
    long total = atol(argv[3]);
    long per_client = total / clients;
    size_t txlen = sizeof(TX) - 1;
    char *batch = malloc(txlen * (size_t)pipeline);
    for (int i = 0; i < pipeline; i++) memcpy(batch + txlen * (size_t)i, TX, txlen);

    int ep = epoll_create1(0);
    int *fds = calloc((size_t)clients, sizeof(int));
    long *sent = calloc((size_t)clients, sizeof(long)), *done = calloc((size_t)clients, sizeof(long));
    long *inflight = calloc((size_t)clients, sizeof(long));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    for (int i = 0; i < clients; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fds[i], (struct sockaddr *)&sa, sizeof sa) < 0) { perror("connect"); return 1; }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    double start = now();
    for (int i = 0; i < clients; i++) {
        long n = per_client < pipeline ? per_client : pipeline;
        send_all(fds[i], batch, txlen * (size_t)n);
        sent[i] = n; inflight[i] = n;
    }
    long finished = 0, target = per_client * clients;
    char buf[65536];
    struct epoll_event evs[256];
    while (finished < target) {
        int n = epoll_wait(ep, evs, 256, 10000);
        if (n <= 0) { fprintf(stderr, "bench-multi: timed out (%ld of %ld done)\n", finished, target); return 1; }
        for (int e = 0; e < n; e++) {
            int i = (int)evs[e].data.u32;
            ssize_t r = read(fds[i], buf, sizeof buf);
            if (r <= 0) { fprintf(stderr, "bench-multi: connection closed\n"); return 1; }
            for (ssize_t k = 0; k < r; k++) {
                if (buf[k] == '-') { fprintf(stderr, "bench-multi: error reply: %.*s\n", (int)(r - k > 80 ? 80 : r - k), buf + k); return 1; }
                if (buf[k] == '*') { done[i]++; inflight[i]--; finished++; }
            }
            if (inflight[i] == 0 && sent[i] < per_client) {
                long m = per_client - sent[i] < pipeline ? per_client - sent[i] : pipeline;
                send_all(fds[i], batch, txlen * (size_t)m);
                sent[i] += m; inflight[i] = m;
            }
        }
    }
    double el = now() - start;
    printf("%.0f %.3f\n", finished / el, el);
    return 0;
}
