import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// A client's socket used directly, in blocking mode, from inside a Lua hook: the Lua
/// debugger's session (eval.c ldbStartSession: connBlock + a 5 s send timeout) talks to
/// its client without going back to the event loop, as Redis's does.
struct BlockingSocket {
    let fd: Int32

    /// The connection's socket switched to blocking mode, or nil when it has none.
    init?(_ connection: Connection) {
        var fd: uv_os_fd_t = -1
        guard uv_fileno(handlePointer(connection.handle), &fd) == 0, fd >= 0 else { return nil }
        self.fd = fd
        let fl = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, fl & ~O_NONBLOCK)
        setSendTimeout(milliseconds: 5000)
    }

    func setSendTimeout(milliseconds ms: Int) {
        var tv = timeval(tv_sec: ms / 1000, tv_usec: (ms % 1000) * 1000)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Back to what libuv expects (connNonBlock + no send timeout).
    func restoreNonBlocking() {
        setSendTimeout(milliseconds: 0)
        let fl = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, fl | O_NONBLOCK)
    }

    /// Up to `max` bytes, waiting for them; nil on end of stream or error.
    func read(max: Int = 1024) -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: max)
        let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, max) }
        if n <= 0 { return nil }
        buf.removeSubrange(n...)
        return buf
    }

    /// Writes all of `bytes` (errors are left for the next read to notice, as Redis does).
    func write(_ bytes: UnsafeRawBufferPointer) {
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            off += n
        }
    }

    func write(_ bytes: [UInt8]) { bytes.withUnsafeBytes { write($0) } }
}
