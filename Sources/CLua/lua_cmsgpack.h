#ifndef REDIS_UV_LUA_CMSGPACK_H
#define REDIS_UV_LUA_CMSGPACK_H
/* The `cmsgpack` library Redis 7.0 loads (lua-cmsgpack 0.4 as Redis ships it):
 * cmsgpack.pack(...), cmsgpack.unpack(s), cmsgpack.unpack_one(s [, offset]),
 * cmsgpack.unpack_limit(s, limit [, offset]). Written here from its documented
 * behaviour: integers in the smallest encoding, floats as float32 when exact, tables
 * with keys 1..n as arrays, nesting cut at 16 levels (nil beyond). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>

#define RUV_MP_MAX_NESTING 16

typedef struct { unsigned char *b; size_t len, cap; } ruv_mp_buf;

static void ruv_mp_append(ruv_mp_buf *buf, const void *s, size_t n) {
    if (buf->len + n > buf->cap) {
        size_t cap = buf->cap ? buf->cap : 64;
        while (cap < buf->len + n) cap *= 2;
        buf->b = (unsigned char *)realloc(buf->b, cap);
        buf->cap = cap;
    }
    memcpy(buf->b + buf->len, s, n);
    buf->len += n;
}

static void ruv_mp_be(ruv_mp_buf *buf, unsigned char tag, uint64_t v, int bytes) {
    unsigned char b[9];
    b[0] = tag;
    for (int i = 0; i < bytes; i++) b[1 + i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    ruv_mp_append(buf, b, 1 + bytes);
}

static void ruv_mp_encode_bytes(ruv_mp_buf *buf, const char *s, size_t len) {
    if (len < 32) {
        unsigned char h = 0xa0 | (unsigned char)len;
        ruv_mp_append(buf, &h, 1);
    } else if (len <= 0xff) {
        ruv_mp_be(buf, 0xd9, len, 1);
    } else if (len <= 0xffff) {
        ruv_mp_be(buf, 0xda, len, 2);
    } else {
        ruv_mp_be(buf, 0xdb, len, 4);
    }
    ruv_mp_append(buf, s, len);
}

static void ruv_mp_encode_int(ruv_mp_buf *buf, int64_t n) {
    if (n >= 0) {
        if (n <= 127) { unsigned char c = (unsigned char)n; ruv_mp_append(buf, &c, 1); }
        else if (n <= 0xff) ruv_mp_be(buf, 0xcc, (uint64_t)n, 1);
        else if (n <= 0xffff) ruv_mp_be(buf, 0xcd, (uint64_t)n, 2);
        else if (n <= 0xffffffffLL) ruv_mp_be(buf, 0xce, (uint64_t)n, 4);
        else ruv_mp_be(buf, 0xcf, (uint64_t)n, 8);
    } else {
        if (n >= -32) { unsigned char c = (unsigned char)(signed char)n; ruv_mp_append(buf, &c, 1); }
        else if (n >= -128) ruv_mp_be(buf, 0xd0, (uint64_t)n & 0xff, 1);
        else if (n >= -32768) ruv_mp_be(buf, 0xd1, (uint64_t)n & 0xffff, 2);
        else if (n >= -2147483648LL) ruv_mp_be(buf, 0xd2, (uint64_t)n & 0xffffffff, 4);
        else ruv_mp_be(buf, 0xd3, (uint64_t)n, 8);
    }
}

static void ruv_mp_encode_double(ruv_mp_buf *buf, double d) {
    float f = (float)d;
    if (d == (double)f) {
        uint32_t u;
        memcpy(&u, &f, 4);
        ruv_mp_be(buf, 0xca, u, 4);
    } else {
        uint64_t u;
        memcpy(&u, &d, 8);
        ruv_mp_be(buf, 0xcb, u, 8);
    }
}

static void ruv_mp_encode_lua_type(lua_State *L, ruv_mp_buf *buf, int level);

/* Keys 1..n and nothing else (table_is_an_array). */
static int ruv_mp_table_is_array(lua_State *L) {
    long count = 0, max = 0;
    int top = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TNUMBER) { lua_settop(L, top); return 0; }
        lua_Number n = lua_tonumber(L, -1);
        long idx = (long)n;
        if ((lua_Number)idx != n || idx < 1) { lua_settop(L, top); return 0; }
        count++;
        if (idx > max) max = idx;
    }
    lua_settop(L, top);
    return max == count;
}

static void ruv_mp_encode_table(lua_State *L, ruv_mp_buf *buf, int level) {
    if (ruv_mp_table_is_array(L)) {
        size_t len = lua_objlen(L, -1);
        if (len <= 15) { unsigned char h = 0x90 | (unsigned char)len; ruv_mp_append(buf, &h, 1); }
        else if (len <= 0xffff) ruv_mp_be(buf, 0xdc, len, 2);
        else ruv_mp_be(buf, 0xdd, len, 4);
        luaL_checkstack(L, 1, "in function mp_encode_lua_table_as_array");
        for (size_t j = 1; j <= len; j++) {
            lua_pushnumber(L, (lua_Number)j);
            lua_gettable(L, -2);
            ruv_mp_encode_lua_type(L, buf, level + 1);
        }
    } else {
        size_t len = 0;
        luaL_checkstack(L, 3, "in function mp_encode_lua_table_as_map");
        lua_pushnil(L);
        while (lua_next(L, -2)) { lua_pop(L, 1); len++; }
        if (len <= 15) { unsigned char h = 0x80 | (unsigned char)len; ruv_mp_append(buf, &h, 1); }
        else if (len <= 0xffff) ruv_mp_be(buf, 0xde, len, 2);
        else ruv_mp_be(buf, 0xdf, len, 4);
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pushvalue(L, -2);
            ruv_mp_encode_lua_type(L, buf, level + 1);  /* key */
            ruv_mp_encode_lua_type(L, buf, level + 1);  /* value */
        }
    }
}

/* Encodes the value on top of the stack and pops it. */
static void ruv_mp_encode_lua_type(lua_State *L, ruv_mp_buf *buf, int level) {
    int t = lua_type(L, -1);
    if (t == LUA_TTABLE && level == RUV_MP_MAX_NESTING) t = LUA_TNIL;
    switch (t) {
    case LUA_TBOOLEAN: {
        unsigned char c = lua_toboolean(L, -1) ? 0xc3 : 0xc2;
        ruv_mp_append(buf, &c, 1);
        break;
    }
    case LUA_TNUMBER: {
        lua_Number n = lua_tonumber(L, -1);
        if (!isinf(n) && (lua_Number)(int64_t)n == n) ruv_mp_encode_int(buf, (int64_t)lua_tointeger(L, -1));
        else ruv_mp_encode_double(buf, (double)n);
        break;
    }
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        ruv_mp_encode_bytes(buf, s, len);
        break;
    }
    case LUA_TTABLE:
        ruv_mp_encode_table(L, buf, level);
        break;
    default: {
        unsigned char c = 0xc0;
        ruv_mp_append(buf, &c, 1);
    }
    }
    lua_pop(L, 1);
}

static int ruv_mp_pack(lua_State *L) {
    int nargs = lua_gettop(L);
    if (nargs == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
    if (!lua_checkstack(L, nargs)) return luaL_argerror(L, 0, "Too many arguments for MessagePack pack.");
    ruv_mp_buf buf = {0, 0, 0};
    for (int i = 1; i <= nargs; i++) {
        luaL_checkstack(L, 1, "in function mp_check");
        lua_pushvalue(L, i);
        ruv_mp_encode_lua_type(L, &buf, 0);
        lua_pushlstring(L, (const char *)buf.b, buf.len);
        buf.len = 0;
    }
    free(buf.b);
    lua_concat(L, nargs);
    return 1;
}

/* ---- decoding ---- */
typedef struct { const unsigned char *p; size_t left; int err; } ruv_mp_cur;
#define RUV_MP_ERR_EOF 1
#define RUV_MP_ERR_BADFMT 2

static int ruv_mp_need(ruv_mp_cur *c, size_t n) {
    if (c->left < n) { c->err = RUV_MP_ERR_EOF; return 0; }
    return 1;
}

static uint64_t ruv_mp_read_be(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v = (v << 8) | p[i];
    return v;
}

static void ruv_mp_consume(ruv_mp_cur *c, size_t n) { c->p += n; c->left -= n; }

static void ruv_mp_decode_to_lua_type(lua_State *L, ruv_mp_cur *c);

static void ruv_mp_decode_array(lua_State *L, ruv_mp_cur *c, size_t len) {
    lua_newtable(L);
    for (size_t i = 1; i <= len; i++) {
        luaL_checkstack(L, 2, "in function mp_decode_to_lua_array");
        lua_pushnumber(L, (lua_Number)i);
        ruv_mp_decode_to_lua_type(L, c);
        if (c->err) return;
        lua_settable(L, -3);
    }
}

static void ruv_mp_decode_map(lua_State *L, ruv_mp_cur *c, size_t len) {
    lua_newtable(L);
    while (len--) {
        luaL_checkstack(L, 2, "in function mp_decode_to_lua_hash");
        ruv_mp_decode_to_lua_type(L, c);
        if (c->err) return;
        ruv_mp_decode_to_lua_type(L, c);
        if (c->err) return;
        lua_settable(L, -3);
    }
}

static void ruv_mp_decode_str(lua_State *L, ruv_mp_cur *c, size_t hdr, int lenbytes) {
    if (!ruv_mp_need(c, hdr)) return;
    size_t len = lenbytes ? (size_t)ruv_mp_read_be(c->p + 1, lenbytes) : (size_t)(c->p[0] & 0x1f);
    if (!ruv_mp_need(c, hdr + len)) return;
    lua_pushlstring(L, (const char *)c->p + hdr, len);
    ruv_mp_consume(c, hdr + len);
}

static void ruv_mp_decode_to_lua_type(lua_State *L, ruv_mp_cur *c) {
    if (!ruv_mp_need(c, 1)) return;
    unsigned char t = c->p[0];
    switch (t) {
    case 0xcc: case 0xcd: case 0xce: case 0xcf: {
        int bytes = 1 << (t - 0xcc);
        if (!ruv_mp_need(c, 1 + bytes)) return;
        /* uint 64 goes through lua_Integer, as Redis's: past INT64_MAX it turns negative. */
        if (t == 0xcf) lua_pushinteger(L, (lua_Integer)ruv_mp_read_be(c->p + 1, bytes));
        else lua_pushnumber(L, (lua_Number)ruv_mp_read_be(c->p + 1, bytes));
        ruv_mp_consume(c, 1 + bytes);
        break;
    }
    case 0xd0: if (!ruv_mp_need(c, 2)) return; lua_pushnumber(L, (lua_Number)(int8_t)c->p[1]); ruv_mp_consume(c, 2); break;
    case 0xd1: if (!ruv_mp_need(c, 3)) return; lua_pushnumber(L, (lua_Number)(int16_t)ruv_mp_read_be(c->p + 1, 2)); ruv_mp_consume(c, 3); break;
    case 0xd2: if (!ruv_mp_need(c, 5)) return; lua_pushnumber(L, (lua_Number)(int32_t)ruv_mp_read_be(c->p + 1, 4)); ruv_mp_consume(c, 5); break;
    case 0xd3: if (!ruv_mp_need(c, 9)) return; lua_pushnumber(L, (lua_Number)(int64_t)ruv_mp_read_be(c->p + 1, 8)); ruv_mp_consume(c, 9); break;
    case 0xc0: lua_pushnil(L); ruv_mp_consume(c, 1); break;
    case 0xc3: lua_pushboolean(L, 1); ruv_mp_consume(c, 1); break;
    case 0xc2: lua_pushboolean(L, 0); ruv_mp_consume(c, 1); break;
    case 0xca: {
        if (!ruv_mp_need(c, 5)) return;
        uint32_t u = (uint32_t)ruv_mp_read_be(c->p + 1, 4);
        float f;
        memcpy(&f, &u, 4);
        lua_pushnumber(L, (lua_Number)f);
        ruv_mp_consume(c, 5);
        break;
    }
    case 0xcb: {
        if (!ruv_mp_need(c, 9)) return;
        uint64_t u = ruv_mp_read_be(c->p + 1, 8);
        double d;
        memcpy(&d, &u, 8);
        lua_pushnumber(L, (lua_Number)d);
        ruv_mp_consume(c, 9);
        break;
    }
    case 0xd9: ruv_mp_decode_str(L, c, 2, 1); break;
    case 0xda: ruv_mp_decode_str(L, c, 3, 2); break;
    case 0xdb: ruv_mp_decode_str(L, c, 5, 4); break;
    case 0xdc: case 0xdd: {
        int bytes = t == 0xdc ? 2 : 4;
        if (!ruv_mp_need(c, 1 + bytes)) return;
        size_t len = (size_t)ruv_mp_read_be(c->p + 1, bytes);
        ruv_mp_consume(c, 1 + bytes);
        ruv_mp_decode_array(L, c, len);
        break;
    }
    case 0xde: case 0xdf: {
        int bytes = t == 0xde ? 2 : 4;
        if (!ruv_mp_need(c, 1 + bytes)) return;
        size_t len = (size_t)ruv_mp_read_be(c->p + 1, bytes);
        ruv_mp_consume(c, 1 + bytes);
        ruv_mp_decode_map(L, c, len);
        break;
    }
    default:
        if ((t & 0x80) == 0) { lua_pushnumber(L, (lua_Number)t); ruv_mp_consume(c, 1); }
        else if ((t & 0xe0) == 0xe0) { lua_pushnumber(L, (lua_Number)(signed char)t); ruv_mp_consume(c, 1); }
        else if ((t & 0xe0) == 0xa0) ruv_mp_decode_str(L, c, 1, 0);
        else if ((t & 0xf0) == 0x90) { ruv_mp_consume(c, 1); ruv_mp_decode_array(L, c, t & 0xf); }
        else if ((t & 0xf0) == 0x80) { ruv_mp_consume(c, 1); ruv_mp_decode_map(L, c, t & 0xf); }
        else c->err = RUV_MP_ERR_BADFMT;
    }
}

static int ruv_mp_unpack_full(lua_State *L, int limit, int offset) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    int decode_all = (!limit && !offset);
    if (offset < 0 || limit < 0)
        return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.", offset, (int)len);
    else if ((size_t)offset > len)
        return luaL_error(L, "Start offset %d greater than input length %d.", offset, (int)len);
    if (decode_all) limit = INT_MAX;
    ruv_mp_cur c = {(const unsigned char *)s + offset, len - offset, 0};
    int cnt;
    for (cnt = 0; c.left > 0 && cnt < limit; cnt++) {
        ruv_mp_decode_to_lua_type(L, &c);
        if (c.err == RUV_MP_ERR_EOF) return luaL_error(L, "Missing bytes in input.");
        else if (c.err == RUV_MP_ERR_BADFMT) return luaL_error(L, "Bad data format in input.");
    }
    if (!decode_all) {
        int next = (int)(len - c.left);
        luaL_checkstack(L, 1, "in function mp_unpack_full");
        lua_pushinteger(L, c.left == 0 ? -1 : next);
        lua_insert(L, 2);
        cnt += 1;
    }
    return cnt;
}

static int ruv_mp_unpack(lua_State *L) { return ruv_mp_unpack_full(L, 0, 0); }

static int ruv_mp_unpack_one(lua_State *L) {
    int offset = (int)luaL_optinteger(L, 2, 0);
    lua_pop(L, lua_gettop(L) - 1);
    return ruv_mp_unpack_full(L, 1, offset);
}

static int ruv_mp_unpack_limit(lua_State *L) {
    int limit = (int)luaL_checkinteger(L, 2);
    int offset = (int)luaL_optinteger(L, 3, 0);
    lua_pop(L, lua_gettop(L) - 1);
    return ruv_mp_unpack_full(L, limit, offset);
}

static int luaopen_cmsgpack(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"pack", ruv_mp_pack}, {"unpack", ruv_mp_unpack}, {"unpack_one", ruv_mp_unpack_one},
        {"unpack_limit", ruv_mp_unpack_limit}, {NULL, NULL}};
    luaL_register(L, "cmsgpack", fns);
    lua_pushliteral(L, "cmsgpack");
    lua_setfield(L, -2, "_NAME");
    lua_pushliteral(L, "lua-cmsgpack 0.4.0");
    lua_setfield(L, -2, "_VERSION");
    lua_pushliteral(L, "Copyright (C) 2012, Salvatore Sanfilippo");
    lua_setfield(L, -2, "_COPYRIGHT");
    lua_pushliteral(L, "MessagePack C implementation for Lua");
    lua_setfield(L, -2, "_DESCRIPTION");
    return 1;
}
#endif
