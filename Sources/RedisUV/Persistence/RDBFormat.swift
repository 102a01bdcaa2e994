// The RDB file format of Redis 7.0 (rdb.h): opcodes, value type codes, and the length and
// special-integer encodings shared by files and DUMP payloads.

enum RDB {
    /// The version this build writes by default (Redis 7.0's RDB_VERSION).
    static let version = 10
    /// The newest version we accept on load (Redis 7.4 writes 12).
    static let maxLoadVersion = 12

    // Opcodes (rdb.h RDB_OPCODE_*), stored where a value type would be.
    static let opFunction2: UInt8 = 245
    static let opFunctionPreGA: UInt8 = 246
    static let opModuleAux: UInt8 = 247
    static let opIdle: UInt8 = 248
    static let opFreq: UInt8 = 249
    static let opAux: UInt8 = 250
    static let opResizeDB: UInt8 = 251
    static let opExpireTimeMs: UInt8 = 252
    static let opExpireTime: UInt8 = 253
    static let opSelectDB: UInt8 = 254
    static let opEOF: UInt8 = 255

    // Value types (rdb.h RDB_TYPE_*).
    static let typeString: UInt8 = 0
    static let typeList: UInt8 = 1
    static let typeSet: UInt8 = 2
    static let typeZset: UInt8 = 3
    static let typeHash: UInt8 = 4
    static let typeZset2: UInt8 = 5
    static let typeModule: UInt8 = 6
    static let typeModule2: UInt8 = 7
    static let typeHashZipmap: UInt8 = 9
    static let typeListZiplist: UInt8 = 10
    static let typeSetIntset: UInt8 = 11
    static let typeZsetZiplist: UInt8 = 12
    static let typeHashZiplist: UInt8 = 13
    static let typeListQuicklist: UInt8 = 14
    static let typeStreamListpacks: UInt8 = 15
    static let typeHashListpack: UInt8 = 16
    static let typeZsetListpack: UInt8 = 17
    static let typeListQuicklist2: UInt8 = 18
    static let typeStreamListpacks2: UInt8 = 19
    static let typeSetListpack: UInt8 = 20
    static let typeStreamListpacks3: UInt8 = 21
    /// Redis 7.4's hashes with field TTLs (Persistence/RDBHashFieldExpiry.swift).
    static let typeHashMetadataPreGA: UInt8 = 22
    static let typeHashListpackExPreGA: UInt8 = 23
    static let typeHashMetadata: UInt8 = 24
    static let typeHashListpackEx: UInt8 = 25

    /// Whether `t` is a value type (rdbIsObjectType, extended to 7.2's types).
    static func isObjectType(_ t: UInt8) -> Bool { t <= 7 || (t >= 9 && t <= 25) }

    // Length encoding: the two high bits of the first byte.
    static let len6bit: UInt8 = 0
    static let len14bit: UInt8 = 1
    static let len32bit: UInt8 = 0x80
    static let len64bit: UInt8 = 0x81
    static let encVal: UInt8 = 3
    // Special encodings after RDB_ENCVAL.
    static let encInt8 = 0
    static let encInt16 = 1
    static let encInt32 = 2
    static let encLZF = 3

    // Quicklist 2 node containers.
    static let quicklistNodePlain = 1
    static let quicklistNodePacked = 2

    /// Redis's ziplist/listpack/intset safety cap for a blob read from a file.
    static let maxBlob = 1 << 32
}

/// What went wrong while reading an RDB file or payload, and where.
struct RDBError: Error, CustomStringConvertible {
    let offset: Int
    let message: String
    var description: String { "\(message) (at offset \(offset))" }
}
