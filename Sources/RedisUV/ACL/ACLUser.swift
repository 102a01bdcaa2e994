import Crypto

/// One set of permissions (Redis's aclSelector): a user's root selector plus any
/// `(...)` selectors; a command runs when one selector allows all of it.
struct ACLSelector {
    struct KeyPattern: Equatable {
        var pattern: [UInt8]
        var read: Bool
        var write: Bool
    }

    var isRoot: Bool
    var allKeys = false
    var allChannels = false
    /// Redis's SELECTOR_FLAG_ALLCOMMANDS: set by +@all, dropped by any bit cleared.
    var allCommands = false
    /// The reserved bit +@all sets and only -@all clears: the rules start from +@all
    /// (future commands allowed) when describing them.
    var futureCommands = false
    var allowed = ACLCommandBits.none
    /// Allowed first arguments of otherwise denied commands (+select|0), by command id,
    /// in the order added.
    var firstArgs: [Int: [[UInt8]]] = [:]
    var keyPatterns: [KeyPattern] = []
    var channels: [[UInt8]] = []

    init(root: Bool, pubsubDefaultAll: Bool) {
        isRoot = root
        allChannels = pubsubDefaultAll
    }

    /// Nothing to check: every command, key and channel.
    var isUnrestricted: Bool { allCommands && allKeys && allChannels }

    // MARK: rules (Redis's ACLSetSelector)

    mutating func setCommandBit(_ id: Int, _ on: Bool) {
        allowed.set(id, on)
        if !on { allCommands = false }
    }

    /// ACLChangeSelectorPerm: the command and, for a container, all its subcommands.
    mutating func changePerm(_ id: Int, _ allow: Bool) {
        setCommandBit(id, allow)
        firstArgs[id] = nil
        for sub in ACLCommandIndex.entries[id].subcommandIDs { setCommandBit(sub, allow) }
    }

    /// ACLSetSelectorCommandBitsForCategoryLogic over the whole table.
    mutating func changeCategory(_ bit: UInt32, _ allow: Bool) {
        for top in ACLCommandIndex.topLevelIDs {
            let e = ACLCommandIndex.entries[top]
            if e.categoryBits & bit != 0 { changePerm(top, allow) }
            for sub in e.subcommandIDs where ACLCommandIndex.entries[sub].categoryBits & bit != 0 {
                changePerm(sub, allow)
            }
        }
    }

    mutating func addFirstArg(_ id: Int, _ arg: [UInt8]) {
        var list = firstArgs[id] ?? []
        if list.contains(where: { asciiCaseEqual($0, arg) }) { return }
        list.append(arg)
        firstArgs[id] = list
    }

    /// Applies one selector rule; the error says why it was refused.
    mutating func apply(_ op: [UInt8]) -> ACLRuleError? {
        let lower = op.map(asciiLower)
        func isWord(_ w: String) -> Bool { lower.elementsEqual(w.utf8) }
        if isWord("allkeys") || isWord("~*") {
            allKeys = true
            keyPatterns = []
        } else if isWord("resetkeys") {
            allKeys = false
            keyPatterns = []
        } else if isWord("allchannels") || isWord("&*") {
            allChannels = true
            channels = []
        } else if isWord("resetchannels") {
            allChannels = false
            channels = []
        } else if isWord("allcommands") || isWord("+@all") {
            allowed = .all
            allCommands = true
            futureCommands = true
            firstArgs = [:]
        } else if isWord("nocommands") || isWord("-@all") {
            allowed = .none
            allCommands = false
            futureCommands = false
            firstArgs = [:]
        } else if op.first == UInt8(ascii: "~") || op.first == UInt8(ascii: "%") {
            if allKeys { return .keyAfterAll }
            var read = false, write = false
            var offset = 1
            if op[0] == UInt8(ascii: "%") {
                var closed = false
                while offset < op.count {
                    let ch = asciiUpper(op[offset])
                    if ch == UInt8(ascii: "R") && !read {
                        read = true
                    } else if ch == UInt8(ascii: "W") && !write {
                        write = true
                    } else if op[offset] == UInt8(ascii: "~") {
                        offset += 1
                        closed = true
                        break
                    } else {
                        return .syntax
                    }
                    offset += 1
                }
                _ = closed  // "%R" alone is accepted by Redis too: an empty pattern
                if !read && !write { return .syntax }  // "%~a"
            } else {
                read = true
                write = true
            }
            let pattern = Array(op[offset...])
            if aclHasSpaces(pattern) { return .syntax }
            if let i = keyPatterns.firstIndex(where: { $0.pattern == pattern }) {
                keyPatterns[i].read = keyPatterns[i].read || read
                keyPatterns[i].write = keyPatterns[i].write || write
            } else {
                keyPatterns.append(KeyPattern(pattern: pattern, read: read, write: write))
            }
            allKeys = false
        } else if op.first == UInt8(ascii: "&") {
            if allChannels { return .channelAfterAll }
            let pattern = Array(op[1...])
            if aclHasSpaces(pattern) { return .syntax }
            if !channels.contains(pattern) { channels.append(pattern) }
            allChannels = false
        } else if op.first == UInt8(ascii: "+") && op.count >= 1 && (op.count < 2 || op[1] != UInt8(ascii: "@")) {
            let name = Array(op[1...])
            guard let bar = name.lastIndex(of: UInt8(ascii: "|")) else {
                guard let id = ACLCommandIndex.lookup(name) else { return .unknownCommand }
                changePerm(id, true)
                return nil
            }
            let base = Array(name[..<bar])
            let sub = Array(name[(bar + 1)...])
            guard let id = ACLCommandIndex.lookup(base) else { return .unknownCommand }
            if ACLCommandIndex.entries[id].parentID != nil { return .firstArgOfSubcommand }
            if sub.isEmpty { return .syntax }
            if !ACLCommandIndex.entries[id].subcommandIDs.isEmpty {
                guard let subID = ACLCommandIndex.lookup(name) else { return .unknownCommand }
                changePerm(subID, true)
            } else {
                addFirstArg(id, sub)
            }
        } else if op.first == UInt8(ascii: "-") && (op.count < 2 || op[1] != UInt8(ascii: "@")) {
            guard let id = ACLCommandIndex.lookup(Array(op[1...])) else { return .unknownCommand }
            changePerm(id, false)
        } else if (op.first == UInt8(ascii: "+") || op.first == UInt8(ascii: "-")) && op.count >= 2 && op[1] == UInt8(ascii: "@") {
            guard let bit = ACLCommandIndex.categoryBit(named: Array(op[2...])) else { return .unknownCommand }
            changeCategory(bit, op[0] == UInt8(ascii: "+"))
        } else {
            return .syntax
        }
        return nil
    }
}

/// Why a rule was refused (Redis's errno values and ACLSetUserStringError texts).
enum ACLRuleError: Error, Equatable {
    case unknownCommand, syntax, keyAfterAll, channelAfterAll, noSuchPassword, badHash
    case duplicateUser, firstArgOfSubcommand

    var message: String {
        switch self {
        case .unknownCommand: return "Unknown command or category name in ACL"
        case .syntax: return "Syntax error"
        case .keyAfterAll:
            return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
        case .channelAfterAll:
            return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"
        case .noSuchPassword: return "The password you are trying to remove from the user does not exist"
        case .badHash: return "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
        case .duplicateUser: return "Duplicate user found. A user can only be defined once in config files"
        case .firstArgOfSubcommand: return "Allowing first-arg of a subcommand is not supported"
        }
    }
}

/// A user (Redis's `user`): flags, password hashes and selectors, the first the root.
/// A class: clients point at the user they authenticated as, and see its changes.
final class ACLUser {
    struct Flags: OptionSet {
        let rawValue: UInt8
        static let enabled = Flags(rawValue: 1 << 0)
        static let disabled = Flags(rawValue: 1 << 1)
        static let nopass = Flags(rawValue: 1 << 2)
        static let skipSanitizePayload = Flags(rawValue: 1 << 3)
        static let sanitizePayload = Flags(rawValue: 1 << 4)
        /// The order ACL LIST and GETUSER print them in (ACLUserFlags).
        static let described: [(Flags, String)] = [
            (.enabled, "on"), (.disabled, "off"), (.nopass, "nopass"),
            (.skipSanitizePayload, "skip-sanitize-payload"), (.sanitizePayload, "sanitize-payload"),
        ]
    }

    let name: [UInt8]
    var flags: Flags = .disabled
    /// SHA-256 hex digests, in the order added.
    var passwords: [String] = []
    var selectors: [ACLSelector]
    /// The dispatcher's one test: false when the root selector allows everything, so an
    /// all-permissive user costs a load and a branch per command.
    private(set) var needsCheck = true

    var nameString: String { String(decoding: name, as: UTF8.self) }

    init(name: [UInt8], pubsubDefaultAll: Bool) {
        self.name = name
        selectors = [ACLSelector(root: true, pubsubDefaultAll: pubsubDefaultAll)]
        refresh()
    }

    /// An unlinked copy (SETUSER stages changes on one, as Redis's ACLCopyUser).
    func copy(named newName: [UInt8]? = nil) -> ACLUser {
        let u = ACLUser(name: newName ?? name, pubsubDefaultAll: false)
        u.copyRules(from: self)
        return u
    }

    func copyRules(from other: ACLUser) {
        flags = other.flags
        passwords = other.passwords
        selectors = other.selectors
        refresh()
    }

    func refresh() { needsCheck = !selectors[0].isUnrestricted }

    /// Applies one rule (Redis's ACLSetUser); an empty rule does nothing.
    func apply(_ op: [UInt8], pubsubDefaultAll: Bool) -> ACLRuleError? {
        defer { refresh() }
        if op.isEmpty { return nil }
        let lower = op.map(asciiLower)
        func isWord(_ w: String) -> Bool { lower.elementsEqual(w.utf8) }
        if isWord("on") {
            flags.insert(.enabled); flags.remove(.disabled)
        } else if isWord("off") {
            flags.insert(.disabled); flags.remove(.enabled)
        } else if isWord("skip-sanitize-payload") {
            flags.insert(.skipSanitizePayload); flags.remove(.sanitizePayload)
        } else if isWord("sanitize-payload") {
            flags.remove(.skipSanitizePayload); flags.insert(.sanitizePayload)
        } else if isWord("nopass") {
            flags.insert(.nopass)
            passwords = []
        } else if isWord("resetpass") {
            flags.remove(.nopass)
            passwords = []
        } else if op[0] == UInt8(ascii: ">") || op[0] == UInt8(ascii: "#") {
            let hash: String
            if op[0] == UInt8(ascii: ">") {
                hash = aclHashPassword(op[1...])
            } else {
                guard let h = aclValidHash(op[1...]) else { return .badHash }
                hash = h
            }
            if !passwords.contains(hash) { passwords.append(hash) }
            flags.remove(.nopass)
        } else if op[0] == UInt8(ascii: "<") || op[0] == UInt8(ascii: "!") {
            let hash: String
            if op[0] == UInt8(ascii: "<") {
                hash = aclHashPassword(op[1...])
            } else {
                guard let h = aclValidHash(op[1...]) else { return .badHash }
                hash = h
            }
            guard let i = passwords.firstIndex(of: hash) else { return .noSuchPassword }
            passwords.remove(at: i)
        } else if op[0] == UInt8(ascii: "(") && op.last == UInt8(ascii: ")") {
            var selector = ACLSelector(root: false, pubsubDefaultAll: pubsubDefaultAll)
            let inner = Array(op[1..<(op.count - 1)])
            // Unbalanced quotes split into no rules at all (sdssplitargs' NULL), as in Redis.
            let args = splitConfigArgs(inner) ?? []
            for a in args {
                if let err = selector.apply(a) { return err }
            }
            selectors.append(selector)
        } else if isWord("clearselectors") {
            selectors.removeSubrange(1...)
        } else if isWord("reset") {
            _ = apply(Array("resetpass".utf8), pubsubDefaultAll: pubsubDefaultAll)
            _ = apply(Array("resetkeys".utf8), pubsubDefaultAll: pubsubDefaultAll)
            _ = apply(Array("resetchannels".utf8), pubsubDefaultAll: pubsubDefaultAll)
            if pubsubDefaultAll { _ = apply(Array("allchannels".utf8), pubsubDefaultAll: pubsubDefaultAll) }
            _ = apply(Array("off".utf8), pubsubDefaultAll: pubsubDefaultAll)
            _ = apply(Array("sanitize-payload".utf8), pubsubDefaultAll: pubsubDefaultAll)
            _ = apply(Array("clearselectors".utf8), pubsubDefaultAll: pubsubDefaultAll)
            _ = apply(Array("-@all".utf8), pubsubDefaultAll: pubsubDefaultAll)
        } else {
            return selectors[0].apply(op)
        }
        return nil
    }

    /// Redis's ACLCheckUserCredentials once the user is found.
    func checkPassword(_ password: UnsafeRawBufferPointer) -> Bool {
        if flags.contains(.disabled) { return false }
        if flags.contains(.nopass) { return true }
        let hashed = Array(aclHashPassword(password).utf8)
        var ok = false
        for p in passwords where constantTimeEqual(hashed, Array(p.utf8)) { ok = true }
        return ok
    }
}

/// SHA-256 as lowercase hex (Redis's ACLHashPassword).
func aclHashPassword<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    let digest = SHA256.hash(data: Array(bytes))
    let hex = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(64)
    for b in digest {
        out.append(hex[Int(b >> 4)])
        out.append(hex[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}

func aclHashPassword(_ p: UnsafeRawBufferPointer) -> String { aclHashPassword(Array(p)) }

/// A 64-character lowercase hex digest, or nil (ACLCheckPasswordHash).
func aclValidHash<C: Collection>(_ bytes: C) -> String? where C.Element == UInt8 {
    guard bytes.count == 64 else { return nil }
    for c in bytes where !((c >= 48 && c <= 57) || (c >= 97 && c <= 102)) { return nil }
    return String(decoding: Array(bytes), as: UTF8.self)
}

/// ACLStringHasSpaces: whitespace (C isspace) or NUL.
func aclHasSpaces<C: Collection>(_ s: C) -> Bool where C.Element == UInt8 {
    s.contains { $0 == 0 || $0 == 32 || ($0 >= 9 && $0 <= 13) }
}

@inline(__always) func asciiUpper(_ c: UInt8) -> UInt8 { (c >= 97 && c <= 122) ? c & ~0x20 : c }

func asciiCaseEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { asciiLower($0) == asciiLower($1) }
}

func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { constantTimeEqual($0, b) }
}

/// sdssplitargs on bytes (redis.conf and selector bodies); nil for unbalanced quotes.
func splitConfigArgs(_ bytes: [UInt8]) -> [[UInt8]]? {
    var storage: [UInt8] = []
    var ranges: [(Int, Int)] = []
    let ok = bytes.withUnsafeBytes { splitArgs($0, into: &storage, ranges: &ranges) }
    guard ok else { return nil }
    return ranges.map { Array(storage[$0.0..<($0.0 + $0.1)]) }
}
