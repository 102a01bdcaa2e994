import Glibc
import Foundation

/// Free TCP ports on 127.0.0.1 for test servers.
enum FreePort {
    /// Asks the kernel for an unused port: binds 127.0.0.1:0, reads the port
    /// back and closes the socket. The port is free at return; a server
    /// started right after almost always gets it (ServerProcess retries with
    /// a fresh port when it does not).
    static func find() throws -> Int {
        let fd = socket(AF_INET, socketStreamType, 0)
        guard fd >= 0 else { throw HarnessError("socket(): \(errnoString())") }
        defer { close(fd) }
        var addr = try loopbackAddress(port: 0)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else { throw HarnessError("bind(127.0.0.1:0): \(errnoString())") }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc2 = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getsockname(fd, $0, &len)
            }
        }
        guard rc2 == 0 else { throw HarnessError("getsockname(): \(errnoString())") }
        return Int(UInt16(bigEndian: bound.sin_port))
    }
}

// MARK: - small socket helpers shared by the support files

let socketStreamType = Int32(SOCK_STREAM.rawValue)

func loopbackAddress(port: Int, host: String = "127.0.0.1") throws -> sockaddr_in {
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
        throw HarnessError("not an IPv4 address: \(host)")
    }
    return addr
}

func errnoString(_ code: Int32 = errno) -> String {
    String(cString: strerror(code)) + " (errno \(code))"
}

/// Error thrown by the test support code; its text is the failure message.
struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
