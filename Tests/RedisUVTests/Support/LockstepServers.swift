import XCTest

/// A real redis-server and redis-uv side by side, for lockstep differential tests (the
/// seeded fuzzers): connection 0 to each speaks RESP2, connection 1 RESP3.
final class LockstepServers {
    let reference: ServerProcess
    let subject: ServerProcess
    /// [RESP2, RESP3] connections to redis-server and to redis-uv.
    let refs: [RespConnection]
    let subs: [RespConnection]

    init() throws {
        reference = try ServerProcess.start(.redisServer)
        do {
            subject = try ServerProcess.start(.redisUV)
        } catch {
            reference.stop()
            throw error
        }
        refs = [try reference.connect(), try reference.connect()]
        subs = [try subject.connect(), try subject.connect()]
        _ = try refs[1].call("HELLO", "3")
        _ = try subs[1].call("HELLO", "3")
    }

    func stop() {
        reference.stop()
        subject.stop()
    }
}
