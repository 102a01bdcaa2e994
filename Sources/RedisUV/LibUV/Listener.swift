import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// Redis's protected-mode refusal, sent verbatim to non-loopback clients when no password
/// is set and protected-mode is on.
let protectedModeError: StaticString =
    "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n"

/// connection_cb of every listening socket: accept, set TCP options, make a Client.
func onConnection(_ listener: UnsafeMutablePointer<uv_stream_t>?, _ status: Int32) {
    guard let listener, status == 0 else { return }
    let server = serverOf(handlePointer(listener))
    let loop = listener.pointee.loop!
    let tcp = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
    uv_tcp_init(loop, tcp)
    if uv_accept(listener, streamPointer(tcp)) != 0 {
        uv_close(handlePointer(tcp), freeHandleOnClose)
        return
    }
    uv_tcp_nodelay(tcp, 1)
    if server.config.tcpKeepalive > 0 { uv_tcp_keepalive(tcp, 1, UInt32(server.config.tcpKeepalive)) }

    server.updateCachedTime()
    let client = server.createClient(now: server.cachedTimeMs)
    let conn = Connection(handle: tcp, client: client)
    client.connection = conn
    tcp.pointee.data = Unmanaged.passRetained(conn).toOpaque()
    let (peer, peerIsLoopback) = socketAddress(tcp, peer: true)
    client.peerAddress = peer
    client.localAddress = socketAddress(tcp, peer: false).0
    var fd = uv_os_fd_t(-1)
    if uv_fileno(handlePointer(tcp), &fd) == 0 { client.fd = Int32(fd) }
    admitClient(client, conn, server: server, isLocal: peerIsLoopback)
}

/// connection_cb of the Unix-domain socket (unixsocket): as for TCP, with Redis's
/// unix-client addresses ("/path:0" both ends) and the CLIENT_UNIX_SOCKET flag.
func onUnixConnection(_ listener: UnsafeMutablePointer<uv_stream_t>?, _ status: Int32) {
    guard let listener, status == 0 else { return }
    let server = serverOf(handlePointer(listener))
    let loop = listener.pointee.loop!
    let pipe = UnsafeMutablePointer<uv_pipe_t>.allocate(capacity: 1)
    uv_pipe_init(loop, pipe, 0)
    if uv_accept(listener, streamPointer(pipe)) != 0 {
        uv_close(handlePointer(pipe), freeHandleOnClose)
        return
    }
    server.updateCachedTime()
    let client = server.createClient(now: server.cachedTimeMs)
    let conn = Connection(pipe: pipe, client: client)
    client.connection = conn
    pipe.pointee.data = Unmanaged.passRetained(conn).toOpaque()
    client.flags.insert(.unixSocket)
    client.peerAddress = server.config.unixsocket + ":0"
    client.localAddress = client.peerAddress
    var fd = uv_os_fd_t(-1)
    if uv_fileno(handlePointer(pipe), &fd) == 0 { client.fd = Int32(fd) }
    admitClient(client, conn, server: server, isLocal: true)
}

/// maxclients and protected mode for a new connection, then reading starts.
private func admitClient(_ client: Client, _ conn: Connection, server: Server, isLocal peerIsLoopback: Bool) {
    let peer = client.peerAddress
    if server.clients.count > server.config.maxclients {
        server.stats.rejectedConnections += 1
        client.out.append("-ERR max number of clients reached\r\n")
        client.flags.insert(.closeAfterReply)
        conn.flush()
        return
    }
    if server.config.protectedMode && server.config.requirepass.isEmpty && !peerIsLoopback {
        server.stats.rejectedConnections += 1
        server.log.verbose("Denied connection from \(peer): protected mode")
        client.out.append(protectedModeError)
        client.flags.insert(.closeAfterReply)
        conn.flush()
        return
    }
    conn.startReading()
}

/// "ip:port" of either end, and whether it is a loopback address.
func socketAddress(_ tcp: UnsafeMutablePointer<uv_tcp_t>, peer: Bool) -> (String, Bool) {
    var storage = sockaddr_storage()
    var len = Int32(MemoryLayout<sockaddr_storage>.size)
    let rc = withUnsafeMutablePointer(to: &storage) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            peer ? uv_tcp_getpeername(tcp, $0, &len) : uv_tcp_getsockname(tcp, $0, &len)
        }
    }
    if rc != 0 { return ("?:0", false) }
    var name = [CChar](repeating: 0, count: 64)
    if storage.ss_family == sa_family_t(AF_INET) {
        return withUnsafePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { a in
                uv_ip4_name(a, &name, 64)
                let port = Int(UInt16(bigEndian: a.pointee.sin_port))
                let ip = stringFromCBuffer(name)
                return ("\(ip):\(port)", ip.hasPrefix("127."))
            }
        }
    } else {
        return withUnsafePointer(to: &storage) { p in
            p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { a in
                uv_ip6_name(a, &name, 64)
                let port = Int(UInt16(bigEndian: a.pointee.sin6_port))
                let ip = stringFromCBuffer(name)
                // Redis's anetFormatAddr brackets IPv6 addresses: "[::1]:6379".
                return ("[\(ip)]:\(port)", ip == "::1" || ip.hasPrefix("::ffff:127."))
            }
        }
    }
}
