import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// The libuv loop and the handles the server needs from it: listeners, the prepare
/// handle that runs `beforeSleep`, the cron timer, and the signal watchers.
/// `loop->data` points at the Server (unretained: the server outlives the loop).
final class EventLoop {
    let loop: UnsafeMutablePointer<uv_loop_t>
    unowned(unsafe) let server: Server
    /// The one read buffer every connection's alloc_cb hands out: reads are processed
    /// to completion inside read_cb, so it is never shared by two reads at once.
    private(set) var readBuffer: UnsafeMutableRawPointer
    static let readBufferSize = 64 * 1024
    /// Where reads go while processEventsWhileBlocked runs: the client whose command is
    /// blocking (a busy script) may still be parsing `readBuffer` in place.
    private var nestedReadBuffer: UnsafeMutableRawPointer?
    private var listeners: [UnsafeMutablePointer<uv_tcp_t>] = []
    private var unixListener: UnsafeMutablePointer<uv_pipe_t>?
    private let prepare: UnsafeMutablePointer<uv_prepare_t>
    private let cronTimer: UnsafeMutablePointer<uv_timer_t>
    private var signals: [UnsafeMutablePointer<uv_signal_t>] = []

    init(server: Server) {
        self.server = server
        loop = .allocate(capacity: 1)
        uv_loop_init(loop)
        loop.pointee.data = Unmanaged.passUnretained(server).toOpaque()
        readBuffer = .allocate(byteCount: EventLoop.readBufferSize, alignment: 16)
        prepare = .allocate(capacity: 1)
        cronTimer = .allocate(capacity: 1)
    }

    /// Binds every `bind` address on `port`; a leading '-' marks an address whose failure
    /// is ignored (Redis 7's default "* -::*").
    func listen(bind addresses: [String], port: Int, backlog: Int) throws(StartupError) {
        for raw in addresses {
            let optional = raw.hasPrefix("-")
            let addr = optional ? String(raw.dropFirst()) : raw
            do {
                try listenOne(addr, port: port, backlog: backlog)
            } catch {
                if optional { continue }
                throw error
            }
        }
        if listeners.isEmpty {
            throw StartupError("Failed listening on port \(port) (tcp), aborting.")
        }
    }

    /// The Unix-domain socket (Redis's anetUnixServer): a stale file at `path` is removed
    /// first, and `perm` (unixsocketperm, 0 = leave the umask's mode) is applied with chmod.
    func listenUnix(path: String, perm: Int, backlog: Int) throws(StartupError) {
        unlink(path)  // don't care if this fails, as Redis
        let pipe = UnsafeMutablePointer<uv_pipe_t>.allocate(capacity: 1)
        uv_pipe_init(loop, pipe, 0)
        var err = uv_pipe_bind(pipe, path)
        if err == 0 && perm != 0 && chmod(path, mode_t(perm)) != 0 { err = -errno }
        if err == 0 { err = uv_listen(streamPointer(pipe), Int32(backlog), onUnixConnection) }
        if err != 0 {
            uv_close(handlePointer(pipe), freeHandleOnClose)
            throw StartupError("Failed opening Unix socket: \(uvErrorText(err))")
        }
        unixListener = pipe
    }

    private func listenOne(_ addr: String, port: Int, backlog: Int) throws(StartupError) {
        var storage = sockaddr_storage()
        var flags: UInt32 = 0
        let host: String
        switch addr {
        case "*": host = "0.0.0.0"
        case "::*": host = "::"; flags = UInt32(UV_TCP_IPV6ONLY.rawValue)
        default: host = addr
        }
        let isV6 = host.contains(":")
        let rc: Int32 = withUnsafeMutablePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p6 in
                if isV6 { return uv_ip6_addr(host, Int32(port), p6) }
                return p6.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { uv_ip4_addr(host, Int32(port), $0) }
            }
        }
        if rc != 0 { throw StartupError("Invalid bind address '\(addr)'") }
        if isV6 && addr != "::*" { flags = UInt32(UV_TCP_IPV6ONLY.rawValue) }
        let tcp = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
        uv_tcp_init(loop, tcp)
        let bindRC = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_bind(tcp, $0, flags) }
        }
        var err = bindRC
        if err == 0 { err = uv_listen(streamPointer(tcp), Int32(backlog), onConnection) }
        if err != 0 {
            uv_close(handlePointer(tcp), freeHandleOnClose)
            throw StartupError("Could not create server TCP listening socket \(addr):\(port): \(uvErrorText(err))")
        }
        listeners.append(tcp)
    }

    func startTimers(hz: Int) {
        uv_prepare_init(loop, prepare)
        uv_prepare_start(prepare, onPrepare)
        uv_timer_init(loop, cronTimer)
        let period = UInt64(Swift.max(1, 1000 / Swift.max(1, hz)))
        uv_timer_start(cronTimer, onCronTimer, period, period)
        for sig in [SIGINT, SIGTERM] {
            let h = UnsafeMutablePointer<uv_signal_t>.allocate(capacity: 1)
            uv_signal_init(loop, h)
            uv_signal_start(h, onSignal, sig)
            signals.append(h)
        }
    }

    /// Changes the cron period (CONFIG SET hz).
    func setHz(_ hz: Int) {
        let period = UInt64(Swift.max(1, 1000 / Swift.max(1, hz)))
        uv_timer_set_repeat(cronTimer, period)
    }

    func run() { uv_run(loop, UV_RUN_DEFAULT) }

    /// Redis's processEventsWhileBlocked, for work done outside the loop (the RDB load at
    /// start-up): a few non-waiting turns accept clients, read and answer them.
    func processEventsWhileBlocked() {
        let outer = readBuffer
        if nestedReadBuffer == nil { nestedReadBuffer = .allocate(byteCount: EventLoop.readBufferSize, alignment: 16) }
        readBuffer = nestedReadBuffer!
        defer { readBuffer = outer }
        for _ in 0..<4 { uv_run(loop, UV_RUN_NOWAIT) }
    }

    func stop() { uv_stop(loop) }

    /// Milliseconds of the loop's monotonic clock.
    var now: UInt64 { uv_now(loop) }
}

struct StartupError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

func uvErrorText(_ code: Int32) -> String {
    String(cString: uv_strerror(code))
}

@inline(__always)
func streamPointer<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<uv_stream_t> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: uv_stream_t.self)
}

@inline(__always)
func handlePointer<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<uv_handle_t> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: uv_handle_t.self)
}

/// The Server behind any handle (loop->data).
@inline(__always)
func serverOf(_ handle: UnsafeMutablePointer<uv_handle_t>) -> Server {
    Unmanaged<Server>.fromOpaque(handle.pointee.loop.pointee.data).takeUnretainedValue()
}

// MARK: C callbacks (plain functions: capturing closures cannot be C function pointers)

private func onPrepare(_ h: UnsafeMutablePointer<uv_prepare_t>?) {
    serverOf(handlePointer(h!)).beforeSleep()
}

private func onCronTimer(_ h: UnsafeMutablePointer<uv_timer_t>?) {
    serverOf(handlePointer(h!)).cron()
}

private func onSignal(_ h: UnsafeMutablePointer<uv_signal_t>?, _ sig: Int32) {
    let server = serverOf(handlePointer(h!))
    server.shutdownOnSignal(sig)
}

func freeHandleOnClose(_ h: UnsafeMutablePointer<uv_handle_t>?) {
    h?.deallocate()
}
