import CLibUV

/// A one-shot libuv timer that runs a Swift closure (blocked-client timeouts).
/// The handle's data holds a +1 reference to this object until the close callback, so
/// the timer can be cancelled or fire in any order with its owner going away.
final class OneShotTimer {
    private let handle: UnsafeMutablePointer<uv_timer_t>
    private var action: (() -> Void)?
    private var closed = false

    /// Fires `action` once after `milliseconds` (0 = next loop iteration).
    init(loop: EventLoop, milliseconds: UInt64, action: @escaping () -> Void) {
        handle = .allocate(capacity: 1)
        self.action = action
        uv_timer_init(loop.loop, handle)
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        uv_timer_start(handle, onOneShotTimer, milliseconds, 0)
    }

    /// Stops the timer; the action will not run.
    func cancel() {
        action = nil
        close()
    }

    fileprivate func fire() {
        let a = action
        action = nil
        close()
        a?()
    }

    private func close() {
        if closed { return }
        closed = true
        uv_timer_stop(handle)
        uv_close(handlePointer(handle), onOneShotTimerClosed)
    }
}

private func onOneShotTimer(_ h: UnsafeMutablePointer<uv_timer_t>?) {
    guard let h else { return }
    Unmanaged<OneShotTimer>.fromOpaque(h.pointee.data).takeUnretainedValue().fire()
}

private func onOneShotTimerClosed(_ h: UnsafeMutablePointer<uv_handle_t>?) {
    guard let h else { return }
    Unmanaged<OneShotTimer>.fromOpaque(h.pointee.data).release()
    h.deallocate()
}
