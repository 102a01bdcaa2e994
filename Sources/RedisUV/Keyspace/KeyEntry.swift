#if canImport(Glibc)
import Glibc
#endif

/// The type of the value a key holds (Redis's OBJ_STRING, OBJ_LIST, ...).
enum ValueType: UInt8 {
    case string = 0, list = 1, set = 2, zset = 3, hash = 4, stream = 6

    /// What TYPE replies.
    var name: StaticString {
        switch self {
        case .string: return "string"
        case .list: return "list"
        case .set: return "set"
        case .zset: return "zset"
        case .hash: return "hash"
        case .stream: return "stream"
        }
    }
}

/// A value type whose whole state is one word kept in its KeyEntry's 8-byte slot after the
/// key, instead of a separate value object (saves the object's 32-byte malloc chunk per
/// key). The word is owned by the entry: the entry's deinit calls `destroy`, RENAME moves
/// it (`takeSlotWord`), COPY calls `duplicate`. The Swift type is a struct viewing an
/// entry (`entry`, retained: the value stays valid while a view exists, even if its key
/// is deleted meanwhile, as with an object reference); its methods read and replace the
/// word through `entry.slotWord`.
///
/// A type opts in by conforming and adding its case to `ValueType.slotStored`; it then
/// has no `object` (KeyEntry.object is nil for it) and is looked up with the
/// `lookupValue`/`addValue` overloads for slot-stored values (Engine/KeyAccess.swift).
/// A value built before its key exists (Z*STORE results, tests) lives in a detached
/// entry (empty key, in no database: `init(detachedWord:)`), freed like any entry when
/// dropped; `Client.addValue` moves its word under the key.
protocol SlotStoredValue {
    static var valueType: ValueType { get }
    /// The entry whose slot holds the word.
    var entry: KeyEntry { get }
    /// A view of the value held by `entry` (whose type is `valueType`).
    init(entry: KeyEntry)
    /// Frees everything `word` owns (never called with 0).
    static func destroy(_ word: UInt)
    /// An independent deep copy, for COPY (Redis's hashTypeDup, zsetDup).
    static func duplicate(_ word: UInt) -> UInt
    /// OBJECT ENCODING's answer, as Redis would have chosen for the same contents.
    static func encodingName(_ word: UInt) -> String
    /// MEMORY USAGE's share of the value (its allocations; at most `samples` elements
    /// measured, 0 = all, extrapolated as Redis's objectComputeSize).
    static func memoryUsage(_ word: UInt, samples: Int) -> Int
}

extension SlotStoredValue {
    /// A value under no key yet: `word` is owned by a new detached entry.
    init(detachedWord word: UInt) {
        let e = KeyEntry.make(key: UnsafeRawBufferPointer(start: nil, count: 0),
                              value: UnsafeRawBufferPointer(start: nil, count: 0), type: Self.valueType, lru: 0)
        e.slotWord = word
        self.init(entry: e)
    }

    var encodingName: String { Self.encodingName(entry.slotWord) }

    func memoryUsage(samples: Int) -> Int { Self.memoryUsage(entry.slotWord, samples: samples) }

    /// An independent copy, detached (under no key).
    func duplicate() -> Self { Self(detachedWord: Self.duplicate(entry.slotWord)) }
}

extension ValueType {
    /// The slot-stored implementation of this type, or nil when the entry holds an
    /// object (or, for strings, the bytes). The one place a type opts in.
    @inline(__always) var slotStored: SlotStoredValue.Type? {
        switch self {
        case .hash: return HashValue.self
        case .zset: return SortedSetValue.self
        case .set: return SetValue.self
        case .list: return ListValue.self
        case .string, .stream: return nil
        }
    }
}

/// How a string value is encoded, as OBJECT ENCODING reports it. The bytes are always the
/// same (decimal text for "int"); the tag only mirrors what Redis would have chosen.
enum StringEncoding: UInt8 {
    case raw = 0, int = 1, embstr = 2

    var name: StaticString {
        switch self {
        case .raw: return "raw"
        case .int: return "int"
        case .embstr: return "embstr"
        }
    }
}

/// Per-key bookkeeping, stored in front of the key's bytes in one allocation.
struct KeyEntryHeader {
    /// Next entry in the same hash bucket (chained hashing, like Redis's dict).
    var next: KeyEntry?
    // The value object of non-string types is not here but in the tail, after the key
    // (`KeyEntry.object`): 8 bytes fewer per string key, which moves a small string
    // key (DEBUG POPULATE's "key:N"/"value:N") from a 96- to an 80-byte malloc chunk.
    // Nor is the expiry time: most keys have none, so it lives in the database's array
    // of keys with a TTL, at `volatileSlot` (Database.expireAt(of:)). That makes this
    // header 24 bytes, not 32, which for many key sizes is one 16-byte malloc step less.
    var keyLength: UInt32
    /// Length of a string value, stored right after the key bytes.
    var valueLength: UInt32
    /// type (4 bits) | string encoding (4 bits) | LRU clock in seconds (24 bits).
    var meta: UInt32
    /// Position in the database's array of keys with a TTL (which holds the expiry
    /// time), or -1: a key without TTL reads as such without touching that array.
    var volatileSlot: Int32
}

/// One key and, for strings, its value, in a single heap block:
/// `[object header][KeyEntryHeader][key bytes][value bytes]`, or for the other types
/// `[object header][KeyEntryHeader][key bytes][8-byte slot]`, the slot holding either
/// the value's own word (lists, hashes, sets, sorted sets: `SlotStoredValue`) or a value object reference.
/// One allocation per string key is what keeps bytes-per-key near Redis's
/// (dictEntry + sds key + embstr robj).
final class KeyEntry: ManagedBuffer<KeyEntryHeader, UInt8> {
    static let lruMask: UInt32 = 0x00FF_FFFF

    /// A new entry holding `key` and, for strings, `value` (with room for `spare` more bytes).
    static func make(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, type: ValueType = .string,
                     encoding: StringEncoding = .raw, lru: UInt32, spare: Int = 0) -> KeyEntry {
        let size = key.count + (type == .string ? value.count + spare : objectSlotSize)
        let buffer = KeyEntry.create(minimumCapacity: size) { _ in
            KeyEntryHeader(next: nil, keyLength: UInt32(key.count),
                           valueLength: UInt32(value.count),
                           meta: UInt32(type.rawValue) | (UInt32(encoding.rawValue) << 4) | ((lru & lruMask) << 8),
                           volatileSlot: -1)
        }
        let entry = unsafeDowncast(buffer, to: KeyEntry.self)
        entry.withUnsafeMutablePointerToElements { p in
            if key.count > 0 { UnsafeMutableRawPointer(p).copyMemory(from: key.baseAddress!, byteCount: key.count) }
            if type != .string {
                UnsafeMutableRawPointer(p + key.count).storeBytes(of: UInt(0), as: UInt.self)
            } else if value.count > 0 {
                UnsafeMutableRawPointer(p + key.count).copyMemory(from: value.baseAddress!, byteCount: value.count)
            }
        }
        return entry
    }

    /// A new entry for a non-string value.
    static func make(key: UnsafeRawBufferPointer, object: AnyObject, type: ValueType, lru: UInt32) -> KeyEntry {
        precondition(type != .string)
        let entry = make(key: key, value: UnsafeRawBufferPointer(start: nil, count: 0), type: type, lru: lru)
        entry.object = object
        return entry
    }

    static let objectSlotSize = MemoryLayout<UInt>.size

    /// A new entry for a slot-stored value (see `SlotStoredValue`): the entry owns `word`
    /// from now on and frees it with itself.
    static func make(key: UnsafeRawBufferPointer, word: UInt, type: ValueType, lru: UInt32) -> KeyEntry {
        precondition(type.slotStored != nil)
        let entry = make(key: key, value: UnsafeRawBufferPointer(start: nil, count: 0), type: type, lru: lru)
        entry.slotWord = word
        return entry
    }

    /// The 8 bytes after the key: for slot-stored types the value's own word, for the
    /// other non-string types a +1 reference to the value object. Not aligned (it follows
    /// the key bytes), hence the unaligned loads; its address is fixed for the entry's life.
    @inline(__always) var valueSlot: UnsafeMutableRawPointer { elements + Int(header.keyLength) }

    /// The raw slot word of a non-string entry, without any ownership change: slot-stored
    /// values read and replace their word through this.
    var slotWord: UInt {
        @inline(__always) get { valueSlot.loadUnaligned(as: UInt.self) }
        @inline(__always) set { valueSlot.storeBytes(of: newValue, as: UInt.self) }
    }

    /// Moves the word out of a slot-stored entry (RENAME, storing a detached value under a
    /// key): the slot is left 0, so this entry's deinit frees nothing.
    func takeSlotWord() -> UInt {
        let word = slotWord
        slotWord = 0
        return word
    }

    /// The value of object-held types (streams), held with a +1 reference in the
    /// slot after the key; nil for strings and slot-stored types (`ValueType.slotStored`).
    /// The type of an entry never changes.
    var object: AnyObject? {
        @inline(__always) get {
            if type == .string || type.slotStored != nil { return nil }
            guard let p = UnsafeRawPointer(bitPattern: slotWord) else { return nil }
            return Unmanaged<AnyObject>.fromOpaque(p).takeUnretainedValue()
        }
        set {
            if type == .string || type.slotStored != nil {
                precondition(newValue == nil, "a string or slot-stored entry has no value object")
                return
            }
            let old = slotWord
            slotWord = newValue.map { UInt(bitPattern: Unmanaged<AnyObject>.passRetained($0).toOpaque()) } ?? 0
            if let p = UnsafeRawPointer(bitPattern: old) { Unmanaged<AnyObject>.fromOpaque(p).release() }
        }
    }

    deinit {
        if type == .string { return }
        let word = slotWord
        if word == 0 { return }
        if let stored = type.slotStored {
            stored.destroy(word)
        } else if let p = UnsafeRawPointer(bitPattern: word) {
            Unmanaged<AnyObject>.fromOpaque(p).release()
        }
    }

    @inline(__always) var elements: UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(withUnsafeMutablePointerToElements { $0 })
    }

    @inline(__always) var key: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: elements, count: Int(header.keyLength))
    }

    @inline(__always) var keyLength: Int { Int(header.keyLength) }

    /// The bytes of a string value.
    @inline(__always) var stringValue: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: elements + Int(header.keyLength), count: Int(header.valueLength))
    }

    /// Bytes available for the value in this allocation (for in-place APPEND/SETRANGE/INCR).
    var valueCapacity: Int { capacity - Int(header.keyLength) }

    @inline(__always) var type: ValueType { ValueType(rawValue: UInt8(header.meta & 0x0F)) ?? .string }

    /// Bits 4-6 of `meta`; bit 7 is `isPrivateInteger`, which any re-encoding clears.
    var encoding: StringEncoding {
        get { StringEncoding(rawValue: UInt8((header.meta >> 4) & 0x07)) ?? .raw }
        set { header.meta = (header.meta & ~0xF0) | (UInt32(newValue.rawValue) << 4) }
    }

    /// LRU clock (seconds, 24 bits) of the last access.
    var lru: UInt32 {
        @inline(__always) get { header.meta >> 8 }
        @inline(__always) set { header.meta = (header.meta & 0xFF) | ((newValue & KeyEntry.lruMask) << 8) }
    }

    /// Whether the key has a TTL; its time is `Database.expireAt(of:)`.
    @inline(__always) var hasExpire: Bool { header.volatileSlot >= 0 }

    /// The next entry of the bucket chain as a bare pointer, without retaining it (for
    /// KeyTable's walks; `header.next` is the first field of the header).
    @inline(__always) var nextLink: UnsafeRawPointer? {
        withUnsafeMutablePointerToHeader { UnsafeRawPointer($0).load(as: UnsafeRawPointer?.self) }
    }

    @inline(__always) func keyEquals(_ other: UnsafeRawBufferPointer) -> Bool {
        let n = Int(header.keyLength)
        if n != other.count { return false }
        if n == 0 { return true }
        return memcmp(elements, other.baseAddress!, n) == 0
    }

    /// Overwrites the string value in place; the caller checked `valueCapacity`.
    func setStringValueInPlace(_ value: UnsafeRawBufferPointer) {
        precondition(value.count <= valueCapacity)
        if value.count > 0 {
            (elements + Int(header.keyLength)).copyMemory(from: value.baseAddress!, byteCount: value.count)
        }
        header.valueLength = UInt32(value.count)
        header.meta &= ~0x80  // a rewritten value has a zero terminator (see hllTerminatorKept)
    }

    /// Sets the string value's length after its bytes were written through
    /// `withMutableValue` (APPEND, SETRANGE); the caller checked `valueCapacity`.
    func setStringValueLength(_ n: Int) {
        precondition(n >= 0 && n <= valueCapacity)
        header.valueLength = UInt32(n)
        header.meta &= ~0x80  // see hllTerminatorKept
    }

    /// Mutable access to the value bytes for in-place edits (SETRANGE, APPEND).
    func withMutableValue<R>(_ body: (UnsafeMutableRawPointer, _ capacity: Int) -> R) -> R {
        body(elements + Int(header.keyLength), valueCapacity)
    }
}
