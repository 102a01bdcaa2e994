import Glibc
import Foundation
import XCTest
@testable import RedisUV

/// The oracle for propagation: the replication stream of the real redis-server 7.0,
/// captured as a replica would (PSYNC ? -1, the RDB, then the command stream), against
/// redis-uv's stream for the same commands (in-process, from the backlog bytes, so the
/// SELECTs and MULTI/EXECs are the real stream's). Each scenario runs on redis-server,
/// then at once on redis-uv, and the two streams are compared command by command; only
/// absolute times near now (a relative expiry made absolute, a stream ID from `*`, an
/// XCLAIM's TIME) are compared within a tolerance, and PINGs/REPLCONFs are skipped.
///
/// Script lines: `CMD args` runs on client 0; `2: CMD args` on client 2; `2& CMD args`
/// sends on client 2 without reading (it blocks); `2<` reads that pending reply;
/// `!sleep MS`; `!active DB:N ...` turns active expiry on until database DB holds N keys
/// (redis-uv runs its expiry cycle); `!lazyfree yes|no` sets lazyfree-lazy-expire and
/// lazyfree-lazy-server-del. Every scenario starts with FLUSHALL on all clients in db 0
/// and ends with a PUBLISH marker from a client that stays in db 0.
final class PropagationDifferentialTests: XCTestCase {
    struct Scenario {
        let name: String
        let script: [String]
        /// Compare the streams as multisets (active expiry's order is the hash table's).
        var unordered = false
        /// Compare command names, keys and argument counts only (random members: SPOP).
        var shapeOnly = false
    }

    static let clientCount = 4

    // MARK: scenarios

    static let scenarios: [Scenario] = [
        Scenario(name: "strings", script: [
            "SET a 1", "SET a 1 GET", "SET b 2 NX", "SET b 3 NX", "SET b 4 XX", "SET c 5 XX",
            "SET b 5 NX GET", "SET b 6 XX GET", "SETNX a 9", "SETNX n 9", "GETSET a 10",
            "MSET m1 1 m2 2", "MSETNX m1 x m3 y", "MSETNX m4 x m5 y", "INCR a", "DECR a", "INCRBY a 5",
            "DECRBY a 2", "APPEND a xyz", "SETRANGE a 1 QQ", "SETRANGE a 0 \"\"", "SETRANGE nokey 0 \"\"",
            "GETDEL a", "GETDEL a", "DEL b c missing", "UNLINK n m1", "UNLINK nothing", "INCR fresh",
        ]),
        // PFCOUNT writes the cached cardinality (dirty, so propagated as PFCOUNT); PFDEBUG
        // propagates only a sparse -> dense conversion; a PFADD that changes nothing is not.
        Scenario(name: "hyperloglog", script: [
            "PFADD h a b c", "PFADD h a", "PFADD h", "PFADD e", "PFCOUNT h", "PFCOUNT h", "PFCOUNT h e missing",
            "PFADD h d", "PFMERGE m h e", "PFMERGE m", "PFDEBUG TODENSE h", "PFDEBUG TODENSE h", "PFDEBUG ENCODING m",
            "PFDEBUG GETREG m", "PFDEBUG GETREG m", "PFCOUNT m", "SET s x", "PFADD s a", "PFCOUNT s",
        ]),
        // Bitmaps: a write propagates as itself only when a bit changed or the string
        // was created or grew (a FAIL-ed BITFIELD that created its key propagates nothing).
        Scenario(name: "bitmaps", script: [
            "SETBIT b 7 1", "SETBIT b 7 1", "SETBIT b 0 0", "SETBIT b 100 0", "SETBIT b x 1", "GETBIT b 7",
            "BITFIELD b SET u8 0 1", "BITFIELD b SET u8 0 1 GET u8 0", "BITFIELD b INCRBY i5 #40 3 OVERFLOW FAIL INCRBY i5 #40 100",
            "BITFIELD b OVERFLOW FAIL INCRBY u2 0 9", "BITFIELD f OVERFLOW FAIL INCRBY u2 0 9", "BITFIELD b GET u8 0",
            "BITFIELD_RO b GET u8 0", "BITFIELD b SET u8 0 x", "BITOP OR d b f", "BITOP AND d nokey", "BITOP AND d nokey",
            "BITOP NOT d2 b", "SET n 12", "SETBIT n 0 0", "BITCOUNT b", "BITPOS b 1",
        ]),
        Scenario(name: "set-expiries", script: [
            "SET a v EX 100", "SET a v PX 100000", "SET a v EXAT 4102444800", "SET a v PXAT 4102444800123",
            "SET a v EX 100 GET", "SET a w PX 5000 NX", "SET a w PX 5000 XX", "SET a w PX 5000 XX GET",
            "SET z w EX 100 XX", "SET a w KEEPTTL", "SET a w KEEPTTL GET", "SET a x GET KEEPTTL XX",
            "SETEX s 100 v", "PSETEX p 100000 v", "SET old v PXAT 1", "SET old2 v EXAT 1 GET",
        ]),
        Scenario(name: "getex", script: [
            "SET k v", "GETEX k", "GETEX k EX 100", "GETEX k PX 100000", "GETEX k EXAT 4102444800",
            "GETEX k PXAT 4102444800123", "GETEX k PERSIST", "GETEX k PERSIST", "GETEX missing EX 10",
            "GETEX k PXAT 1", "SET k v", "GETEX k EXAT 1", "SET k v", "!lazyfree yes", "GETEX k PXAT 2",
            "!lazyfree no",
        ]),
        Scenario(name: "expire-family", script: [
            "SET k v", "EXPIRE k 100", "PEXPIRE k 100000", "EXPIREAT k 4102444800", "PEXPIREAT k 4102444800123",
            "EXPIRE k 200 NX", "EXPIRE k 200 XX", "EXPIRE k 300 GT", "EXPIRE k 10 LT", "EXPIRE k 5000 LT",
            "PERSIST k", "PERSIST k", "EXPIRE missing 10", "PEXPIRE k -1", "SET k v", "EXPIREAT k 1",
            "SET k v", "EXPIRE k 0", "SET k v", "!lazyfree yes", "PEXPIREAT k 5", "!lazyfree no",
            "SET j v", "EXPIRE j 100 GT",
        ]),
        Scenario(name: "lazy-expiry", script: [
            "SET e1 v PXAT 1", "SET e2 v PXAT 1", "SET e3 v PXAT 1", "SET e4 v PXAT 1", "SET e5 v PXAT 1",
            "RPUSH l a", "PEXPIRE l 1", "!sleep 20",
            "GET e1", "SET e2 new", "INCR e3", "EXISTS e4", "LPUSH l x", "!lazyfree yes", "TTL e5",
            "!lazyfree no", "1: SELECT 2", "1: SET e v PXAT 1", "1: GET e",
        ]),
        Scenario(name: "lazy-expiry-in-multi", script: [
            "SET e1 v PXAT 1", "SET e2 v PXAT 1", "MULTI", "GET e1", "SET e2 x", "INCR n", "EXEC",
            "SET e3 v PXAT 1", "MULTI", "GET e3", "EXEC",
        ]),
        Scenario(name: "lazy-expiry-everywhere", script: [
            "SET e1 v PXAT 1", "SET live v", "DEL e1 live", "SET e2 v PXAT 1", "TOUCH e2", "SET e3 v PXAT 1",
            "EXPIRE e3 100", "SET e4 v PXAT 1", "RENAME e4 x", "SET e5 v PXAT 1", "COPY e5 y", "SET m v",
            "1: SELECT 3", "1: SET m v PXAT 1", "MOVE m 3", "SET e6 v PXAT 1", "SCAN 0 COUNT 100",
            "2: SELECT 4", "2: SET r v PXAT 1", "2: RANDOMKEY", "SET e7 v PXAT 1", "SET e7 w KEEPTTL",
            "SET e8 v PXAT 1", "GETDEL e8", "SET e9 v PXAT 1", "SET src v", "COPY src e9",
            "SET e10 v PXAT 1", "KEYS *", "UNLINK e10",
        ]),
        Scenario(name: "active-expiry", script: [
            "SET a v PXAT 1", "SET b v PXAT 1", "SET c v PXAT 1", "RPUSH l x", "PEXPIRE l 1", "SET keep v",
            "1: SELECT 1", "1: SET d v PXAT 1", "!sleep 20", "!active 0:1 1:0",
        ], unordered: true),
        Scenario(name: "active-expiry-lazyfree", script: [
            "SET a v PXAT 1", "SET b v PXAT 1", "!lazyfree yes", "!active 0:0", "!lazyfree no",
        ], unordered: true),
        Scenario(name: "incrbyfloat", script: [
            "INCRBYFLOAT f 1.5", "INCRBYFLOAT f 2.25", "SET g 10 EX 100", "INCRBYFLOAT g 0.5",
            "INCRBYFLOAT f 1e3", "HINCRBYFLOAT h x 1.5", "HINCRBYFLOAT h x 0.25", "HINCRBY h y 3",
        ]),
        Scenario(name: "keys", script: [
            "SET a 1", "SET b 2", "RENAME a c", "RENAMENX c b", "RENAMENX c d", "RENAME d d", "COPY b e",
            "COPY b e", "COPY b e REPLACE", "COPY b e DB 3", "MOVE b 2", "MOVE missing 2", "SET b x",
            "1: SELECT 2", "1: SET b there", "MOVE b 2", "SWAPDB 0 2", "SWAPDB 0 2", "TOUCH b e",
            "FLUSHDB", "SET x 1", "FLUSHDB ASYNC", "SET x 1", "FLUSHALL SYNC", "SET x 1", "1: FLUSHDB",
            "FLUSHDB", "FLUSHDB",
        ]),
        Scenario(name: "restore", script: [
            "SET src hello", "RPUSH lsrc a b c",
            "!restore dst src 0", "!restore dst src 0 REPLACE", "!restore dst2 src 100000",
            "!restore dst3 src 4102444800123 ABSTTL", "!restore dst4 src 1 ABSTTL",
            "!restore dst REPLACE-EXPIRED", "!restore l2 lsrc 0 IDLETIME 100",
            "!restore l3 lsrc 0 FREQ 5",
        ]),
        Scenario(name: "lists", script: [
            "RPUSH l a b c d e", "LPUSH l z", "LPUSHX l y", "LPUSHX nol y", "RPUSHX nol y", "LPOP l",
            "RPOP l", "LPOP l 2", "RPOP l 0", "LPOP missing", "LSET l 0 Q", "LINSERT l BEFORE Q P",
            "LINSERT l BEFORE nope P", "LREM l 0 P", "LREM l 0 nope", "LTRIM l 0 -1", "LTRIM l 1 -1",
            "RPUSH l2 1 2 3", "LMOVE l2 l3 LEFT RIGHT", "RPOPLPUSH l2 l3", "LMOVE empty l3 LEFT LEFT",
            "LMPOP 2 missing l3 LEFT COUNT 5", "LMPOP 1 l2 RIGHT", "LMPOP 1 missing RIGHT", "RPOP l 100",
        ]),
        Scenario(name: "blocking-lists-immediate", script: [
            "RPUSH l a b c d e f", "BLPOP l 0", "BRPOP missing l 0", "BLMOVE l d LEFT RIGHT 0",
            "BRPOPLPUSH l d 0", "BLMPOP 0 1 l LEFT COUNT 10", "RPUSH l a b", "BLMPOP 0 2 x l RIGHT",
            "RPUSH l a", "MULTI", "BLPOP l 0", "BLPOP l 0", "EXEC",
        ]),
        Scenario(name: "blocking-lists-served", script: [
            "1& BLPOP q 0", "2& BRPOP q 0", "RPUSH q a b c", "1<", "2<",
            "1& BLMOVE src dst RIGHT LEFT 0", "RPUSH src x", "1<",
            "1& BRPOPLPUSH src dst 0", "LPUSH src y", "1<",
            "1& BLMPOP 0 2 a b LEFT COUNT 3", "RPUSH b 1 2", "1<",
            "1& BLMPOP 0 1 c RIGHT COUNT 1", "RPUSH c 1 2 3", "1<",
            "1& BLPOP chain 0", "2& BLMOVE src2 chain LEFT LEFT 0", "RPUSH src2 v", "1<", "2<",
            "1& BLPOP m 0", "MULTI", "RPUSH m 1", "RPUSH m 2", "EXEC", "1<",
        ]),
        Scenario(name: "served-by-keyspace-changes", script: [
            "1& BLPOP q 0", "2: SELECT 1", "2: RPUSH q a", "SWAPDB 0 1", "1<",
            "1& BLPOP r 0", "RPUSH src x", "RENAME src r", "1<",
            "1& BLPOP s 0", "RPUSH t x", "COPY t s", "1<",
            "1& BZPOPMIN z 0", "2: ZADD z 1 a", "2: MOVE z 0", "1<",
        ]),
        Scenario(name: "no-op-writes", script: [
            "SET a 1", "SADD s a", "SMOVE s s a", "RENAME a a", "RENAMENX a a", "INCRBY a 0", "APPEND a \"\"",
            "ZADD z 1 a", "ZADD z GT 0 a", "ZADD z LT 5 a", "ZADD z GT CH 5 a", "ZADD z NX 1 b", "ZADD z XX 1 c",
            "ZINCRBY z 0 a", "ZREM z a b missing", "LINSERT nol BEFORE a b", "RPUSH l a", "LSET l 0 a", "LREM l 1 a",
            "HSET h f v", "HSETNX h f w", "HDEL h f", "XADD x 1-0 f v", "XSETID x 5-0 ENTRIESADDED 10 MAXDELETEDID 2-0",
            "XSETID x 5-0", "XACK x g 1-0", "XGROUP CREATE x g $ ENTRIESREAD 5", "XGROUP CREATE x g $",
            "XGROUP CREATECONSUMER x g c", "XGROUP CREATECONSUMER x g c", "XGROUP DELCONSUMER x g c",
            "RPUSH l2 3 1 2", "SORT l2 BY nosort STORE d", "SORT l2 LIMIT 0 1 STORE d", "ZRANGESTORE zd z 0 0 BYSCORE LIMIT 0 1",
            "PERSIST a", "EXPIRE a 100 NX", "EXPIRE a 100 NX", "GETEX a", "EXPIRE a 100 LT", "EXPIRE a 10000 GT",
        ]),
        Scenario(name: "hashes", script: [
            "HSET h a 1 b 2", "HSET h a 1", "HSET h a 2", "HMSET h c 3", "HSETNX h a 9", "HSETNX h z 9",
            "HDEL h a nope", "HDEL h nope", "HDEL h b c z", "HDEL h b", "HINCRBY h n 5", "HSET h2 f v",
        ]),
        Scenario(name: "sets", script: [
            "SADD s a b c", "SADD s a", "SREM s a", "SREM s nope", "SMOVE s t b", "SMOVE s t nope",
            "SADD t c", "SMOVE s t c", "SADD x 1 2 3", "SADD y 2 3 4", "SINTERSTORE d x y", "SUNIONSTORE d x y",
            "SDIFFSTORE d x y", "SINTERSTORE d x missing", "SINTERSTORE d x missing", "SUNIONSTORE e none none2",
            "SDIFFSTORE e missing", "SPOP single", "SADD one m", "SPOP one", "SADD all a b c", "SPOP all 3",
            "SADD all a b c", "SPOP all 5", "SADD all a b c", "!lazyfree yes", "SPOP all 9", "!lazyfree no",
            "SPOP all 0", "SPOP missing 3", "SADD two p", "SPOP two 1",
        ]),
        Scenario(name: "spop-random", script: [
            "SADD s a b c d e f g h i j", "SPOP s", "SPOP s 2", "SPOP s 6",
            "SADD big 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20", "SPOP big 3", "SPOP big 15",
        ], shapeOnly: true),
        Scenario(name: "sorted-sets", script: [
            "ZADD z 1 a 2 b 3 c", "ZADD z 1 a", "ZADD z NX 5 a", "ZADD z XX 5 a", "ZADD z CH 6 a",
            "ZADD z INCR 1 a", "ZINCRBY z 2 b", "ZREM z nope", "ZREM z a", "ZREMRANGEBYSCORE z 100 200",
            "ZREMRANGEBYRANK z 0 0", "ZADD z 1 m 1 n 1 o", "ZREMRANGEBYLEX z [m [n", "ZPOPMIN z",
            "ZPOPMAX z 2", "ZPOPMIN missing", "ZADD y 1 a 2 b", "ZADD w 3 b 4 c", "ZUNIONSTORE d 2 y w",
            "ZINTERSTORE d 2 y w", "ZDIFFSTORE d 2 y w", "ZINTERSTORE d 2 y missing", "ZINTERSTORE d 2 y missing",
            "ZRANGESTORE r y 0 -1", "ZRANGESTORE r missing 0 -1", "ZMPOP 1 y MIN", "ZMPOP 2 missing w MAX COUNT 5",
            "ZADD q 1 a 2 b 3 c", "BZPOPMIN q 0", "BZPOPMAX q 0", "BZMPOP 0 1 q MIN COUNT 3",
        ]),
        Scenario(name: "sorted-sets-served", script: [
            "1& BZPOPMIN z 0", "ZADD z 1 a 2 b", "1<", "1& BZPOPMAX z2 0", "ZADD z2 1 a 2 b", "1<",
            "1& BZMPOP 0 1 z3 MAX COUNT 5", "ZADD z3 1 a 2 b", "1<",
            "1& BZMPOP 0 1 z4 MIN", "ZADD z4 1 a 2 b", "1<",
        ]),
        Scenario(name: "geo-sort", script: [
            "GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
            "GEOADD g 13.361389 38.115556 Palermo", "GEOSEARCHSTORE d g FROMLONLAT 15 37 BYRADIUS 200 km ASC",
            "GEOSEARCHSTORE d g FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST", "GEOSEARCHSTORE d missing FROMLONLAT 15 37 BYRADIUS 1 km",
            "GEORADIUS g 15 37 200 km STORE d2", "GEORADIUSBYMEMBER g Palermo 200 km STOREDIST d3",
            "RPUSH l 3 1 2", "SORT l STORE sorted", "SORT l", "SORT missing STORE sorted",
            "SORT missing STORE sorted",
        ]),
        Scenario(name: "streams", script: [
            "XADD s 1-1 f v", "XADD s 2-* f v", "XADD s * f v", "XADD s MAXLEN 2 * f v", "XADD s MAXLEN ~ 2 * f v",
            "XADD s NOMKSTREAM MAXLEN = 5 * f v", "XADD nostream NOMKSTREAM * f v", "XADD s MINID 0 * f v",
            "XADD s LIMIT 10 MAXLEN ~ 1 * f v", "XTRIM s MAXLEN 100", "XTRIM s MAXLEN ~ 1", "XTRIM s MAXLEN 1",
            "XTRIM s MINID ~ 0", "XDEL s 1-1 9-9", "XDEL s 9-9", "XSETID s 99999999999999-0",
            "XADD t 5-1 a b", "XADD t 5-2 a b", "XTRIM t MINID 5-2", "XADD t 6-0 a b", "XTRIM t MAXLEN ~ 0 LIMIT 5",
        ]),
        Scenario(name: "stream-trim-tombstones", script: [
            "CONFIG SET stream-node-max-entries 2", "XADD s 1-0 f v", "XADD s 2-0 f v", "XADD s 3-0 f v",
            "XADD s 4-0 f v", "XADD s 5-0 f v", "XDEL s 3-0", "XTRIM s MINID ~ 4-0", "XADD s MINID ~ 9-0 9-0 f v",
            "XADD e 1-0 f v", "XADD e 2-0 f v", "XTRIM e MINID ~ 99-0", "XADD m 1-0 f v", "XADD m 2-0 f v",
            "XADD m 3-0 f v", "XADD m MAXLEN ~ 0 4-0 f v", "CONFIG SET stream-node-max-entries 100",
        ]),
        Scenario(name: "stream-groups", script: [
            "XADD s 1-1 f v", "XADD s 2-1 f v", "XADD s 3-1 f v",
            "XGROUP CREATE s g 0", "XGROUP CREATE s g2 $", "XGROUP CREATE nos g 0 MKSTREAM",
            "XGROUP CREATECONSUMER s g alice", "XGROUP CREATECONSUMER s g alice",
            "XREADGROUP GROUP g alice COUNT 1 STREAMS s >", "XREADGROUP GROUP g bob COUNT 2 STREAMS s >",
            "XREADGROUP GROUP g bob STREAMS s >", "XREADGROUP GROUP g bob STREAMS s 0",
            "XREADGROUP GROUP g carol NOACK STREAMS s 0", "XADD s 4-1 f v", "XREADGROUP GROUP g dave NOACK STREAMS s >",
            "XACK s g 1-1", "XACK s g 1-1", "XCLAIM s g erin 0 2-1", "XCLAIM s g erin 0 2-1 JUSTID",
            "XCLAIM s g erin 0 9-9", "XCLAIM s g zed 0 9-9", "XCLAIM s g erin 0 2 LASTID 90-0",
            "XDEL s 3-1", "XCLAIM s g yan 0 3-1 2-1", "XADD s 5-1 f v", "XREADGROUP GROUP g yan STREAMS s >", "XDEL s 2-1", "XAUTOCLAIM s g frank 0 0 COUNT 5", "XAUTOCLAIM s g frank 0 0 COUNT 5 JUSTID",
            "XGROUP SETID s g 1-1", "XGROUP SETID s g $ ENTRIESREAD 3", "XGROUP DELCONSUMER s g alice",
            "XGROUP DELCONSUMER s g nobody", "XGROUP DESTROY s g2", "XGROUP DESTROY s g2",
        ]),
        Scenario(name: "stream-served", script: [
            "XADD s 1-0 f v", "XGROUP CREATE s g $",
            "1& XREADGROUP GROUP g alice BLOCK 0 STREAMS s >", "XADD s 2-0 f v", "1<",
            "1& XREAD BLOCK 0 STREAMS s $", "XADD s 3-0 f v", "1<",
        ]),
        Scenario(name: "stream-served-noack-and-errors", script: [
            "XADD s 1-0 f v", "XGROUP CREATE s g $",
            "1& XREADGROUP GROUP g newbie NOACK BLOCK 0 STREAMS s >", "XADD s 2-0 f v", "1<",
            "1& XREADGROUP GROUP g other COUNT 5 BLOCK 0 STREAMS s >", "XADD s 3-0 f v", "1<",
            "SET str v", "SET str w PX 100 GET", "LPUSH str x", "SET str2 v", "XADD str2 * f v", "INCRBYFLOAT str x",
            "1& BLMPOP 0 2 k1 k2 RIGHT COUNT 9", "RPUSH k2 a b c", "1<",
            "1& BZPOPMAX y1 y2 0", "ZADD y2 1 a 2 b", "1<",
        ]),
        Scenario(name: "pubsub-and-transactions", script: [
            "PUBLISH ch hello", "SPUBLISH sch hello", "MULTI", "SET a 1", "EXEC", "MULTI", "GET a", "EXEC",
            "MULTI", "SET a 1", "INCR a", "EXEC", "MULTI", "SELECT 3", "SET b 2", "EXEC", "SET c 3",
            "MULTI", "PUBLISH ch x", "EXEC",
        ]),
        // Redis 7 replicates scripts by effects: the commands they ran, MULTI/EXEC around
        // more than one, never the EVAL itself.
        Scenario(name: "scripts", script: [
            "EVAL \"return redis.call('set', KEYS[1], ARGV[1])\" 1 k v",
            "EVAL \"redis.call('set','a','1') redis.call('incr','a') return redis.call('get','a')\" 0",
            "EVAL \"return redis.call('get','a')\" 0",
            "SCRIPT LOAD \"redis.call('lpush','l','x') redis.call('rpop','l') return 1\"",
            "EVALSHA 27ff3c9a1c1bece248e503cc2e6c315f4bae366e 0",
            "EVAL \"redis.call('select', 3) redis.call('set','in3','v') return 1\" 0",
            "SET back0 v",
            "EVAL \"redis.set_repl(redis.REPL_NONE) redis.call('set','hidden','1') redis.set_repl(redis.REPL_ALL) redis.call('set','shown','1') return 1\" 0",
            "EVAL \"redis.call('set','x','1') return redis.call('nosuch')\" 0",
            "EVAL \"redis.call('set','e','v','PX', 100000) return redis.call('expire', 'e', 500)\" 0",
            "EVAL \"return redis.pcall('incr', 'e')\" 0",
            "EVAL_RO \"return redis.call('get', 'a')\" 0",
            "MULTI", "EVAL \"return redis.call('set', 'm1', '1')\" 0", "SET m2 2", "EXEC",
            "MULTI", "EVAL \"redis.call('set', 'm3', '1') return redis.call('del', 'm3')\" 0", "EXEC",
            "SET old v PXAT 1", "EVAL \"return redis.call('get', 'old')\" 0",
        ]),
        // FUNCTION LOAD/DELETE/FLUSH propagate as they are; FCALL by its effects.
        Scenario(name: "functions", script: [
            "FUNCTION LOAD \"#!lua name=plib\\nredis.register_function('pset', function(k, a) redis.call('set', k[1], a[1]) return redis.call('incr', 'cnt') end)\\nredis.register_function{function_name='pget', callback=function(k) return redis.call('get', k[1]) end, flags={'no-writes'}}\"",
            "FCALL pset 1 pk pv", "FCALL_RO pget 1 pk", "FCALL pget 1 pk",
            "FUNCTION LOAD REPLACE \"#!lua name=plib\\nredis.register_function('pone', function(k) return redis.call('del', k[1]) end)\"",
            "FCALL pone 1 pk", "FCALL pone 1 pk", "FUNCTION LOAD \"#!lua name=bad\\nreturn 1\"",
            "FUNCTION DELETE plib", "FUNCTION DELETE plib", "FUNCTION FLUSH",
        ]),
        Scenario(name: "selects", script: [
            "SET a 1", "1: SELECT 1", "1: SET a 1", "1: SET b 2", "SET c 3", "2: SELECT 5", "2: DEL a",
            "2: SET a 1", "1: SET d 4",
        ]),
    ]

    // MARK: the test

    func testReplicationStreamMatchesRedisServer() throws {
        guard TestEnvironment.redisServerBinary != nil else {
            harnessLog("PropagationDifferentialTests: SKIPPED, redis-server not installed (apt-get install redis-server)")
            throw XCTSkip("redis-server not installed")
        }
        let redis = try ServerProcess.start(.redisServer, arguments: [
            "--repl-diskless-sync", "no", "--enable-debug-command", "yes", "--repl-timeout", "3600",
            "--repl-ping-replica-period", "3600", "--databases", "16",
        ])
        defer { redis.stop() }
        let real = try RealSide(redis)
        let ours = InProcessSide()
        var failures = 0
        for (n, scenario) in Self.scenarios.enumerated() {
            let theirs = try real.run(scenario, marker: n)
            let mine = ours.run(scenario, marker: n)
            if let diff = Self.compare(theirs, mine, scenario) {
                failures += 1
                XCTFail("""
                    scenario \(scenario.name): \(diff)
                    redis-server:
                    \(theirs.map { "  " + Self.show($0) }.joined(separator: "\n"))
                    redis-uv:
                    \(mine.map { "  " + Self.show($0) }.joined(separator: "\n"))
                    """)
            }
        }
        harnessLog("PropagationDifferentialTests: \(Self.scenarios.count - failures)/\(Self.scenarios.count) scenarios match")
    }

    // MARK: comparing

    static func show(_ argv: [[UInt8]]) -> String {
        argv.map { a in
            let s = String(decoding: a, as: UTF8.self)
            return s.isEmpty || s.contains(" ") ? "\"\(s)\"" : s
        }.joined(separator: " ")
    }

    /// Times near now (ms) and stream IDs made of them may differ by this much.
    static let toleranceMs: Int64 = 5_000

    static func tokenMatches(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        if a == b { return true }
        let sa = String(decoding: a, as: UTF8.self), sb = String(decoding: b, as: UTF8.self)
        if let x = Int64(sa), let y = Int64(sb) { return nearNow(x) && nearNow(y) && abs(x - y) <= toleranceMs }
        let pa = sa.split(separator: "-"), pb = sb.split(separator: "-")
        // An ID made from the clock: the sequence must agree within one millisecond only.
        if pa.count == 2, pb.count == 2, let x = Int64(pa[0]), let y = Int64(pb[0]), pa[1] == pb[1] || x != y {
            return nearNow(x) && nearNow(y) && abs(x - y) <= toleranceMs
        }
        return false
    }

    static func nearNow(_ ms: Int64) -> Bool {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        return ms > now - 3_600_000 && ms < now + 3_600_000 * 24 * 400
    }

    static func commandMatches(_ a: [[UInt8]], _ b: [[UInt8]], shapeOnly: Bool) -> Bool {
        guard a.count == b.count else { return false }
        if shapeOnly {
            return a.prefix(2).elementsEqual(b.prefix(2)) { String(decoding: $0, as: UTF8.self).uppercased() == String(decoding: $1, as: UTF8.self).uppercased() }
        }
        return zip(a, b).allSatisfy { tokenMatches($0, $1) }
    }

    /// nil when the streams match, else what differs first.
    static func compare(_ theirs: [[[UInt8]]], _ mine: [[[UInt8]]], _ s: Scenario) -> String? {
        if s.unordered {
            // Each of theirs must match a distinct one of mine.
            guard theirs.count == mine.count else { return "\(theirs.count) vs \(mine.count) commands (compared unordered)" }
            var left = mine
            for t in theirs {
                guard let i = left.firstIndex(where: { commandMatches(t, $0, shapeOnly: false) }) else {
                    return "redis-uv has no \(show(t)) (compared unordered)"
                }
                left.remove(at: i)
            }
            return nil
        }
        for i in 0..<max(theirs.count, mine.count) {
            guard i < theirs.count else { return "redis-uv sends more, from #\(i): \(show(mine[i]))" }
            guard i < mine.count else { return "redis-uv stops at #\(i), redis-server sends \(show(theirs[i]))" }
            if !commandMatches(theirs[i], mine[i], shapeOnly: s.shapeOnly) {
                return "#\(i): redis-server \(show(theirs[i])) vs redis-uv \(show(mine[i]))"
            }
        }
        return nil
    }

    // MARK: script lines

    enum Step {
        case command(client: Int, args: [String], read: Bool)
        case readPending(client: Int)
        case sleep(ms: Int)
        case activeExpire(targets: [(db: Int, keys: Int)])
        case lazyfree(Bool)
        /// RESTORE dst from DUMP src (the payload is taken from the same server).
        case restore(dst: String, src: String, rest: [String])
    }

    static func parse(_ line: String) -> Step {
        // Quoted arguments (scripts) split as redis-cli does.
        var words = line.contains("'") || line.contains("\"") ? (SplitArgs.split(line) ?? []).map { String(decoding: $0, as: UTF8.self) }
            : line.split(separator: " ").map(String.init)
        if words[0] == "!sleep" { return .sleep(ms: Int(words[1])!) }
        if words[0] == "!lazyfree" { return .lazyfree(words[1] == "yes") }
        if words[0] == "!active" {
            return .activeExpire(targets: words.dropFirst().map {
                let p = $0.split(separator: ":")
                return (Int(p[0])!, Int(p[1])!)
            })
        }
        if words[0] == "!restore" {
            if words[2] == "REPLACE-EXPIRED" { return .restore(dst: words[1], src: "src", rest: ["1", "ABSTTL", "REPLACE"]) }
            return .restore(dst: words[1], src: words[2], rest: Array(words.dropFirst(3)))
        }
        var client = 0, read = true
        if let first = words.first, first.count == 2, let d = Int(String(first.first!)) {
            client = d
            if first.last == "<" { return .readPending(client: d) }
            read = first.last != "&"
            words.removeFirst()
        }
        return .command(client: client, args: words, read: read)
    }

    static func lazyfreeCommands(_ on: Bool) -> [[String]] {
        ["lazyfree-lazy-expire", "lazyfree-lazy-server-del"].map { ["CONFIG", "SET", $0, on ? "yes" : "no"] }
    }

    // MARK: redis-server over a replica link

    final class RealSide {
        let server: ServerProcess
        let link: RespConnection
        var clients: [RespConnection] = []
        let marker: RespConnection
        var stream: [UInt8] = []

        init(_ server: ServerProcess) throws {
            self.server = server
            marker = try server.connect()
            _ = try marker.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
            for _ in 0..<PropagationDifferentialTests.clientCount { clients.append(try server.connect()) }
            link = try server.connect(timeout: 20)
            try link.send(command: ["REPLCONF", "capa", "psync2"])
            _ = try link.readReply()
            try link.send(command: ["PSYNC", "?", "-1"])
            try readFullSync()
        }

        /// +FULLRESYNC <replid> <offset>, newlines while the RDB is saved, `$<len>\r\n`
        /// and the RDB bytes: what is left in `stream` is the command stream.
        private func readFullSync() throws {
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                stream += try link.readAvailable(timeout: 0.2)
                guard let eol = find(stream, from: 0) else { continue }
                let line = String(decoding: stream[0..<eol], as: UTF8.self)
                guard line.hasPrefix("+FULLRESYNC") else { throw HarnessError("PSYNC answered \(line)") }
                var p = eol + 2
                while p < stream.count && stream[p] == 10 { p += 1 }
                guard p < stream.count, let eol2 = find(stream, from: p) else { continue }
                let header = String(decoding: stream[(p + 1)..<eol2], as: UTF8.self)
                guard stream[p] == UInt8(ascii: "$"), let len = Int(header) else {
                    throw HarnessError("unexpected RDB header \(header)")
                }
                let end = eol2 + 2 + len
                if stream.count < end { continue }
                stream.removeFirst(end)
                return
            }
            throw HarnessError("no full sync from redis-server")
        }

        private func find(_ b: [UInt8], from: Int) -> Int? {
            var i = from
            while i + 1 < b.count {
                if b[i] == 13 && b[i + 1] == 10 { return i }
                i += 1
            }
            return nil
        }

        func run(_ s: Scenario, marker n: Int) throws -> [[[UInt8]]] {
            for c in clients { _ = try c.call("SELECT", "0") }
            _ = try clients[0].call("FLUSHALL")
            for line in s.script {
                switch PropagationDifferentialTests.parse(line) {
                case let .command(client, args, read):
                    try clients[client].send(command: args)
                    if read { _ = try clients[client].readReply() }
                    if !read { usleep(30_000) }  // parked before the next command
                case let .readPending(client):
                    _ = try clients[client].readReply()
                case let .sleep(ms):
                    usleep(useconds_t(ms * 1000))
                case let .lazyfree(on):
                    for cmd in PropagationDifferentialTests.lazyfreeCommands(on) { try marker.send(command: cmd); _ = try marker.readReply() }
                case let .activeExpire(targets):
                    _ = try marker.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
                    let deadline = Date().addingTimeInterval(10)
                    for t in targets {
                        _ = try marker.call("SELECT", String(t.db))
                        while Date() < deadline {
                            let size = try RespValue.parse(try marker.call("DBSIZE")).text ?? ""
                            if size == String(t.keys) { break }
                            usleep(20_000)
                        }
                    }
                    _ = try marker.call("SELECT", "0")
                    _ = try marker.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
                case let .restore(dst, src, rest):
                    let payload = try RespValue.parse(try clients[0].call("DUMP", src)).payload ?? []
                    let args: [[UInt8]] = [Array("RESTORE".utf8), Array(dst.utf8), Array((rest.first ?? "0").utf8), payload]
                        + rest.dropFirst().map { Array($0.utf8) }
                    try clients[0].send(command: args)
                    _ = try clients[0].readReply()
                }
            }
            _ = try marker.call("PUBLISH", "__marker__", String(n))
            // Read the stream up to the marker.
            var commands: [[[UInt8]]] = []
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                var pos = 0
                while let (argv, next) = PropagationDifferentialTests.parseCommand(stream, at: pos) {
                    pos = next
                    let name = String(decoding: argv[0], as: UTF8.self).uppercased()
                    if name == "PING" || name == "REPLCONF" { continue }
                    if name == "PUBLISH" && argv.count == 3 && argv[1] == Array("__marker__".utf8) {
                        stream.removeFirst(pos)
                        return commands
                    }
                    commands.append(argv)
                }
                commands = []
                stream += try link.readAvailable(timeout: 0.1)
            }
            throw HarnessError("redis-server's stream has no marker \(n) for \(s.name)")
        }
    }

    /// One RESP multibulk command at `pos`, and where the next starts; nil if incomplete.
    static func parseCommand(_ b: [UInt8], at start: Int) -> ([[UInt8]], Int)? {
        func line(_ p: Int) -> (Int, Int)? {  // (value, after CRLF)
            var i = p + 1
            while i + 1 < b.count && !(b[i] == 13 && b[i + 1] == 10) { i += 1 }
            guard i + 1 < b.count, let v = Int(String(decoding: b[(p + 1)..<i], as: UTF8.self)) else { return nil }
            return (v, i + 2)
        }
        guard start < b.count, b[start] == UInt8(ascii: "*"), let (n, afterHeader) = line(start) else { return nil }
        var p = afterHeader
        var argv: [[UInt8]] = []
        for _ in 0..<n {
            guard p < b.count, b[p] == UInt8(ascii: "$"), let (len, body) = line(p), body + len + 2 <= b.count else { return nil }
            argv.append(Array(b[body..<(body + len)]))
            p = body + len + 2
        }
        return (argv, p)
    }

    // MARK: redis-uv in-process, from its backlog

    final class InProcessSide {
        let server: Server
        var clients: [Client] = []
        let marker: Client
        var offset: Int64 = 1

        init() {
            var config = ServerConfig()
            config.databases = 16
            server = Server(config: config, log: Logger(level: "warning"))
            server.repl.backlog = ReplicationBacklog(capacity: 64 << 20, nextOffset: 1)
            marker = server.createClient(now: 0)
            for _ in 0..<PropagationDifferentialTests.clientCount { clients.append(server.createClient(now: 0)) }
        }

        func call(_ c: Client, _ args: [[UInt8]]) {
            server.updateCachedTime()
            c.out.count = 0
            let owned = OwnedArgv(args)
            server.processCommand(c, owned.argv)
        }

        func call(_ c: Client, _ args: [String]) { call(c, args.map { Array($0.utf8) }) }

        func run(_ s: Scenario, marker n: Int) -> [[[UInt8]]] {
            for c in clients { call(c, ["SELECT", "0"]) }
            call(clients[0], ["FLUSHALL"])
            for line in s.script {
                switch PropagationDifferentialTests.parse(line) {
                case let .command(client, args, _):
                    call(clients[client], args)
                case .readPending:
                    break
                case let .sleep(ms):
                    usleep(useconds_t(ms * 1000))
                case let .lazyfree(on):
                    for cmd in PropagationDifferentialTests.lazyfreeCommands(on) { call(marker, cmd) }
                case let .activeExpire(targets):
                    for _ in 0..<100 {
                        if targets.allSatisfy({ server.db($0.db).count == $0.keys }) { break }
                        server.updateCachedTime()
                        server.activeExpireCycle(.slow)
                    }
                case let .restore(dst, src, rest):
                    call(clients[0], ["DUMP", src])
                    let payload = ((try? RespValue.parse(Array(clients[0].out.bytes)))?.payload) ?? []
                    call(clients[0], [Array("RESTORE".utf8), Array(dst.utf8), Array((rest.first ?? "0").utf8), payload]
                        + rest.dropFirst().map { Array($0.utf8) })
                }
            }
            call(marker, ["PUBLISH", "__marker__", String(n)])
            let bytes = server.repl.backlog!.bytes(from: offset)
            offset = server.repl.masterReplOffset + 1
            var commands: [[[UInt8]]] = []
            var pos = 0
            while let (argv, next) = PropagationDifferentialTests.parseCommand(bytes, at: pos) {
                pos = next
                if argv.count == 3 && argv[1] == Array("__marker__".utf8) { break }
                commands.append(argv)
            }
            return commands
        }
    }
}
