/// The command facts ACLs work from (Redis's server.orig_commands and ACLGetCommandID):
/// every Redis 7.0 command and subcommand gets a bit number, whether we implement it or
/// not, so that category rules, their compaction in ACL LIST/GETUSER and ACL CAT count
/// exactly the commands Redis counts.
enum ACLCommandIndex {
    /// Redis 7.0's categories (ACLCommandCategories, in its order).
    static let categories: [String] = CommandACLCategories.ordered

    /// One entry per command or subcommand; `id` is its index here.
    struct Entry {
        let spec: CommandSpec
        let id: Int
        /// Bits over `categories`.
        let categoryBits: UInt32
        /// Ids of the subcommands (containers only).
        var subcommandIDs: [Int]
        let parentID: Int?
        let channelArgs: ChannelArgs
        /// Redis's doesCommandHaveKeys.
        let hasKeys: Bool
        /// The key specs when they are all index+range with fixed flags and no getkeys
        /// function can be needed: keys are then found without copying arguments.
        let simpleKeySpecs: [SimpleKeySpec]?
    }

    struct SimpleKeySpec {
        let pos: Int
        let lastKey: Int
        let step: Int
        let limit: Int
        let flags: [String]
        /// What the flags ask of a key pattern (ACLSelectorCheckKey).
        let read: Bool
        let write: Bool

        /// First and last key positions for `argc` arguments (getKeysUsingKeySpecs).
        @inline(__always) func range(_ argc: Int) -> (first: Int, last: Int) {
            if lastKey >= 0 { return (pos, pos + lastKey) }
            if limit == 0 { return (pos, argc + lastKey) }
            return (pos, pos + ((argc - pos) / limit + lastKey))
        }
    }

    static func simpleKeySpecs(_ spec: CommandSpec) -> [SimpleKeySpec]? {
        if KeyExtraction.getKeysFunctions[spec.fullName] != nil { return nil }
        var result: [SimpleKeySpec] = []
        for ks in spec.keySpecs {
            if ks.hasFlag("variable_flags") || ks.hasFlag("incomplete") { return nil }
            if ks.hasFlag("not_key") { continue }
            guard case .index(let pos) = ks.beginSearch, case .range(let last, let step, let limit) = ks.findKeys else {
                return nil
            }
            let ref = KeyExtraction.KeyRef(position: 0, flags: ks.flags)
            result.append(SimpleKeySpec(pos: pos, lastKey: last, step: step, limit: limit, flags: ks.flags,
                                        read: ref.read, write: ref.write))
        }
        return result.isEmpty ? nil : result
    }

    /// Which arguments of a command are Pub/Sub channels (ACLDoesCommandHaveChannels).
    enum ChannelArgs {
        case none
        /// PUBLISH, SPUBLISH: argv[1], matched against patterns.
        case first
        /// SUBSCRIBE, SSUBSCRIBE: every argument, matched against patterns.
        case all
        /// PSUBSCRIBE: every argument, compared literally with the patterns.
        case allLiteral
    }

    /// Top-level commands in name order, each followed by its subcommands.
    static let entries: [Entry] = build()
    /// Top-level ids, in name order.
    static let topLevelIDs: [Int] = entries.filter { $0.parentID == nil }.map(\.id)
    static var count: Int { entries.count }
    /// Words of a command bitmap.
    static let words: Int = (entries.count + 63) / 64

    private static let idsBySpec: [ObjectIdentifier: Int] =
        Dictionary(uniqueKeysWithValues: entries.map { (ObjectIdentifier($0.spec), $0.id) })
    private static let idsByName: [String: Int] =
        Dictionary(uniqueKeysWithValues: entries.map { ($0.spec.fullName, $0.id) })

    private static func build() -> [Entry] {
        var result: [Entry] = []
        func bits(_ spec: CommandSpec) -> UInt32 {
            var b: UInt32 = 0
            for cat in spec.aclCategories {
                if let i = categories.firstIndex(of: String(cat.dropFirst())) { b |= 1 << UInt32(i) }
            }
            return b
        }
        func channels(_ name: String) -> ChannelArgs {
            switch name {
            case "publish", "spublish": return .first
            case "subscribe", "ssubscribe": return .all
            case "psubscribe": return .allLiteral
            default: return .none
            }
        }
        for spec in CommandSpecs.all {
            let id = result.count
            result.append(Entry(spec: spec, id: id, categoryBits: bits(spec), subcommandIDs: [],
                                parentID: nil, channelArgs: channels(spec.fullName),
                                hasKeys: KeyExtraction.hasKeys(spec), simpleKeySpecs: simpleKeySpecs(spec)))
            for sub in spec.subcommands {
                result[id].subcommandIDs.append(result.count)
                result.append(Entry(spec: sub, id: result.count, categoryBits: bits(sub), subcommandIDs: [],
                                    parentID: id, channelArgs: .none,
                                    hasKeys: KeyExtraction.hasKeys(sub), simpleKeySpecs: simpleKeySpecs(sub)))
            }
        }
        return result
    }

    static let setID: Int = lookup(Array("set".utf8))!
    static let setKeyRef = KeyExtraction.KeyRef(position: 1, flags: ["OW", "update"])
    static let setGetKeyRef = KeyExtraction.KeyRef(position: 1, flags: ["RW", "access", "update"])

    /// The bit of a command table spec (every spec has one).
    static func id(of spec: CommandSpec) -> Int {
        if let id = idsBySpec[ObjectIdentifier(spec)] { return id }
        fatalError("ACL: no command id for \(spec.fullName)")
    }

    /// The category's bit, by case-insensitive name (ACLGetCommandCategoryFlagByName).
    static func categoryBit(named name: [UInt8]) -> UInt32? {
        let lower = String(decoding: name.map(asciiLower), as: UTF8.self)
        guard let i = categories.firstIndex(of: lower) else { return nil }
        return 1 << UInt32(i)
    }

    /// Redis's ACLLookupCommand (lookupCommandBySdsLogic on the original table):
    /// "get" or "config|get", case-insensitive; nil for more than one '|' or an unknown name.
    static func lookup(_ name: [UInt8]) -> Int? {
        let lower = String(decoding: name.map(asciiLower), as: UTF8.self)
        let parts = lower.split(separator: "|", omittingEmptySubsequences: false)
        if parts.count > 2 { return nil }
        if parts.count == 2 {
            // A command without subcommands has none to find.
            guard let top = idsByName[String(parts[0])], !entries[top].subcommandIDs.isEmpty else { return nil }
        }
        return idsByName[lower]
    }
}

/// A set of command bits (Redis's allowed_commands bitmap).
struct ACLCommandBits: Equatable {
    var words: [UInt64]

    static var none: ACLCommandBits { ACLCommandBits(words: Array(repeating: 0, count: ACLCommandIndex.words)) }
    static var all: ACLCommandBits { ACLCommandBits(words: Array(repeating: ~0, count: ACLCommandIndex.words)) }

    @inline(__always) func contains(_ id: Int) -> Bool { words[id >> 6] & (1 << UInt64(id & 63)) != 0 }

    @inline(__always) mutating func set(_ id: Int, _ on: Bool) {
        if on { words[id >> 6] |= 1 << UInt64(id & 63) } else { words[id >> 6] &= ~(1 << UInt64(id & 63)) }
    }
}
