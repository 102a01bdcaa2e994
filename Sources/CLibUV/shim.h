#ifndef REDIS_UV_CLIBUV_SHIM_H
#define REDIS_UV_CLIBUV_SHIM_H
#include <uv.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#endif
