import Glibc
import Foundation
import XCTest

/// Integration scenarios with several real clients over sockets: each runs against the
/// redis-uv binary and, when it is installed, against redis-server too; the replies a
/// scenario records must be the same bytes on both (and subclasses also check them
/// against expected bytes). Without redis-server the scenarios still run on redis-uv.
class ServerPairTestCase: XCTestCase {
    var servers: [ServerProcess] = []
    /// Arguments both servers start with (subclasses add what their scenarios need).
    var serverArguments: [String] { [] }

    override func setUpWithError() throws {
        try super.setUpWithError()
        servers = [try ServerProcess.start(.redisUV, arguments: serverArguments)]
        if TestEnvironment.redisServerBinary != nil {
            servers.append(try ServerProcess.start(.redisServer, arguments: serverArguments))
        } else {
            harnessLog("\(type(of: self)): redis-server not in PATH, checking redis-uv alone")
        }
    }

    override func tearDown() {
        for s in servers { s.stop() }
        servers = []
        super.tearDown()
    }

    /// What a scenario saw, step by step.
    final class Transcript {
        var steps: [(label: String, bytes: [UInt8])] = []
        func record(_ label: String, _ bytes: [UInt8]) { steps.append((label, bytes)) }
        func record(_ label: String, _ text: String) { record(label, Array(text.utf8)) }
        subscript(_ label: String) -> String {
            String(decoding: steps.first { $0.label == label }?.bytes ?? [], as: UTF8.self)
        }
    }

    /// Runs `scenario` on every server; the transcripts must match byte for byte. Returns
    /// redis-uv's.
    @discardableResult
    func onEachServer(file: StaticString = #filePath, line: UInt = #line,
                              _ scenario: (ServerProcess, Transcript) throws -> Void) throws -> Transcript {
        var transcripts: [Transcript] = []
        for s in servers {
            let t = Transcript()
            try scenario(s, t)
            XCTAssertTrue(s.isRunning, "\(s.kind.rawValue) died:\n\(s.log)", file: file, line: line)
            transcripts.append(t)
        }
        if transcripts.count == 2 {
            let (uv, redis) = (transcripts[0], transcripts[1])
            XCTAssertEqual(uv.steps.map(\.label), redis.steps.map(\.label), file: file, line: line)
            for (a, b) in zip(uv.steps, redis.steps) where a.bytes != b.bytes {
                XCTFail("""
                    step "\(a.label)" differs
                      redis-server: \(RespEscape.escape(b.bytes))
                      redis-uv:     \(RespEscape.escape(a.bytes))
                    """, file: file, line: line)
            }
        }
        return transcripts[0]
    }
}
