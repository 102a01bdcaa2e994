import XCTest

/// A real redis-server and redis-uv side by side, for lockstep differential tests (the
/// seeded fuzzers): connection 0 to each speaks RESP2, connection 1 RESP3.
final class LockstepServers {
    let reference: ServerProcess
    let subject: ServerProcess
    /// [RESP2, RESP3] connections to redis-server and to redis-uv.
    let refs: [RespConnection]
    let subs: [RespConnection]

    /// Starts both servers for the `what` test, or skips it loudly when redis-server is
    /// not installed.
    init(for what: String) throws {
        guard TestEnvironment.redisServerBinary != nil else {
            harnessLog("SKIPPED: the \(what) test needs redis-server (apt-get install redis-server)")
            throw XCTSkip("SKIPPED: the \(what) test needs redis-server in PATH")
        }
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

    /// A fuzzer's seed and operation count: `<PREFIX>_FUZZ_SEED` / `<PREFIX>_FUZZ_OPS`
    /// from the environment, or the defaults.
    static func fuzzSettings(_ prefix: String, seed defaultSeed: UInt64, ops defaultOps: Int) -> (seed: UInt64, ops: Int) {
        let env = TestEnvironment.environment
        return (UInt64(env["\(prefix)_FUZZ_SEED"] ?? "") ?? defaultSeed, Int(env["\(prefix)_FUZZ_OPS"] ?? "") ?? defaultOps)
    }

    func stop() {
        reference.stop()
        subject.stop()
    }
}
