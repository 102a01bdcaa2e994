import Foundation
import XCTest

/// CLIENT INFO's qbuf for the calling client counts the input batch being run, as Redis's
/// query buffer still holds it (it is trimmed after the batch): the same figure as
/// redis-server's for a lone command and for a pipeline in one write.
final class ClientInfoQbufTests: XCTestCase {
    func testQbufOfTheCallingClientMatchesRedisServer() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("SKIPPED: redis-server not installed") }
        func qbufs(_ kind: ServerProcess.Kind) throws -> [String] {
            let server = try ServerProcess.start(kind)
            defer { server.stop() }
            let conn = try server.connect()
            defer { conn.close() }
            var out: [String] = []
            let info = RespFraming.encodeCommand([Array("CLIENT".utf8), Array("INFO".utf8)])
            let ping = RespFraming.encodeCommand([Array("PING".utf8)])
            for batch in [info, ping + info, ping + ping + info + ping, Array("CLIENT INFO\r\n".utf8)] {
                try conn.send(batch)
                var replies: [UInt8] = []
                let expected = batch.count == info.count || batch.first != UInt8(ascii: "*") ? 1 : (batch == ping + info ? 2 : 4)
                for _ in 0..<expected { replies += try conn.readReply() }
                let text = String(decoding: replies, as: UTF8.self)
                let field = text.split(separator: " ").first { $0.hasPrefix("qbuf=") }.map(String.init) ?? "none"
                out.append(field)
            }
            return out
        }
        let theirs = try qbufs(.redisServer)
        XCTAssertEqual(try qbufs(.redisUV), theirs)
        XCTAssertEqual(theirs.first, "qbuf=26")
    }
}
