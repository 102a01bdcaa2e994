import XCTest

/// Runs every corpus file in Tests/corpus against the reference redis-server
/// and redis-uv, comparing replies (see Support/Corpus.swift for the syntax).
///
/// Environment:
/// - `DIFF_CORPUS_FILTER=strings,ping`  only files whose name contains one of these
/// - `DIFF_AGAINST_REDIS_TWICE=1`       compare two redis-servers (checks the harness)
/// - `DIFF_MAX_MISMATCHES=N`            mismatches reported per file before it stops (5)
/// - `DIFF_CORPUS_DIR=/path`            another corpus folder
/// - `DIFF_RESTART_PER_FILE=1`          fresh servers for every file instead of FLUSHALL
///   (also chosen automatically while redis-uv does not answer FLUSHALL with +OK)
final class DifferentialCorpusTests: XCTestCase {
    func testCorpus() throws {
        guard TestEnvironment.redisServerBinary != nil else {
            harnessLog("SKIPPED: differential tests need redis-server (apt-get install redis-server)")
            throw XCTSkip("SKIPPED: differential tests need redis-server in PATH (apt-get install redis-server)")
        }
        let twice = TestEnvironment.flag("DIFF_AGAINST_REDIS_TWICE")
        let files = try corpusFiles()
        XCTAssertFalse(files.isEmpty, "no corpus files in \(TestEnvironment.corpusDirectory.path)")

        let subjectKind: ServerProcess.Kind = twice ? .redisServer : .redisUV
        var reference = try ServerProcess.start(.redisServer)
        defer { reference.stop() }
        var subject = try ServerProcess.start(subjectKind)
        defer { subject.stop() }
        let subjectName = twice ? "redis-server#2" : "redis-uv"
        harnessLog("differential: \(reference.kind.rawValue) (port \(reference.port)) vs \(subjectName) "
                   + "(\(subject.executable), port \(subject.port)), \(files.count) corpus files")

        var restartPerFile = TestEnvironment.flag("DIFF_RESTART_PER_FILE")
        if !restartPerFile {
            let reply = (try? subject.connect().call("FLUSHALL")) ?? []
            if reply != Array("+OK\r\n".utf8) {
                restartPerFile = true
                harnessLog("differential: \(subjectName) answers FLUSHALL with \"\(RespEscape.escape(reply))\": "
                           + "fresh servers for every corpus file instead")
            }
        }

        var failedFiles: [String] = []
        for (index, url) in files.enumerated() {
            if restartPerFile && index > 0 {
                reference.stop()
                subject.stop()
                reference = try ServerProcess.start(.redisServer)
                subject = try ServerProcess.start(subjectKind)
            }
            let file: CorpusFile
            do {
                file = try CorpusFile.load(url)
            } catch {
                XCTFail("\(error)")
                failedFiles.append(url.lastPathComponent)
                continue
            }
            let harness = DifferentialHarness(reference: reference, subject: subject, subjectName: subjectName)
            harness.resetWithFlushAll = !restartPerFile
            let result = harness.run(file)
            for m in result.mismatches { XCTFail("differential mismatch\n\(m)") }
            for e in result.errors { XCTFail("differential: \(e)") }

            if !subject.isRunning {
                XCTFail("\(subjectName) died during \(file.name):\n\(subject.log)")
                subject.stop()
                subject = try ServerProcess.start(subjectKind)
            }
            if !reference.isRunning {
                XCTFail("reference redis-server died during \(file.name):\n\(reference.log)")
                return
            }
            let status = result.passed ? "ok" : "FAILED (\(result.mismatches.count) mismatches)"
            harnessLog("  corpus \(file.name): \(result.steps) steps \(status)")
            if !result.passed { failedFiles.append(file.name) }
        }
        harnessLog("differential: \(files.count - failedFiles.count) of \(files.count) corpus files match"
                   + (failedFiles.isEmpty ? "" : "; mismatching: \(failedFiles.joined(separator: ", "))"))
    }
}
