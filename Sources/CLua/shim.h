#ifndef REDIS_UV_CLUA_SHIM_H
#define REDIS_UV_CLUA_SHIM_H
/* Debian's Lua 5.1 (the interpreter Redis embeds) plus the cjson and bit libraries, linked
 * statically from lua-cjson-dev / lua-bitop-dev. Only Sources/RedisUV/Scripting/ imports
 * this module.
 *
 * Lua raises errors with longjmp, which must never cross Swift frames. So every place that
 * may raise lives here in C: the sandbox's metamethods, math.random's argument checks, and
 * a trampoline that turns a Swift function's "error" result (-1, error value on top of the
 * stack) into lua_error once the Swift frame has returned. */
#include <lua5.1/lua.h>
#include <lua5.1/lauxlib.h>
#include <lua5.1/lualib.h>
#include <lua5.1/lua-cjson.h>
#include <lua5.1/lua-bitop.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
/* Not packaged by Debian: written here (see each header). */
#include "lua_struct.h"
#include "lua_cmsgpack.h"

/* Function-like macros Swift cannot import. */
static inline void ruv_lua_pop(lua_State *L, int n) { lua_settop(L, -(n)-1); }
static inline void ruv_lua_newtable(lua_State *L) { lua_createtable(L, 0, 0); }
static inline void ruv_lua_pushcfunction(lua_State *L, lua_CFunction f) { lua_pushcclosure(L, f, 0); }
static inline void ruv_lua_getglobal(lua_State *L, const char *k) { lua_getfield(L, LUA_GLOBALSINDEX, k); }
static inline void ruv_lua_setglobal(lua_State *L, const char *k) { lua_setfield(L, LUA_GLOBALSINDEX, k); }
static inline int ruv_lua_upvalueindex(int i) { return LUA_GLOBALSINDEX - i; }
static inline int ruv_lua_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline int ruv_lua_globalsindex(void) { return LUA_GLOBALSINDEX; }

/* A Swift function returning -1 means "raise the value on top of the stack". */
static int ruv_raising_trampoline(lua_State *L) {
    lua_CFunction f = (lua_CFunction)lua_touserdata(L, lua_upvalueindex(1));
    int n = f(L);
    if (n < 0) return lua_error(L);
    return n;
}

/* Pushes `f` behind the trampoline, with `ctx` (the server) as its upvalue 2. */
static inline void ruv_push_raising(lua_State *L, lua_CFunction f, void *ctx) {
    lua_pushlightuserdata(L, (void *)f);
    lua_pushlightuserdata(L, ctx);
    lua_pushcclosure(L, ruv_raising_trampoline, 2);
}

/* Redis's luaRedisPcall: pcall that hands back a table error's `err` field, so
 * `pcall(redis.call, ...)` sees the message as before 7.0. */
static int ruv_pcall(lua_State *L) {
    int argc = lua_gettop(L);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    if (lua_pcall(L, argc - 1, LUA_MULTRET, 0)) {
        lua_remove(L, 1);
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            if (lua_isstring(L, -1)) {
                lua_replace(L, -2);
            } else {
                lua_pop(L, 1);
            }
        }
        lua_pushboolean(L, 0);
        lua_insert(L, 1);
    }
    return lua_gettop(L);
}

/* ---- The sandbox ----
 * Redis patches its Lua with read-only tables; stock 5.1 has none, so the globals and
 * every library table the scripts see are empty proxies: reads fall through (__index) to
 * the real table, writes (__newindex) fail as Redis's read-only tables do. The real
 * globals table's own __index reports a missing global. rawset/setmetatable/next/pairs
 * see through (or refuse) proxies the same way. */

static const char *ruv_proxy_key = "ruv_readonly_proxy";

static int ruv_missing_global(lua_State *L) {
    if (lua_gettop(L) != 2) return luaL_error(L, "Wrong number of arguments to luaProtectedTableError");
    if (!lua_isstring(L, -1) && !lua_isnumber(L, -1))
        return luaL_error(L, "Second argument to luaProtectedTableError must be a string or number");
    const char *name = lua_tostring(L, -1);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", name);
}

static int ruv_readonly_newindex(lua_State *L) {
    return luaL_error(L, "Attempt to modify a readonly table");
}

/* The real table behind a proxy at `idx`, pushed; or nothing pushed and 0 returned. */
static int ruv_push_proxy_target(lua_State *L, int idx) {
    if (!lua_istable(L, idx) || !lua_getmetatable(L, idx)) return 0;
    lua_getfield(L, -1, ruv_proxy_key);
    if (lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        lua_getfield(L, -1, "__index");
        lua_remove(L, -2);
        return 1;
    }
    lua_pop(L, 2);
    return 0;
}

static int ruv_is_proxy(lua_State *L, int idx) {
    if (ruv_push_proxy_target(L, idx)) { lua_pop(L, 1); return 1; }
    return 0;
}

static int ruv_readonly_error_plain(lua_State *L) {
    lua_pushstring(L, "Attempt to modify a readonly table");
    return lua_error(L);
}

static int ruv_rawset(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    if (ruv_is_proxy(L, 1)) return ruv_readonly_error_plain(L);
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

static int ruv_setmetatable(lua_State *L) {
    int t = lua_type(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argcheck(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table expected");
    if (ruv_is_proxy(L, 1)) return ruv_readonly_error_plain(L);
    if (luaL_getmetafield(L, 1, "__metatable")) return luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

static int ruv_next(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (ruv_push_proxy_target(L, 1)) lua_replace(L, 1);
    lua_settop(L, 2);
    if (lua_next(L, 1)) return 2;
    lua_pushnil(L);
    return 1;
}

static int ruv_pairs(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushcfunction(L, ruv_next);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

/* Replaces the table at the top of the stack by a read-only proxy of it. */
static void ruv_make_readonly_proxy(lua_State *L) {
    lua_newtable(L);              /* target proxy */
    lua_newtable(L);              /* target proxy mt */
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, ruv_readonly_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, ruv_proxy_key);
    lua_setmetatable(L, -2);      /* target proxy */
    lua_remove(L, -2);            /* proxy */
}

/* Locks the globals: each library table becomes a read-only proxy, the globals table
 * reports missing names, and the thread's globals become a read-only proxy of it (so
 * the scripts, loadstring's chunks included, can neither add nor change a global).
 * `keep_writable` names globals scripts set through the real table (KEYS, ARGV). */
static void ruv_lock_globals(lua_State *L) {
    static const char *libs[] = {"string", "math", "table", "cjson", "bit", "redis", "coroutine", "cmsgpack", "struct", NULL};
    lua_pushcfunction(L, ruv_rawset);       lua_setfield(L, LUA_GLOBALSINDEX, "rawset");
    lua_pushcfunction(L, ruv_setmetatable); lua_setfield(L, LUA_GLOBALSINDEX, "setmetatable");
    lua_pushcfunction(L, ruv_next);         lua_setfield(L, LUA_GLOBALSINDEX, "next");
    lua_pushcfunction(L, ruv_pairs);        lua_setfield(L, LUA_GLOBALSINDEX, "pairs");
    for (int i = 0; libs[i]; i++) {
        lua_getfield(L, LUA_GLOBALSINDEX, libs[i]);
        if (lua_istable(L, -1)) {
            ruv_make_readonly_proxy(L);
            lua_setfield(L, LUA_GLOBALSINDEX, libs[i]);
        } else {
            lua_pop(L, 1);
        }
    }
    lua_pushvalue(L, LUA_GLOBALSINDEX);     /* G */
    lua_newtable(L);
    lua_pushcfunction(L, ruv_missing_global);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);                   /* G G */
    ruv_make_readonly_proxy(L);             /* G P */
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "_G");              /* G._G = P */
    lua_setfield(L, LUA_REGISTRYINDEX, "ruv_globals_proxy");
    lua_setfield(L, LUA_REGISTRYINDEX, "ruv_globals");
    lua_getfield(L, LUA_REGISTRYINDEX, "ruv_globals_proxy");
    lua_replace(L, LUA_GLOBALSINDEX);
}

/* Sets a global on the real table behind the locked globals (KEYS, ARGV): the value on
 * top of the stack is popped. */
static inline void ruv_set_real_global(lua_State *L, const char *name) {
    lua_getfield(L, LUA_REGISTRYINDEX, "ruv_globals");
    lua_insert(L, -2);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

/* ---- math.random: Redis's redisLrand48 (rand.c), so every script sees the same
 * sequence for the same seed whatever the libc. ---- */
#define RUV_N 16
#define RUV_MASK ((1 << (RUV_N - 1)) + (1 << (RUV_N - 1)) - 1)
#define RUV_LOW(x) ((unsigned)(x) & RUV_MASK)
#define RUV_HIGH(x) RUV_LOW((x) >> RUV_N)
#define RUV_MUL(x, y, z) { int32_t l = (long)(x) * (long)(y); (z)[0] = RUV_LOW(l); (z)[1] = RUV_HIGH(l); }
#define RUV_CARRY(x, y) ((int32_t)(x) + (long)(y) > RUV_MASK)
#define RUV_ADDEQU(x, y, z) (z = RUV_CARRY(x, (y)), x = RUV_LOW(x + (y)))
#define RUV_X0 0x330E
#define RUV_X1 0xABCD
#define RUV_X2 0x1234
#define RUV_A0 0xE66D
#define RUV_A1 0xDEEC
#define RUV_A2 0x5
#define RUV_C 0xB
#define RUV_SET3(x, x0, x1, x2) ((x)[0] = (x0), (x)[1] = (x1), (x)[2] = (x2))
#define RUV_SETLOW(x, y, n) RUV_SET3(x, RUV_LOW((y)[n]), RUV_LOW((y)[(n)+1]), RUV_LOW((y)[(n)+2]))
#define RUV_REST(v) for (i = 0; i < 3; i++) { xsubi[i] = x[i]; x[i] = temp[i]; } return (v);
#define RUV_HI_BIT (1L << (2 * RUV_N - 1))

static uint32_t ruv_rand_x[3] = {RUV_X0, RUV_X1, RUV_X2}, ruv_rand_a[3] = {RUV_A0, RUV_A1, RUV_A2}, ruv_rand_c = RUV_C;

static void ruv_rand_next(void) {
    uint32_t p[2], q[2], r[2], carry0, carry1;
    RUV_MUL(ruv_rand_a[0], ruv_rand_x[0], p);
    RUV_ADDEQU(p[0], ruv_rand_c, carry0);
    RUV_ADDEQU(p[1], carry0, carry1);
    RUV_MUL(ruv_rand_a[0], ruv_rand_x[1], q);
    RUV_ADDEQU(p[1], q[0], carry0);
    RUV_MUL(ruv_rand_a[1], ruv_rand_x[0], r);
    ruv_rand_x[2] = RUV_LOW(carry0 + carry1 + RUV_CARRY(p[1], r[0]) + q[1] + r[1] +
                            ruv_rand_a[0] * ruv_rand_x[2] + ruv_rand_a[1] * ruv_rand_x[1] +
                            ruv_rand_a[2] * ruv_rand_x[0]);
    ruv_rand_x[1] = RUV_LOW(p[1] + r[0]);
    ruv_rand_x[0] = RUV_LOW(p[0]);
}

static int32_t ruv_lrand48(void) {
    ruv_rand_next();
    return (((int32_t)ruv_rand_x[2] << (RUV_N - 1)) + (ruv_rand_x[1] >> 1));
}

static inline void ruv_srand48(int32_t seedval) {
    RUV_SET3(ruv_rand_x, RUV_X0, RUV_LOW(seedval), RUV_HIGH(seedval));
    RUV_SET3(ruv_rand_a, RUV_A0, RUV_A1, RUV_A2);
    ruv_rand_c = RUV_C;
}

#define RUV_LRAND48_MAX INT32_MAX

static int ruv_math_random(lua_State *L) {
    lua_Number r = (lua_Number)(ruv_lrand48() % RUV_LRAND48_MAX) / (lua_Number)RUV_LRAND48_MAX;
    switch (lua_gettop(L)) {
    case 0:
        lua_pushnumber(L, r);
        break;
    case 1: {
        int u = luaL_checkint(L, 1);
        luaL_argcheck(L, 1 <= u, 1, "interval is empty");
        lua_pushnumber(L, floor(r * u) + 1);
        break;
    }
    case 2: {
        int l = luaL_checkint(L, 1);
        int u = luaL_checkint(L, 2);
        luaL_argcheck(L, l <= u, 2, "interval is empty");
        lua_pushnumber(L, floor(r * (u - l + 1)) + l);
        break;
    }
    default:
        return luaL_error(L, "wrong number of arguments");
    }
    return 1;
}

static int ruv_math_randomseed(lua_State *L) {
    ruv_srand48(luaL_checkint(L, 1));
    return 0;
}

/* The libraries Redis 7.0 loads (script_lua.c luaLoadLibraries); no package, os, io. */
static void ruv_open_libraries(lua_State *L) {
    static const luaL_Reg libs[] = {
        {"", luaopen_base}, {LUA_TABLIBNAME, luaopen_table}, {LUA_STRLIBNAME, luaopen_string},
        {LUA_MATHLIBNAME, luaopen_math}, {LUA_DBLIBNAME, luaopen_debug},
        {"cjson", luaopen_cjson}, {"struct", luaopen_struct}, {"cmsgpack", luaopen_cmsgpack},
        {"bit", luaopen_bit}, {NULL, NULL}};
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        lua_pushcfunction(L, lib->func);
        lua_pushstring(L, lib->name);
        lua_call(L, 1, 1);
        /* Debian's cjson returns its table without setting the global Redis has. */
        if (lib->name[0] && lua_istable(L, -1)) {
            lua_getfield(L, LUA_GLOBALSINDEX, lib->name);
            int missing = lua_isnil(L, -1);
            lua_pop(L, 1);
            if (missing) {
                lua_pushvalue(L, -1);
                lua_setfield(L, LUA_GLOBALSINDEX, lib->name);
            }
        }
        lua_pop(L, 1);
    }
    lua_getfield(L, LUA_GLOBALSINDEX, "math");
    lua_pushcfunction(L, ruv_math_random);
    lua_setfield(L, -2, "random");
    lua_pushcfunction(L, ruv_math_randomseed);
    lua_setfield(L, -2, "randomseed");
    lua_pop(L, 1);
    lua_pushcfunction(L, ruv_pcall);
    lua_setfield(L, LUA_GLOBALSINDEX, "pcall");
    /* Redis 7.0.15 leaves these out too (getfenv/setfenv/newproxy could escape the sandbox). */
    static const char *removed[] = {"dofile", "loadfile", "print", "module", "require", "package",
                                    "getfenv", "setfenv", "newproxy", NULL};
    for (int i = 0; removed[i]; i++) {
        lua_pushnil(L);
        lua_setfield(L, LUA_GLOBALSINDEX, removed[i]);
    }
}

/* The count hook that lets a long script serve other clients and be killed
 * (script_lua.c luaMaskCountHook). The Swift side answers whether to kill. */
typedef int (*ruv_interrupt_fn)(lua_State *L);
static ruv_interrupt_fn ruv_interrupt_callback = 0;

static void ruv_kill_hook(lua_State *L, lua_Debug *ar);

static void ruv_count_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    if (ruv_interrupt_callback && ruv_interrupt_callback(L)) {
        /* From now on on every line, so pcall cannot swallow the kill for good. */
        lua_sethook(L, ruv_kill_hook, LUA_MASKLINE, 0);
        ruv_kill_hook(L, ar);
    }
}

static void ruv_kill_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_newtable(L);
    lua_pushstring(L, "ERR Script killed by user with SCRIPT KILL...");
    lua_setfield(L, -2, "err");
    lua_error(L);
}

static inline void ruv_set_interrupt(lua_State *L, ruv_interrupt_fn f, int every) {
    ruv_interrupt_callback = f;
    if (f) lua_sethook(L, ruv_count_hook, LUA_MASKCOUNT, every);
    else lua_sethook(L, 0, 0, 0);
}

/* ---- The Lua debugger (SCRIPT DEBUG, eval.c's LDB) ----
 * luaLdbLineHook: on every new line (and every 100000 instructions) the Swift side is
 * told the line and whether it is in the user's script; a non-zero answer raises the
 * value it left on top of the stack, once the Swift frame is gone. */
typedef int (*ruv_ldb_fn)(lua_State *L, int event, int line, int in_user_script);
static ruv_ldb_fn ruv_ldb_callback = 0;

static void ruv_ldb_hook(lua_State *L, lua_Debug *ar) {
    lua_getstack(L, 0, ar);
    lua_getinfo(L, "Sl", ar);
    int user = strstr(ar->short_src, "user_script") != NULL;
    if (ruv_ldb_callback && ruv_ldb_callback(L, ar->event, ar->currentline, user)) lua_error(L);
}

static inline void ruv_set_ldb_hook(lua_State *L, ruv_ldb_fn f) {
    ruv_ldb_callback = f;
    if (f) lua_sethook(L, ruv_ldb_hook, LUA_MASKLINE | LUA_MASKCOUNT, 100000);
    else lua_sethook(L, 0, 0, 0);
}


/* The frame `level` levels up (ldbTrace): 0 when there is none. */
static inline int ruv_ldb_frame(lua_State *L, int level, int *line, const char **name, int *in_user_script) {
    lua_Debug ar;
    if (!lua_getstack(L, level, &ar)) return 0;
    lua_getinfo(L, "Snl", &ar);
    *line = ar.currentline;
    *name = ar.name;
    *in_user_script = strstr(ar.short_src, "user_script") != NULL;
    return 1;
}

/* Local `i` of the frame `level` levels up, pushed with its name returned (ldbPrint);
 * NULL when there is no such local. *has_frame says whether the frame exists. */
static inline const char *ruv_ldb_getlocal(lua_State *L, int level, int i, int *has_frame) {
    lua_Debug ar;
    if (!lua_getstack(L, level, &ar)) { *has_frame = 0; return NULL; }
    *has_frame = 1;
    return lua_getlocal(L, &ar, i);
}

/* ldbCatStackValueRec's printf formats. */
static inline int ruv_format_g(char *buf, size_t n, double d) { return snprintf(buf, n, "%g", d); }
static inline int ruv_format_pointer(char *buf, size_t n, const char *type, const void *p) {
    return snprintf(buf, n, "\"%s@%p\"", type, p);
}

/* ---- Functions (FUNCTION LOAD) ----
 * While a library loads, the scripts' globals show only the library API (`redis` with
 * register_function, log, the version): function_lua.c's LIBRARY_API_NAME. The view is
 * switched by pointing the globals proxy's __index at one table or the other. */
static inline void ruv_set_globals_view(lua_State *L, int library_api) {
    lua_getfield(L, LUA_REGISTRYINDEX, "ruv_globals_proxy");
    lua_getmetatable(L, -1);
    lua_getfield(L, LUA_REGISTRYINDEX, library_api ? "ruv_library_api" : "ruv_globals");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 2);
}

/* Pops the library API's `redis` table and installs the load-time globals. */
static inline void ruv_install_library_api(lua_State *L) {
    lua_newtable(L);
    lua_pushcfunction(L, ruv_missing_global);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    ruv_make_readonly_proxy(L);   /* redis proxy */
    lua_newtable(L);              /* redis lib */
    lua_insert(L, -2);
    lua_setfield(L, -2, "redis");
    lua_newtable(L);
    lua_pushcfunction(L, ruv_missing_global);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, "ruv_library_api");
}

/* FUNCTION LOAD's 500 ms limit (function_lua.c luaEngineLoadHook). */
static double ruv_load_deadline_ms = 0;

static double ruv_monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void ruv_load_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    if (ruv_monotonic_ms() > ruv_load_deadline_ms) {
        lua_sethook(L, ruv_load_hook, LUA_MASKLINE, 0);
        lua_newtable(L);
        lua_pushstring(L, "ERR FUNCTION LOAD timeout");
        lua_setfield(L, -2, "err");
        lua_error(L);
    }
}

static inline void ruv_set_load_hook(lua_State *L, int timeout_ms) {
    if (timeout_ms > 0) {
        ruv_load_deadline_ms = ruv_monotonic_ms() + timeout_ms;
        lua_sethook(L, ruv_load_hook, LUA_MASKCOUNT, 100000);
    } else {
        lua_sethook(L, 0, 0, 0);
    }
}
#endif
