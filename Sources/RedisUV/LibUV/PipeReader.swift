import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// Reads a pipe on the loop (the diskless-sync child's RDB, Redis's rdbPipeReadHandler):
/// each read is handed to `onData` while it lasts (the loop's shared read buffer), the
/// end to `onEnd`. Reading can be paused while the consumers' sockets drain.
/// `handle->data` holds a +1 reference to this object until the close callback.
final class PipeReader {
    private let handle: UnsafeMutablePointer<uv_pipe_t>
    private var onData: ((UnsafeRawBufferPointer) -> Void)?
    private var onEnd: ((Bool) -> Void)?
    private(set) var reading = false
    private var closed = false

    /// Takes ownership of `fd` (closed with the handle). nil when libuv refuses it.
    init?(loop: EventLoop, fd: Int32, onData: @escaping (UnsafeRawBufferPointer) -> Void,
          onEnd: @escaping (_ error: Bool) -> Void) {
        handle = .allocate(capacity: 1)
        self.onData = onData
        self.onEnd = onEnd
        uv_pipe_init(loop.loop, handle, 0)
        if uv_pipe_open(handle, fd) != 0 {
            // Not ours yet: close the bare handle, the caller keeps the descriptor.
            uv_close(handlePointer(handle), freeHandleOnClose)
            return nil
        }
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    func start() {
        guard !closed, !reading else { return }
        reading = true
        uv_read_start(streamPointer(handle), onPipeAlloc, onPipeRead)
    }

    func stop() {
        guard !closed, reading else { return }
        reading = false
        uv_read_stop(streamPointer(handle))
    }

    /// Stops for good and closes the descriptor; no callback runs after this.
    func close() {
        if closed { return }
        closed = true
        reading = false
        onData = nil
        onEnd = nil
        uv_close(handlePointer(handle), onPipeClosed)
    }

    fileprivate func received(_ nread: Int, _ base: UnsafeMutableRawPointer?) {
        if nread > 0 {
            onData?(UnsafeRawBufferPointer(start: base, count: nread))
        } else if nread < 0 {
            let end = onEnd
            stop()
            end?(nread != Int(UV_EOF.rawValue))
        }
    }
}

private func onPipeAlloc(_ h: UnsafeMutablePointer<uv_handle_t>?, _ suggested: Int, _ buf: UnsafeMutablePointer<uv_buf_t>?) {
    let server = serverOf(h!)
    buf!.pointee = uv_buf_init(server.loop!.readBuffer.assumingMemoryBound(to: CChar.self), UInt32(EventLoop.readBufferSize))
}

private func onPipeRead(_ s: UnsafeMutablePointer<uv_stream_t>?, _ nread: Int, _ buf: UnsafePointer<uv_buf_t>?) {
    guard let s, let data = s.pointee.data else { return }
    let reader = Unmanaged<PipeReader>.fromOpaque(data).takeUnretainedValue()
    reader.received(nread, buf.flatMap { UnsafeMutableRawPointer($0.pointee.base) })
}

private func onPipeClosed(_ h: UnsafeMutablePointer<uv_handle_t>?) {
    guard let h else { return }
    if let data = h.pointee.data { Unmanaged<PipeReader>.fromOpaque(data).release() }
    h.deallocate()
}
