import Foundation

/// Where things are for the tests: package root, corpus, binaries.
enum TestEnvironment {
    /// The package root, found from this file's path:
    /// <root>/Tests/RedisUVTests/Support/TestEnvironment.swift
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Support
        .deletingLastPathComponent()  // RedisUVTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// `Tests/corpus`, or `DIFF_CORPUS_DIR` when set.
    static var corpusDirectory: URL {
        if let dir = environment["DIFF_CORPUS_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        return packageRoot.appendingPathComponent("Tests/corpus")
    }

    /// Parent of the servers' temporary working directories:
    /// `REDIS_UV_TEST_TMPDIR` (scripts/test sets it and removes it at exit, so
    /// even a crashed run leaves nothing behind), else the system temp dir.
    static var scratchDirectory: URL {
        if let dir = environment["REDIS_UV_TEST_TMPDIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        return FileManager.default.temporaryDirectory
    }

    /// Looks a program up in PATH like a shell does.
    static func which(_ name: String) -> String? {
        if name.contains("/") {
            return FileManager.default.isExecutableFile(atPath: name) ? name : nil
        }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The redis-uv binary under test: `REDIS_UV_BIN` when set (scripts/test
    /// sets it to the release build), else the newer of
    /// `.build/release/redis-uv` and `.build/debug/redis-uv`.
    static func redisUVBinary() throws -> String {
        if let bin = environment["REDIS_UV_BIN"], !bin.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: bin) else {
                throw HarnessError("REDIS_UV_BIN=\(bin) is not an executable file")
            }
            return bin
        }
        let candidates = ["release", "debug"]
            .map { packageRoot.appendingPathComponent(".build/\($0)/redis-uv").path }
            .filter { FileManager.default.isExecutableFile(atPath: $0) }
        let newest = candidates.max { modificationDate($0) < modificationDate($1) }
        guard let bin = newest else {
            throw HarnessError("""
                redis-uv binary not found: set REDIS_UV_BIN or build it \
                (`swift build -c release --product redis-uv`; scripts/test does both)
                """)
        }
        return bin
    }

    /// `redis-server` from PATH, nil when not installed.
    static var redisServerBinary: String? { which("redis-server") }

    /// `redis-cli` from PATH, nil when not installed.
    static var redisCLIBinary: String? { which("redis-cli") }

    static func flag(_ name: String) -> Bool {
        guard let v = environment[name]?.lowercased() else { return false }
        return !(v.isEmpty || v == "0" || v == "false" || v == "no")
    }

    private static func modificationDate(_ path: String) -> Date {
        let attrs = try? FileManager.default.attributesOfItem(atPath: path)
        return (attrs?[.modificationDate] as? Date) ?? .distantPast
    }
}

/// Prints a line to stderr (shown in `swift test` output, also under CI).
func harnessLog(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
