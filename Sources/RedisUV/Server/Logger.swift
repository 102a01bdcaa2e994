#if canImport(Glibc)
import Glibc
#endif

/// Redis-style log lines ("pid:M 24 Nov 2026 21:31:00.123 * message") to stdout or `logfile`.
final class Logger {
    enum Level: Int { case debug = 0, verbose, notice, warning }
    var level: Level = .notice
    /// Redis's role mark after the pid: "M" (the server), "C" (a BGSAVE child).
    var role = "M"
    private var file: UnsafeMutablePointer<FILE>?

    init(level: String = "notice", path: String = "") {
        self.level = Logger.level(named: level)
        if !path.isEmpty { file = fopen(path, "a") }
    }

    static func level(named name: String) -> Level {
        switch name { case "debug": return .debug; case "verbose": return .verbose; case "warning": return .warning; default: return .notice }
    }

    func debug(_ m: @autoclosure () -> String) { write(.debug, m) }
    func verbose(_ m: @autoclosure () -> String) { write(.verbose, m) }
    func notice(_ m: @autoclosure () -> String) { write(.notice, m) }
    func warning(_ m: @autoclosure () -> String) { write(.warning, m) }

    /// Redis's serverLogRaw: text as it is, no prefix (the start-up logo).
    func raw(_ text: String) {
        if let file {
            fputs(text, file)
            fflush(file)
        } else {
            writeAll(1, text)
        }
    }

    /// Whether lines go to the standard output (no logfile).
    var toStdout: Bool { file == nil }

    private func write(_ l: Level, _ m: () -> String) {
        guard l.rawValue >= level.rawValue else { return }
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var tmv = tm()
        localtime_r(&t, &tmv)
        var buf = [CChar](repeating: 0, count: 64)
        strftime(&buf, 64, "%d %b %Y %H:%M:%S", &tmv)
        let marks = [".", "-", "*", "#"]
        let ms = Int(ts.tv_nsec) / 1_000_000
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        let line = "\(getpid()):\(role) \(stringFromCBuffer(buf)).\(msText) \(marks[l.rawValue]) \(m())\n"
        if let file {
            fputs(line, file)
            fflush(file)
        } else {
            writeAll(1, line)
        }
    }
}

/// write(2) of a whole string to a file descriptor (stdout/stderr without the C globals).
func writeAll(_ fd: Int32, _ text: String) {
    var t = text
    t.withUTF8 { p in
        var off = 0
        while off < p.count {
            let n = write(fd, p.baseAddress! + off, p.count - off)
            if n <= 0 { return }
            off += n
        }
    }
}
