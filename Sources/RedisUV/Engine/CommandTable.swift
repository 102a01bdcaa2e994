/// A command handler: reads its arguments, touches the keyspace, appends replies.
/// Arity and the central gates were already checked by the dispatcher.
typealias CommandProc = @Sendable (Client, Argv) -> Void

/// One implemented command: its Redis full name and handler. A concrete struct (not a
/// tuple in a generic array) so the handler is stored without reabstraction thunks,
/// which cost an allocation per call on the hot path.
struct CommandImpl: Sendable {
    let name: String
    let proc: CommandProc
    init(_ name: String, _ proc: @escaping CommandProc) {
        self.name = name
        self.proc = proc
    }
}

/// A runnable command: Redis's facts about it (CommandSpec, generated from Redis 7.0.15's
/// command JSON) plus our implementation and its statistics.
final class RedisCommand {
    let spec: CommandSpec
    let proc: CommandProc?
    /// Implemented subcommands, by lowercase name (containers only).
    private(set) var subcommands: [String: RedisCommand] = [:]

    // INFO commandstats
    var calls = 0
    /// Time spent in the handler, in cycleCount() ticks.
    var cycles: UInt64 = 0
    var microseconds: Int {
        get { Int(Double(cycles) / cyclesPerMicrosecond) }
        set { cycles = UInt64(Swift.max(0, Double(newValue) * cyclesPerMicrosecond)) }
    }
    var rejectedCalls = 0
    var failedCalls = 0
    /// LATENCY HISTOGRAM / INFO latencystats, made on the first call (Engine/Introspection.swift).
    var latencyHistogram: LatencyHistogram? = nil

    /// EXEC, DISCARD, MULTI, WATCH, QUIT and RESET run at once inside MULTI instead of
    /// being queued (Redis's processCommand), decided once here rather than per command.
    let runsInsideMulti: Bool
    /// EXEC: what it propagates is its queued commands', never itself.
    let propagatesItsBody: Bool
    /// The command's bit in ACL bitmaps (ACL/ACLCommandIndex.swift).
    let aclID: Int

    init(spec: CommandSpec, proc: CommandProc?) {
        self.spec = spec
        self.proc = proc
        self.nameBytes = Array(spec.name.utf8)
        self.runsInsideMulti = ["exec", "discard", "multi", "watch", "quit", "reset"].contains(spec.name)
        self.propagatesItsBody = spec.name == "exec"
        self.aclID = ACLCommandIndex.id(of: spec)
        switch spec.name {
        case "eval", "eval_ro": self.scriptFlagsSource = .eval
        case "evalsha", "evalsha_ro": self.scriptFlagsSource = .evalsha
        case "fcall", "fcall_ro": self.scriptFlagsSource = .fcall
        default: self.scriptFlagsSource = .none
        }
    }

    /// EVAL*, FCALL*: the dispatcher's gates see the flags the script declares
    /// (Redis's getCommandFlags: evalGetCommandFlags, fcallGetCommandFlags).
    enum ScriptFlagsSource: UInt8 { case none, eval, evalsha, fcall }
    let scriptFlagsSource: ScriptFlagsSource

    var fullName: String { spec.fullName }
    var arity: Int { spec.arity }
    var flags: CommandFlags { spec.flags }
    var isContainer: Bool { !spec.subcommands.isEmpty }
    var sortedSubcommands: [RedisCommand] { subcommands.values.sorted { $0.fullName < $1.fullName } }

    func addSubcommand(_ c: RedisCommand) { subcommands[c.spec.name] = c }

    func subcommand(_ name: UnsafeRawBufferPointer) -> RedisCommand? {
        if name.count > 64 { return nil }
        return subcommands[String(decoding: name.map(asciiLower), as: UTF8.self)]
    }

    /// Lowercase name bytes, for lookups without touching String.
    private let nameBytes: [UInt8]

    @inline(__always) func nameMatches(_ name: UnsafeRawBufferPointer) -> Bool {
        nameBytes.withUnsafeBufferPointer { n in
            if n.count != name.count { return false }
            for i in 0..<n.count where n[i] != asciiLower(name[i]) { return false }
            return true
        }
    }

    @inline(__always) func arityAccepts(_ argc: Int) -> Bool {
        let a = spec.arity
        return a > 0 ? argc == a : argc >= -a
    }
}

/// The command table (Redis's server.commands): only commands we implement are in it, so
/// everything else gets Redis's own "unknown command" error and COMMAND never advertises
/// what does not work. Lookup hashes the name case-insensitively without allocating.
final class CommandTable {
    /// Open-addressed slots indexed by a case-insensitive FNV hash of the name: no
    /// Hasher (SipHash) and no allocation per lookup.
    private var slots: [RedisCommand?] = []
    private var slotMask = 0
    private(set) var all: [RedisCommand] = []

    /// Builds the table from the implemented procs, keyed by full name ("get",
    /// "config|get"). A name Redis 7.0 does not know is a programming error.
    init(implementations: [CommandImpl]) {
        var top: [String: RedisCommand] = [:]
        var subs: [(String, String, CommandProc)] = []
        for impl in implementations {
            let name = impl.name, proc = impl.proc
            let parts = name.split(separator: "|").map(String.init)
            if parts.count == 2 {
                subs.append((parts[0], parts[1], proc))
            } else {
                guard let spec = CommandSpecs.named(name) else { fatalError("no Redis 7.0 command named \(name)") }
                top[name] = RedisCommand(spec: spec, proc: proc)
            }
        }
        for (container, sub, proc) in subs {
            guard let cspec = CommandSpecs.named(container), let sspec = cspec.subcommand(named: sub) else {
                fatalError("no Redis 7.0 command named \(container)|\(sub)")
            }
            let parent = top[container] ?? RedisCommand(spec: cspec, proc: nil)
            top[container] = parent
            parent.addSubcommand(RedisCommand(spec: sspec, proc: proc))
        }
        all = top.values.sorted { $0.fullName < $1.fullName }
        var size = 64
        while size < all.count * 4 { size *= 2 }
        slots = Array(repeating: nil, count: size)
        slotMask = size - 1
        for c in all {
            var i = Int(truncatingIfNeeded: CommandTable.nameHash(Array(c.spec.name.utf8))) & slotMask
            while slots[i] != nil { i = (i + 1) & slotMask }
            slots[i] = c
        }
    }

    var count: Int { all.count }

    @inline(__always)
    static func nameHash(_ p: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for c in p { h = (h ^ UInt64(asciiLower(c))) &* 0x100_0000_01b3 }
        return h
    }

    static func nameHash(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { nameHash($0) } }

    @inline(__always)
    func lookup(_ name: UnsafeRawBufferPointer) -> RedisCommand? {
        guard name.count <= 64 else { return nil }
        var i = Int(truncatingIfNeeded: CommandTable.nameHash(name)) & slotMask
        return slots.withUnsafeBufferPointer { slots in
            while let c = slots[i] {
                if c.nameMatches(name) { return c }
                i = (i + 1) & slotMask
            }
            return nil
        }
    }

    func lookup(_ name: String) -> RedisCommand? {
        Array(name.utf8).withUnsafeBytes { lookup($0) }
    }

    /// "config|get" or "get".
    func lookup(fullName: String) -> RedisCommand? {
        let parts = fullName.split(separator: "|", maxSplits: 1).map(String.init)
        guard let top = lookup(parts[0]) else { return nil }
        if parts.count == 1 { return top }
        return Array(parts[1].utf8).withUnsafeBytes { top.subcommand($0) }
    }
}
