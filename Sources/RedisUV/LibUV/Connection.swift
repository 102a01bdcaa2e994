import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// The libuv side of one client: its TCP handle, reads into the loop's shared buffer,
/// and writes of the client's reply buffer. `handle->data` holds a +1 reference to this
/// object, released only in the close callback.
final class Connection {
    /// A uv_tcp_t, or a uv_pipe_t for a Unix-domain socket client (`isUnixSocket`).
    let handle: UnsafeMutablePointer<uv_stream_t>
    let isUnixSocket: Bool
    let client: Client
    private(set) var closing = false
    private(set) var reading = false
    /// Writes handed to uv_write and not completed yet.
    private(set) var writesInFlight = 0
    /// Bytes handed to uv_write and not yet written (mirrored on the client, which the
    /// engine reads per command without touching the transport).
    private(set) var bytesInFlight = 0 {
        didSet { client.outputInFlight = bytesInFlight }
    }

    /// A reader that falls this far behind stops being read from until it catches up, so a
    /// client that never reads cannot make the server buffer without bound (its replies
    /// are kept, not dropped; the kernel then pushes back on its writes).
    static let backpressureBytes = 16 * 1024 * 1024

    /// While set, reads go here instead of the client's command parser: the replica's link
    /// to its master during the handshake and the RDB transfer (Replication/ReplicaSide.swift).
    var rawInput: ((UnsafeRawBufferPointer) -> Void)?

    init(handle: UnsafeMutablePointer<uv_tcp_t>, client: Client) {
        self.handle = streamPointer(handle)
        self.isUnixSocket = false
        self.client = client
    }

    init(pipe: UnsafeMutablePointer<uv_pipe_t>, client: Client) {
        self.handle = streamPointer(pipe)
        self.isUnixSocket = true
        self.client = client
    }

    var stream: UnsafeMutablePointer<uv_stream_t> { handle }

    func startReading() {
        guard !closing, !reading else { return }
        reading = true
        uv_read_start(stream, onAlloc, onRead)
    }

    /// TCP_NODELAY on or off (repl-disable-tcp-nodelay for replicas).
    func setNoDelay(_ on: Bool) {
        if isUnixSocket { return }
        handle.withMemoryRebound(to: uv_tcp_t.self, capacity: 1) { _ = uv_tcp_nodelay($0, on ? 1 : 0) }
    }

    func stopReading() {
        guard reading else { return }
        reading = false
        uv_read_stop(stream)
    }

    /// Writes the client's buffered replies: try_write first (the common case: all of it
    /// goes at once, no request, no copy), uv_write for whatever the kernel did not take.
    func flush() {
        if closing { return }
        let c = client
        if c.flags.contains(.closeASAP) { close(); return }
        let n = c.out.count
        if n > 0 {
            // Redis's writeToClient counts writing as interaction (CLIENT LIST idle=):
            // a subscriber receiving messages is not idle.
            c.lastInteraction = c.server.cachedTimeMs
            if c.flags.contains(.replica) {
                c.server.stats.netReplOutputBytes &+= n
            } else {
                c.server.stats.netOutputBytes &+= n
            }
            c.server.stats.writesProcessed &+= 1
            c.totalNetOutput &+= n
            var written = 0
            if writesInFlight == 0 {
                var buf = uv_buf_init(c.out.base!.assumingMemoryBound(to: CChar.self), UInt32(n))
                let rc = uv_try_write(stream, &buf, 1)
                if rc >= 0 {
                    written = Int(rc)
                } else if rc != UV_EAGAIN.rawValue {
                    close()
                    return
                }
            }
            if written == n {
                c.out.count = 0
                c.out.trim(ifCapacityOver: 64 * 1024, keep: 16 * 1024)
            } else {
                // Hand the buffer itself to the write request; the client starts a new one.
                let pending = PendingWrite(buffer: c.out, offset: written, connection: self)
                c.out = ByteBuffer()
                let req = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
                req.pointee.data = Unmanaged.passRetained(pending).toOpaque()
                var buf = uv_buf_init((pending.buffer.base! + written).assumingMemoryBound(to: CChar.self), UInt32(n - written))
                writesInFlight += 1
                bytesInFlight += n - written
                let rc = uv_write(req, stream, &buf, 1, onWriteDone)
                if rc != 0 {
                    writesInFlight -= 1
                    bytesInFlight -= n - written
                    Unmanaged<PendingWrite>.fromOpaque(req.pointee.data).release()
                    req.deallocate()
                    close()
                    return
                }
            }
        }
        if writesInFlight == 0 && c.out.count == 0 {
            if c.flags.contains(.closeAfterReply) { close(); return }
            if c.flags.contains(.inputPaused) { resumeInput() }
        } else if bytesInFlight >= Connection.backpressureBytes && !c.flags.contains(.inputPaused) && !c.flags.contains(.replica) {
            c.flags.insert(.inputPaused)
            stopReading()
        }
    }

    fileprivate func writeFinished(bytes: Int, status: Int32) {
        writesInFlight -= 1
        bytesInFlight -= bytes
        if closing { return }
        if status < 0 { close(); return }
        if writesInFlight == 0 && client.out.count == 0 && client.replicaState != nil {
            // A replica's socket drained: the next RDB chunk may go (MasterSide); it may
            // write again, or close.
            client.server.replicaOutputDrained(client)
            if closing { return }
        }
        if writesInFlight == 0 {
            if client.out.count > 0 {
                client.server.scheduleWrite(client)
            } else if client.flags.contains(.closeAfterReply) {
                close()
            } else if client.flags.contains(.inputPaused) {
                resumeInput()
            }
        }
    }

    /// The backlog drained: run what was left in the query buffer, then read again.
    private func resumeInput() {
        client.flags.remove(.inputPaused)
        client.processPendingInput()
        afterInput()
    }

    /// Shared tail of every input event: schedule replies, apply pause/close requests.
    func afterInput() {
        let c = client
        if c.flags.contains(.closeASAP) { close(); return }
        if c.out.count > 0 { c.server.scheduleWrite(c) }
        if c.flags.contains(.inputPaused) || c.flags.contains(.closeAfterReply) {
            stopReading()
        } else {
            startReading()
        }
    }

    /// Closes the socket; the object goes away in the close callback, after every
    /// pending write callback (libuv cancels them first).
    func close() {
        if closing { return }
        closing = true
        reading = false
        // The client may outlive this object (it sits in lists until they are walked);
        // it must not reach a freed connection through its unowned pointer.
        client.connection = nil
        client.server.forgetClient(client)
        uv_close(handlePointer(handle), onConnectionClosed)
    }
}

/// A reply buffer owned by an in-flight uv_write.
private final class PendingWrite {
    var buffer: ByteBuffer
    let offset: Int
    let connection: Connection
    init(buffer: ByteBuffer, offset: Int, connection: Connection) {
        self.buffer = buffer
        self.offset = offset
        self.connection = connection
    }
    deinit { buffer.release() }
}

private func onWriteDone(_ req: UnsafeMutablePointer<uv_write_t>?, _ status: Int32) {
    guard let req else { return }
    let pending = Unmanaged<PendingWrite>.fromOpaque(req.pointee.data).takeRetainedValue()
    req.deallocate()
    pending.connection.writeFinished(bytes: pending.buffer.count - pending.offset, status: status)
}

private func onAlloc(_ h: UnsafeMutablePointer<uv_handle_t>?, _ suggested: Int, _ buf: UnsafeMutablePointer<uv_buf_t>?) {
    let server = serverOf(h!)
    buf!.pointee = uv_buf_init(server.loop!.readBuffer.assumingMemoryBound(to: CChar.self), UInt32(EventLoop.readBufferSize))
}

private func onRead(_ s: UnsafeMutablePointer<uv_stream_t>?, _ nread: Int, _ buf: UnsafePointer<uv_buf_t>?) {
    guard let s else { return }
    let conn = Unmanaged<Connection>.fromOpaque(s.pointee.data).takeUnretainedValue()
    if nread > 0 {
        let c = conn.client
        c.server.updateCachedTime()
        // Our master's bytes (its RDB, its stream) are replication traffic, as in Redis.
        if conn.rawInput != nil || c.flags.contains(.master) {
            c.server.stats.netReplInputBytes &+= nread
        } else {
            c.server.stats.netInputBytes &+= nread
        }
        c.server.stats.readsProcessed &+= 1
        c.totalNetInput &+= nread
        let data = UnsafeRawBufferPointer(start: UnsafeRawPointer(buf!.pointee.base), count: nread)
        if let raw = conn.rawInput {
            raw(data)
            return
        }
        c.processInput(data)
        conn.afterInput()
    } else if nread < 0 {
        conn.close()
    }
}

private func onConnectionClosed(_ h: UnsafeMutablePointer<uv_handle_t>?) {
    guard let h else { return }
    Unmanaged<Connection>.fromOpaque(h.pointee.data).release()
    h.deallocate()
}
