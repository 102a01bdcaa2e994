import XCTest
@testable import RedisUV

/// A Server and one Client with no sockets: commands go through the real dispatcher and
/// the reply bytes are read back. For logic the differential corpus cannot pin down
/// (time, randomness, hash order, internal encodings).
class InProcessTestCase: XCTestCase {
    var server: Server!
    var client: Client!
    /// Databases for the server of each test.
    var databases: Int { 4 }

    override func setUp() {
        super.setUp()
        var config = ServerConfig()
        config.databases = databases
        server = Server(config: config, log: Logger(level: "warning"))
        client = server.createClient(now: 0)
    }

    override func tearDown() {
        client = nil
        server = nil
        super.tearDown()
    }

    /// Runs one command and returns its raw reply.
    @discardableResult
    func run(_ args: String...) -> String {
        run(args.map { Array($0.utf8) })
    }

    @discardableResult
    func run(_ args: [[UInt8]]) -> String {
        client.out.count = 0
        let owned = OwnedArgv(args)
        server.processCommand(client, owned.argv)
        return String(decoding: client.out.bytes, as: UTF8.self)
    }
}
