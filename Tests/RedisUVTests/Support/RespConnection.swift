import Glibc
import Foundation

/// Errors of a RespConnection. `partial` holds bytes read so far that did
/// not make a complete reply.
enum RespConnectionError: Error, CustomStringConvertible {
    case timeout(partial: [UInt8])
    case closed(partial: [UInt8])
    case protocolError(String, partial: [UInt8])
    case io(String)

    var description: String {
        switch self {
        case .timeout(let p): return "timed out waiting for a reply (partial: \"\(RespEscape.escape(p))\")"
        case .closed(let p): return "connection closed by server (partial: \"\(RespEscape.escape(p))\")"
        case .protocolError(let m, let p): return "protocol error: \(m) (bytes: \"\(RespEscape.escape(p))\")"
        case .io(let m): return "I/O error: \(m)"
        }
    }
}

/// Finds where one complete RESP2/RESP3 reply ends in a byte buffer.
///
/// Types: `+ - : , _ # (` (one line), `$ ! =` (length-prefixed, `$-1` null),
/// `* ~ > %` (aggregates, `*-1` null array; `%` has 2×N elements) and
/// `|` attributes (a map of 2×N elements followed by the reply they
/// describe: both together are one reply). Streamed types (`$?`) are not
/// supported.
enum RespFraming {
    /// Index just past the reply that starts at `start`; nil when the buffer
    /// holds only part of it. Throws on bytes that are not RESP.
    static func frameEnd(_ b: [UInt8], from start: Int = 0) throws -> Int? {
        guard start < b.count else { return nil }
        let type = b[start]
        guard let lineEnd = findCRLF(b, from: start + 1) else {
            if !isKnownType(type) { throw bad("unknown reply type byte", b, start) }
            return nil
        }
        let header = Array(b[(start + 1)..<lineEnd])
        let afterLine = lineEnd + 2
        switch type {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ","), UInt8(ascii: "("):
            return afterLine
        case UInt8(ascii: ":"):
            guard parseInt(header) != nil else { throw bad("bad integer", b, start) }
            return afterLine
        case UInt8(ascii: "_"):
            guard header.isEmpty else { throw bad("bad null", b, start) }
            return afterLine
        case UInt8(ascii: "#"):
            guard header == [UInt8(ascii: "t")] || header == [UInt8(ascii: "f")] else {
                throw bad("bad boolean", b, start)
            }
            return afterLine
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            guard let len = parseInt(header) else { throw bad("bad length", b, start) }
            if len == -1 && type == UInt8(ascii: "$") { return afterLine }
            guard len >= 0 else { throw bad("negative length", b, start) }
            let end = afterLine + len
            guard end + 2 <= b.count else { return nil }
            guard b[end] == 13, b[end + 1] == 10 else { throw bad("bulk not followed by CRLF", b, start) }
            return end + 2
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"),
             UInt8(ascii: "%"), UInt8(ascii: "|"):
            guard let n = parseInt(header) else { throw bad("bad aggregate length", b, start) }
            if n == -1 && type == UInt8(ascii: "*") { return afterLine }
            guard n >= 0 else { throw bad("negative aggregate length", b, start) }
            let count = (type == UInt8(ascii: "%") || type == UInt8(ascii: "|")) ? 2 * n : n
            var pos = afterLine
            for _ in 0..<count {
                guard let next = try frameEnd(b, from: pos) else { return nil }
                pos = next
            }
            if type == UInt8(ascii: "|") {
                // The attribute map is followed by the actual reply.
                guard let next = try frameEnd(b, from: pos) else { return nil }
                pos = next
            }
            return pos
        default:
            throw bad("unknown reply type byte", b, start)
        }
    }

    static func isKnownType(_ t: UInt8) -> Bool {
        Array("+-:,_#($!=*~>%|".utf8).contains(t)
    }

    static func findCRLF(_ b: [UInt8], from: Int) -> Int? {
        var i = from
        while i + 1 < b.count {
            if b[i] == 13 && b[i + 1] == 10 { return i }
            i += 1
        }
        return nil
    }

    static func parseInt(_ bytes: [UInt8]) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
        return Int(String(decoding: bytes, as: UTF8.self))
    }

    private static func bad(_ what: String, _ b: [UInt8], _ at: Int) -> RespConnectionError {
        .protocolError("\(what) at offset \(at)", partial: Array(b[at..<min(b.count, at + 64)]))
    }

    /// Multibulk encoding of a command: `*N\r\n$len\r\narg\r\n...`.
    static func encodeCommand(_ args: [[UInt8]]) -> [UInt8] {
        var out = Array("*\(args.count)\r\n".utf8)
        for arg in args {
            out += Array("$\(arg.count)\r\n".utf8)
            out += arg
            out += [13, 10]
        }
        return out
    }
}

/// A blocking TCP client speaking RESP, with timeouts on every operation.
/// Replies are returned as raw bytes, exactly as the server sent them
/// (parse with `RespValue.parse` when structure is needed).
final class RespConnection {
    let port: Int
    let host: String
    /// Default timeout for connect, send and readReply.
    var timeout: TimeInterval

    private var fd: Int32 = -1
    private var buffer: [UInt8] = []
    private var sawEOF = false

    init(host: String = "127.0.0.1", port: Int, timeout: TimeInterval = 5) throws {
        self.host = host
        self.port = port
        self.timeout = timeout
        try connectSocket()
    }

    /// A client over a Unix-domain socket (`unixsocket`); `host` is the path, `port` 0.
    init(unixPath: String, timeout: TimeInterval = 5) throws {
        self.host = unixPath
        self.port = 0
        self.timeout = timeout
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let path = Array(unixPath.utf8)
        guard path.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw RespConnectionError.io("unix socket path too long: \(unixPath)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: path)
            raw[path.count] = 0
        }
        let s = socket(AF_UNIX, socketStreamType, 0)
        guard s >= 0 else { throw RespConnectionError.io("socket(): \(errnoString())") }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let err = errnoString()
            Glibc.close(s)
            throw RespConnectionError.io("connect(\(unixPath)): \(err)")
        }
        _ = fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK)
        fd = s
    }

    deinit { close() }

    private func connectSocket() throws {
        var addr = try loopbackAddress(port: port, host: host)
        let s = socket(AF_INET, socketStreamType, 0)
        guard s >= 0 else { throw RespConnectionError.io("socket(): \(errnoString())") }
        _ = fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK)
        var one: Int32 = 1
        _ = setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if rc != 0 {
            let err = errno
            guard err == EINPROGRESS else {
                Glibc.close(s)
                throw RespConnectionError.io("connect(\(host):\(port)): \(errnoString(err))")
            }
            guard waitFor(fd: s, events: Int16(POLLOUT), deadline: Date().addingTimeInterval(timeout)) else {
                Glibc.close(s)
                throw RespConnectionError.io("connect(\(host):\(port)): timed out")
            }
            var soError: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(s, SOL_SOCKET, SO_ERROR, &soError, &len)
            if soError != 0 {
                Glibc.close(s)
                throw RespConnectionError.io("connect(\(host):\(port)): \(errnoString(soError))")
            }
        }
        fd = s
    }

    func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }

    // MARK: sending

    /// Sends exact bytes (inline commands, broken protocol, pipelines).
    func send(_ bytes: [UInt8]) throws {
        guard fd >= 0 else { throw RespConnectionError.io("connection is closed") }
        let deadline = Date().addingTimeInterval(timeout)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                offset += n
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                guard waitFor(fd: fd, events: Int16(POLLOUT), deadline: deadline) else {
                    throw RespConnectionError.io("send timed out after \(offset) of \(bytes.count) bytes")
                }
            } else {
                throw RespConnectionError.io("send(): \(errnoString())")
            }
        }
    }

    /// Sends one command, multibulk encoded.
    func send(command args: [[UInt8]]) throws {
        try send(RespFraming.encodeCommand(args))
    }

    /// Sends one command given as strings (UTF-8).
    func send(command args: [String]) throws {
        try send(command: args.map { Array($0.utf8) })
    }

    /// Sends a command and reads its reply (raw bytes).
    @discardableResult
    func call(_ args: String...) throws -> [UInt8] {
        try send(command: args)
        return try readReply()
    }

    /// Like `call`, with the reply as a (lossy UTF-8) string, e.g. "+OK\r\n".
    func callString(_ args: String...) throws -> String {
        try send(command: args)
        return String(decoding: try readReply(), as: UTF8.self)
    }

    // MARK: receiving

    /// Reads exactly one complete reply (raw bytes, nested aggregates and
    /// attributes included). Bytes after it stay buffered for the next call.
    func readReply(timeout: TimeInterval? = nil) throws -> [UInt8] {
        let deadline = Date().addingTimeInterval(timeout ?? self.timeout)
        while true {
            if let end = try RespFraming.frameEnd(buffer) {
                let reply = Array(buffer[0..<end])
                buffer.removeFirst(end)
                return reply
            }
            if sawEOF || fd < 0 { throw RespConnectionError.closed(partial: buffer) }
            guard waitFor(fd: fd, events: Int16(POLLIN), deadline: deadline) else {
                throw RespConnectionError.timeout(partial: buffer)
            }
            _ = try fill()
        }
    }

    /// Everything that arrives within `timeout` (buffered bytes included):
    /// waits up to `timeout` for the first byte, then keeps reading until
    /// 50 ms pass with nothing new or `timeout` is over. [] when nothing came.
    func readAvailable(timeout: TimeInterval) throws -> [UInt8] {
        let deadline = Date().addingTimeInterval(timeout)
        while !sawEOF && fd >= 0 {
            let wait = buffer.isEmpty ? deadline : min(deadline, Date().addingTimeInterval(0.05))
            guard waitFor(fd: fd, events: Int16(POLLIN), deadline: wait) else { break }
            if try fill() == 0 { break }
        }
        defer { buffer.removeAll() }
        return buffer
    }

    /// True when the server closes the connection (EOF or reset) within
    /// `timeout`. Data arriving meanwhile is kept for later reads.
    func isClosed(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if sawEOF || fd < 0 { return true }
            guard waitFor(fd: fd, events: Int16(POLLIN), deadline: deadline) else { return false }
            do { _ = try fill() } catch { return true }
        }
    }

    /// Bytes received but not yet returned by a read.
    var bufferedBytes: [UInt8] { buffer }

    /// Reads what the socket has into the buffer; returns the byte count
    /// (0 at EOF, which is remembered).
    private func fill() throws -> Int {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
                return n
            }
            if n == 0 {
                sawEOF = true
                return 0
            }
            let err = errno
            if err == EINTR { continue }
            if err == EAGAIN || err == EWOULDBLOCK { return -1 }
            if err == ECONNRESET {
                sawEOF = true
                return 0
            }
            throw RespConnectionError.io("recv(): \(errnoString(err))")
        }
    }
}

/// poll() until `events` or the deadline; true when ready (or error/hangup,
/// which the following read or write reports).
func waitFor(fd: Int32, events: Int16, deadline: Date) -> Bool {
    while true {
        let remaining = deadline.timeIntervalSinceNow
        let ms = remaining <= 0 ? 0 : Int32(min(remaining * 1000, 60_000).rounded(.up))
        var pfd = pollfd(fd: fd, events: events, revents: 0)
        let rc = poll(&pfd, 1, ms)
        if rc > 0 { return true }
        if rc < 0 && errno == EINTR { continue }
        if remaining <= 0 || rc < 0 { return false }
        if deadline.timeIntervalSinceNow <= 0 { return false }
    }
}

/// Human-readable bytes: printable ASCII as is, `\\`, `\"`, `\r`, `\n`,
/// `\t`, everything else `\xHH`.
enum RespEscape {
    static func escape(_ bytes: [UInt8], limit: Int = 4096) -> String {
        var out = ""
        for b in bytes.prefix(limit) {
            switch b {
            case 13: out += "\\r"
            case 10: out += "\\n"
            case 9: out += "\\t"
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "\""): out += "\\\""
            case 0x20...0x7e: out.append(Character(Unicode.Scalar(b)))
            default: out += String(format: "\\x%02x", b)
            }
        }
        if bytes.count > limit { out += "...(\(bytes.count) bytes in all)" }
        return out
    }
}
