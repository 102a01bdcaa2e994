import XCTest
@testable import RedisUV

/// Pub/sub through the real dispatcher with in-process clients: the keyspace-notification
/// publisher (Redis's notify.c) and the delivery order, without sockets.
final class PubSubUnitTests: InProcessTestCase {
    private func subscriber(_ args: String...) -> Client {
        let c = server.createClient(now: 0)
        let owned = OwnedArgv(args.map { Array($0.utf8) })
        server.processCommand(c, owned.argv)
        c.out.count = 0
        return c
    }

    private func drain(_ c: Client) -> String {
        defer { c.out.count = 0 }
        return String(decoding: c.out.bytes, as: UTF8.self)
    }

    private func notify(_ type: Int, _ event: StaticString, _ key: String, db: Int = 0) {
        var k = Array(key.utf8)
        k.withUnsafeBytes { server.notifyKeyspaceEvent(type, event, $0, db) }
        k.removeAll()
    }

    func testKeyspaceAndKeyeventChannels() {
        let s = subscriber("PSUBSCRIBE", "__key*__:*")
        run("CONFIG", "SET", "notify-keyspace-events", "KEA")
        notify(KeyspaceEventFlags.string, "set", "foo", db: 3)
        XCTAssertEqual(drain(s),
            "*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$18\r\n__keyspace@3__:foo\r\n$3\r\nset\r\n" +
            "*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$18\r\n__keyevent@3__:set\r\n$3\r\nfoo\r\n")
    }

    func testFlagsSelectChannels() {
        let s = subscriber("PSUBSCRIBE", "*")
        run("CONFIG", "SET", "notify-keyspace-events", "K$")
        notify(KeyspaceEventFlags.string, "set", "k")
        XCTAssertEqual(drain(s), "*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$16\r\n__keyspace@0__:k\r\n$3\r\nset\r\n")
        notify(KeyspaceEventFlags.generic, "del", "k")   // class not enabled
        XCTAssertEqual(drain(s), "")
        run("CONFIG", "SET", "notify-keyspace-events", "Eg")
        notify(KeyspaceEventFlags.generic, "del", "k")
        XCTAssertEqual(drain(s), "*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$18\r\n__keyevent@0__:del\r\n$1\r\nk\r\n")
        run("CONFIG", "SET", "notify-keyspace-events", "A")   // no K or E: nothing
        notify(KeyspaceEventFlags.generic, "del", "k")
        XCTAssertEqual(drain(s), "")
        run("CONFIG", "SET", "notify-keyspace-events", "KE")  // no class: nothing
        notify(KeyspaceEventFlags.generic, "del", "k")
        XCTAssertEqual(drain(s), "")
    }

    func testChannelSubscribersBeforePatternsInSubscriptionOrder() {
        let a = subscriber("SUBSCRIBE", "ch")
        let p = subscriber("PSUBSCRIBE", "c*")
        let b = subscriber("SUBSCRIBE", "ch")
        XCTAssertEqual(run("PUBLISH", "ch", "m"), ":3\r\n")
        XCTAssertEqual(drain(a), "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n")
        XCTAssertEqual(drain(b), "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n")
        XCTAssertEqual(drain(p), "*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$1\r\nm\r\n")
        XCTAssertEqual(server.pubsub.channels.find(UnsafeRawBufferPointer(start: nil, count: 0)) == nil, true)
        server.forgetClient(a)
        XCTAssertEqual(run("PUBSUB", "NUMSUB", "ch"), "*2\r\n$2\r\nch\r\n:1\r\n")
        server.forgetClient(b)
        server.forgetClient(p)
        XCTAssertEqual(run("PUBSUB", "CHANNELS"), "*0\r\n")
        XCTAssertEqual(run("PUBSUB", "NUMPAT"), ":0\r\n")
    }
}
