#ifndef REDIS_UV_LUA_STRUCT_H
#define REDIS_UV_LUA_STRUCT_H
/* The `struct` library Redis 7.0 loads (Roberto Ierusalimschy's struct 0.2 as Redis
 * ships it): struct.pack(fmt, ...), struct.unpack(fmt, s [, pos]), struct.size(fmt).
 * Written here from its documented behaviour; integers are `long`, alignment at most 8. */
#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#define RUV_STRUCT_BIG 0
#define RUV_STRUCT_LITTLE 1
#define RUV_STRUCT_MAXINTSIZE 32
#define RUV_STRUCT_MAXALIGN 8

typedef long ruv_struct_int;
typedef unsigned long ruv_struct_uint;

typedef struct { int endian; int align; } ruv_struct_header;

static int ruv_struct_native_endian(void) {
    int one = 1;
    return *(char *)&one == 1 ? RUV_STRUCT_LITTLE : RUV_STRUCT_BIG;
}

static int ruv_struct_getnum(lua_State *L, const char **fmt, int df) {
    if (!isdigit((unsigned char)**fmt)) return df;
    int a = 0;
    do {
        if (a > (INT_MAX / 10) || a * 10 > (INT_MAX - (**fmt - '0')))
            luaL_error(L, "integral size overflow");
        a = a * 10 + *((*fmt)++) - '0';
    } while (isdigit((unsigned char)**fmt));
    return a;
}

static size_t ruv_struct_optsize(lua_State *L, char opt, const char **fmt) {
    switch (opt) {
    case 'B': case 'b': return sizeof(char);
    case 'H': case 'h': return sizeof(short);
    case 'L': case 'l': return sizeof(long);
    case 'T': return sizeof(size_t);
    case 'f': return sizeof(float);
    case 'd': return sizeof(double);
    case 'x': return 1;
    case 'c': return ruv_struct_getnum(L, fmt, 1);
    case 'i': case 'I': {
        int sz = ruv_struct_getnum(L, fmt, sizeof(int));
        if (sz > RUV_STRUCT_MAXINTSIZE)
            luaL_error(L, "integral size %d is larger than limit of %d", sz, RUV_STRUCT_MAXINTSIZE);
        return sz;
    }
    default: return 0;
    }
}

static int ruv_struct_gettoalign(size_t len, ruv_struct_header *h, int opt, size_t size) {
    if (size == 0 || opt == 'c') return 0;
    if (size > (size_t)h->align) size = h->align;
    return (int)((size - (len & (size - 1))) & (size - 1));
}

static void ruv_struct_controloptions(lua_State *L, int opt, const char **fmt, ruv_struct_header *h) {
    switch (opt) {
    case ' ': return;
    case '>': h->endian = RUV_STRUCT_BIG; return;
    case '<': h->endian = RUV_STRUCT_LITTLE; return;
    case '!': {
        int a = ruv_struct_getnum(L, fmt, RUV_STRUCT_MAXALIGN);
        if (!(((a) & ((a) - 1)) == 0)) luaL_error(L, "alignment %d is not a power of 2", a);
        h->align = a;
        return;
    }
    default: {
        const char *msg = lua_pushfstring(L, "invalid format option '%c'", opt);
        luaL_argerror(L, 1, msg);
    }
    }
}

static void ruv_struct_putinteger(lua_State *L, luaL_Buffer *b, int arg, int endian, int size) {
    lua_Number n = luaL_checknumber(L, arg);
    ruv_struct_uint value;
    char buff[RUV_STRUCT_MAXINTSIZE];
    if (n < 0) value = (ruv_struct_uint)(ruv_struct_int)n;
    else value = (ruv_struct_uint)n;
    if (endian == RUV_STRUCT_LITTLE) {
        for (int i = 0; i < size; i++) { buff[i] = (value & 0xff); value >>= 8; }
    } else {
        for (int i = size - 1; i >= 0; i--) { buff[i] = (value & 0xff); value >>= 8; }
    }
    luaL_addlstring(b, buff, size);
}

static void ruv_struct_correctbytes(char *b, int size, int endian) {
    if (endian != ruv_struct_native_endian()) {
        int i = 0;
        while (i < --size) {
            char temp = b[i];
            b[i++] = b[size];
            b[size] = temp;
        }
    }
}

static void ruv_struct_defaults(ruv_struct_header *h) {
    h->endian = ruv_struct_native_endian();
    h->align = 1;
}

static int ruv_struct_pack(lua_State *L) {
    luaL_Buffer b;
    const char *fmt = luaL_checkstring(L, 1);
    ruv_struct_header h;
    int arg = 2;
    size_t totalsize = 0;
    ruv_struct_defaults(&h);
    lua_pushnil(L);
    luaL_buffinit(L, &b);
    while (*fmt != '\0') {
        int opt = *fmt++;
        size_t size = ruv_struct_optsize(L, opt, &fmt);
        int toalign = ruv_struct_gettoalign(totalsize, &h, opt, size);
        totalsize += toalign;
        while (toalign-- > 0) luaL_addchar(&b, '\0');
        switch (opt) {
        case 'b': case 'B': case 'h': case 'H':
        case 'l': case 'L': case 'T': case 'i': case 'I':
            ruv_struct_putinteger(L, &b, arg++, h.endian, (int)size);
            break;
        case 'x':
            luaL_addchar(&b, '\0');
            break;
        case 'f': {
            float f = (float)luaL_checknumber(L, arg++);
            ruv_struct_correctbytes((char *)&f, (int)size, h.endian);
            luaL_addlstring(&b, (char *)&f, size);
            break;
        }
        case 'd': {
            double d = luaL_checknumber(L, arg++);
            ruv_struct_correctbytes((char *)&d, (int)size, h.endian);
            luaL_addlstring(&b, (char *)&d, size);
            break;
        }
        case 'c': case 's': {
            size_t l;
            const char *s = luaL_checklstring(L, arg++, &l);
            if (size == 0) size = l;
            luaL_argcheck(L, l >= (size_t)size, arg, "string too short");
            luaL_addlstring(&b, s, size);
            if (opt == 's') {
                luaL_addchar(&b, '\0');
                size++;
            }
            break;
        }
        default:
            ruv_struct_controloptions(L, opt, &fmt, &h);
        }
        totalsize += size;
    }
    luaL_pushresult(&b);
    return 1;
}

static lua_Number ruv_struct_getinteger(const char *buff, int endian, int issigned, int size) {
    ruv_struct_uint l = 0;
    if (endian == RUV_STRUCT_BIG) {
        for (int i = 0; i < size; i++) { l <<= 8; l |= (ruv_struct_uint)(unsigned char)buff[i]; }
    } else {
        for (int i = size - 1; i >= 0; i--) { l <<= 8; l |= (ruv_struct_uint)(unsigned char)buff[i]; }
    }
    if (!issigned) return (lua_Number)l;
    ruv_struct_uint mask = (ruv_struct_uint)(~((ruv_struct_uint)0)) << (size * 8 - 1);
    if (l & mask) l |= mask;
    return (lua_Number)(ruv_struct_int)l;
}

static int ruv_struct_unpack(lua_State *L) {
    ruv_struct_header h;
    const char *fmt = luaL_checkstring(L, 1);
    size_t ld;
    const char *data = luaL_checklstring(L, 2, &ld);
    size_t pos = luaL_optinteger(L, 3, 1);
    luaL_argcheck(L, pos > 0, 3, "offset must be 1 or greater");
    pos--;
    int n = 0;
    ruv_struct_defaults(&h);
    while (*fmt) {
        int opt = *fmt++;
        size_t size = ruv_struct_optsize(L, opt, &fmt);
        pos += ruv_struct_gettoalign(pos, &h, opt, size);
        luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
        luaL_checkstack(L, 2, "too many results");
        switch (opt) {
        case 'b': case 'B': case 'h': case 'H':
        case 'l': case 'L': case 'T': case 'i': case 'I': {
            int issigned = islower(opt);
            lua_Number res = ruv_struct_getinteger(data + pos, h.endian, issigned, (int)size);
            lua_pushnumber(L, res);
            n++;
            break;
        }
        case 'x':
            break;
        case 'f': {
            float f;
            memcpy(&f, data + pos, size);
            ruv_struct_correctbytes((char *)&f, sizeof(f), h.endian);
            lua_pushnumber(L, f);
            n++;
            break;
        }
        case 'd': {
            double d;
            memcpy(&d, data + pos, size);
            ruv_struct_correctbytes((char *)&d, sizeof(d), h.endian);
            lua_pushnumber(L, d);
            n++;
            break;
        }
        case 'c': {
            if (size == 0) {
                if (n == 0 || !lua_isnumber(L, -1)) luaL_error(L, "format 'c0' needs a previous size");
                size = lua_tonumber(L, -1);
                lua_pop(L, 1);
                n--;
                luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
            }
            lua_pushlstring(L, data + pos, size);
            n++;
            break;
        }
        case 's': {
            const char *e = (const char *)memchr(data + pos, '\0', ld - pos);
            if (e == NULL) luaL_error(L, "unfinished string in data");
            size = (e - (data + pos)) + 1;
            lua_pushlstring(L, data + pos, size - 1);
            n++;
            break;
        }
        default:
            ruv_struct_controloptions(L, opt, &fmt, &h);
        }
        pos += size;
    }
    lua_pushinteger(L, pos + 1);
    return n + 1;
}

static int ruv_struct_size(lua_State *L) {
    ruv_struct_header h;
    const char *fmt = luaL_checkstring(L, 1);
    size_t pos = 0;
    ruv_struct_defaults(&h);
    while (*fmt) {
        int opt = *fmt++;
        size_t size = ruv_struct_optsize(L, opt, &fmt);
        pos += ruv_struct_gettoalign(pos, &h, opt, size);
        if (opt == 's') luaL_argerror(L, 1, "option 's' has no fixed size");
        else if (opt == 'c' && size == 0) luaL_argerror(L, 1, "option 'c0' has no fixed size");
        if (!isalnum(opt)) ruv_struct_controloptions(L, opt, &fmt, &h);
        pos += size;
    }
    lua_pushinteger(L, pos);
    return 1;
}

static int luaopen_struct(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"pack", ruv_struct_pack}, {"unpack", ruv_struct_unpack}, {"size", ruv_struct_size}, {NULL, NULL}};
    luaL_register(L, "struct", fns);
    return 1;
}
#endif
