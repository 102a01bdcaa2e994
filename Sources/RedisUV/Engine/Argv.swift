/// The arguments of the command being executed: byte views into the client's input (or
/// into owned copies for re-executed commands). Valid only while the command runs.
struct Argv {
    let base: UnsafePointer<UnsafeRawBufferPointer>
    let count: Int

    @inline(__always) subscript(i: Int) -> UnsafeRawBufferPointer { base[i] }

    /// Case-insensitive comparison of argument `i` with an ASCII word, e.g. "ex".
    @inline(__always) func equals(_ i: Int, _ word: StaticString) -> Bool {
        bytesEqualIgnoringCase(base[i], word)
    }

    /// Argument `i` as a String (for messages and rarely used paths; never on the hot path).
    func string(_ i: Int) -> String { String(decoding: base[i], as: UTF8.self) }

    /// Argument `i` as an owned byte array.
    func bytes(_ i: Int) -> [UInt8] { Array(base[i]) }

    /// Argument `i` lowercased, as a String (subcommand and option names).
    func lowercased(_ i: Int) -> String { String(decoding: base[i].map { asciiLower($0) }, as: UTF8.self) }
}

@inline(__always) func asciiLower(_ c: UInt8) -> UInt8 { (c >= 65 && c <= 90) ? c | 0x20 : c }

@inline(__always)
func bytesEqualIgnoringCase(_ a: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
    let n = word.utf8CodeUnitCount
    if a.count != n { return false }
    let w = word.utf8Start
    for i in 0..<n where asciiLower(a[i]) != asciiLower(w[i]) { return false }
    return true
}

func bytesEqualIgnoringCase(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    if a.count != b.count { return false }
    for i in 0..<a.count where asciiLower(a[i]) != asciiLower(b[i]) { return false }
    return true
}

extension Array where Element == UInt8 {
    /// A temporary byte view, for calling APIs that take UnsafeRawBufferPointer.
    @inline(__always)
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(body)
    }
}

/// Owned copies of a command's arguments, for commands that run later than they arrived
/// (blocked clients, MULTI queues) and for building argument vectors in code.
final class OwnedArgv {
    let count: Int
    private let views: UnsafeMutablePointer<UnsafeRawBufferPointer>
    /// Every argument's bytes, back to back, in one allocation.
    private let storage: UnsafeMutableRawPointer

    /// Copies `argv` (views into a buffer that will be reused) with two allocations,
    /// whatever the number of arguments: MULTI queues one of these per command.
    init(_ argv: Argv) {
        count = argv.count
        var total = 0
        for i in 0..<argv.count { total &+= argv[i].count }
        storage = .allocate(byteCount: Swift.max(total, 1), alignment: 8)
        views = .allocate(capacity: Swift.max(argv.count, 1))
        var off = 0
        for i in 0..<argv.count {
            let a = argv[i]
            if let base = a.baseAddress, a.count > 0 { (storage + off).copyMemory(from: base, byteCount: a.count) }
            views[i] = UnsafeRawBufferPointer(start: storage + off, count: a.count)
            off &+= a.count
        }
    }

    init(_ args: [[UInt8]]) {
        count = args.count
        let total = args.reduce(0) { $0 + $1.count }
        storage = .allocate(byteCount: Swift.max(total, 1), alignment: 8)
        views = .allocate(capacity: Swift.max(args.count, 1))
        var off = 0
        for (i, a) in args.enumerated() {
            a.withUnsafeBytes { if let base = $0.baseAddress, a.count > 0 { (storage + off).copyMemory(from: base, byteCount: a.count) } }
            views[i] = UnsafeRawBufferPointer(start: storage + off, count: a.count)
            off += a.count
        }
    }

    convenience init(strings: [String]) {
        self.init(strings.map { Array($0.utf8) })
    }

    deinit {
        views.deallocate()
        storage.deallocate()
    }

    var argv: Argv { Argv(base: UnsafePointer(views), count: count) }
}
