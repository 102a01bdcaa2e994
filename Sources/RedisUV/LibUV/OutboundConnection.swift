import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// An outbound TCP connection (the replica's link to its master, Redis's connectWithMaster):
/// the host is resolved with uv_getaddrinfo ("localhost", names, literal addresses), each
/// address is tried in turn with uv_tcp_connect, and the connected socket becomes an
/// ordinary Connection around a Client made by `makeClient`. `completion` gets the
/// Connection (not reading yet) or the error text; it is never called after `cancel()`.
///
/// Each pending libuv request holds a +1 reference to this object in its data pointer.
final class OutboundConnector {
    typealias Completion = (Connection?, String?) -> Void

    private let loop: EventLoop
    private let host: String
    private let port: Int
    private let makeClient: () -> Client
    private var completion: Completion?
    private var addresses: [sockaddr_storage] = []
    private var nextAddress = 0
    private var tcp: UnsafeMutablePointer<uv_tcp_t>?
    private var lastError = "Connection refused"
    private(set) var cancelled = false

    init(loop: EventLoop, host: String, port: Int, makeClient: @escaping () -> Client, completion: @escaping Completion) {
        self.loop = loop
        self.host = host
        self.port = port
        self.makeClient = makeClient
        self.completion = completion
    }

    /// Starts resolving; an error that happens at once is returned (completion not called).
    func start() -> String? {
        let req = UnsafeMutablePointer<uv_getaddrinfo_t>.allocate(capacity: 1)
        req.pointee.data = Unmanaged.passRetained(self).toOpaque()
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        let rc = uv_getaddrinfo(loop.loop, req, onResolved, host, String(port), &hints)
        if rc != 0 {
            Unmanaged<OutboundConnector>.fromOpaque(req.pointee.data).release()
            req.deallocate()
            return uvErrorText(rc)
        }
        return nil
    }

    /// Abandons the attempt: a connecting socket is closed, no callback follows.
    func cancel() {
        cancelled = true
        completion = nil
        closeSocket()
    }

    private func closeSocket() {
        if let t = tcp {
            tcp = nil
            uv_close(handlePointer(t), freeHandleOnClose)
        }
    }

    fileprivate func resolved(status: Int32, _ res: UnsafeMutablePointer<addrinfo>?) {
        if cancelled { return }
        if status != 0 {
            finish(nil, uvErrorText(status))
            return
        }
        var p = res
        while let ai = p {
            if let sa = ai.pointee.ai_addr, ai.pointee.ai_family == AF_INET || ai.pointee.ai_family == AF_INET6 {
                var st = sockaddr_storage()
                withUnsafeMutableBytes(of: &st) { dst in
                    dst.copyMemory(from: UnsafeRawBufferPointer(start: sa, count: Int(ai.pointee.ai_addrlen)))
                }
                addresses.append(st)
            }
            p = ai.pointee.ai_next
        }
        tryNext()
    }

    private func tryNext() {
        guard nextAddress < addresses.count else {
            finish(nil, addresses.isEmpty ? "no address for \(host)" : lastError)
            return
        }
        var addr = addresses[nextAddress]
        nextAddress += 1
        let t = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
        uv_tcp_init(loop.loop, t)
        tcp = t
        let req = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        req.pointee.data = Unmanaged.passRetained(self).toOpaque()
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_connect(req, t, $0, onConnected) }
        }
        if rc != 0 {
            Unmanaged<OutboundConnector>.fromOpaque(req.pointee.data).release()
            req.deallocate()
            lastError = uvErrorText(rc)
            closeSocket()
            tryNext()
        }
    }

    fileprivate func connected(status: Int32) {
        if cancelled { return }  // the socket is already closing
        guard let t = tcp else { return }
        if status < 0 {
            lastError = uvErrorText(status)
            closeSocket()
            tryNext()
            return
        }
        tcp = nil
        uv_tcp_nodelay(t, 1)
        let client = makeClient()
        let conn = Connection(handle: t, client: client)
        client.connection = conn
        t.pointee.data = Unmanaged.passRetained(conn).toOpaque()
        client.peerAddress = socketAddress(t, peer: true).0
        client.localAddress = socketAddress(t, peer: false).0
        var fd = uv_os_fd_t(-1)
        if uv_fileno(handlePointer(t), &fd) == 0 { client.fd = Int32(fd) }
        finish(conn, nil)
    }

    private func finish(_ conn: Connection?, _ error: String?) {
        let c = completion
        completion = nil
        c?(conn, error)
    }
}

private func onResolved(_ req: UnsafeMutablePointer<uv_getaddrinfo_t>?, _ status: Int32, _ res: UnsafeMutablePointer<addrinfo>?) {
    guard let req else { return }
    let connector = Unmanaged<OutboundConnector>.fromOpaque(req.pointee.data).takeRetainedValue()
    req.deallocate()
    connector.resolved(status: status, res)
    if let res { uv_freeaddrinfo(res) }
}

private func onConnected(_ req: UnsafeMutablePointer<uv_connect_t>?, _ status: Int32) {
    guard let req else { return }
    let connector = Unmanaged<OutboundConnector>.fromOpaque(req.pointee.data).takeRetainedValue()
    req.deallocate()
    connector.connected(status: status)
}
