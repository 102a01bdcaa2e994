#if canImport(Glibc)
import Glibc
#endif

/// Loading the append-only files at start-up (Redis 7.0's loadAppendOnlyFiles and
/// loadSingleAppendOnlyFile): the manifest's base (an RDB, or commands, or an old AOF with
/// an RDB preamble), then each incr file, replayed by a fake client that runs each
/// command's proc directly (no gates, no propagation, replies dropped), as Redis does. An
/// old single-file `appendonly.aof` (Redis ≤ 6) is first moved into the directory as the
/// base of a new manifest. A truncated last command is cut off with aof-load-truncated
/// yes (Redis's log lines), and stops start-up with no; any other damage stops start-up.
extension Server {
    /// False when start-up must stop (logged).
    func loadAppendOnlyFiles() -> Bool {
        let manifestPath = aofDir + "/" + config.appendfilename + ".manifest"
        if let text = readWholeFile(manifestPath) {
            do {
                aof.manifest = try AOFManifest.parse(String(decoding: text, as: UTF8.self))
            } catch let e as AOFManifest.ParseError {
                log.warning(e.message)
                return false
            } catch {
                return false
            }
        } else if !aofUpgradeOldStyleFile() {
            return false
        }
        let m = aof.manifest
        var files: [(AOFManifest.FileInfo, Bool)] = []
        if let b = m.base { files.append((b, false)) }
        for f in m.incrs { files.append((f, false)) }
        if files.isEmpty { return true }
        files[files.count - 1].1 = true
        let start = monotonicUs()
        aof.loading = true
        aofFeedingChanged()
        loading = true
        defer {
            loading = false
            aof.loading = false
            aofFeedingChanged()
        }
        for (f, last) in files {
            let path = aofDir + "/" + f.name
            let t0 = monotonicUs()
            guard access(path, F_OK) == 0 else {
                log.warning("The AOF file \(f.name) doesn't exist")
                return false
            }
            guard loadSingleAppendOnlyFile(path, name: f.name, isLast: last) else { return false }
            let kind = f.type == .base ? "base" : "incr"
            log.notice("DB loaded from \(kind) file \(f.name): \(formatC("%.3f", Double(monotonicUs() - t0) / 1e6)) seconds")
        }
        dirty = 0
        log.notice("DB loaded from append only file: \(formatC("%.3f", Double(monotonicUs() - start) / 1e6)) seconds")
        return true
    }

    /// Redis's aofUpgradePrepare: an `appendfilename` in `dir` with no manifest becomes
    /// the base of a new manifest inside `appenddirname`.
    private func aofUpgradeOldStyleFile() -> Bool {
        let old = (config.dir.isEmpty ? "." : config.dir) + "/" + config.appendfilename
        guard access(old, F_OK) == 0 else { return true }
        mkdir(aofDir, 0o755)
        guard rename(old, aofDir + "/" + config.appendfilename) == 0 else {
            log.warning("Error moving the old AOF file \(config.appendfilename) into dir \(config.appenddirname): \(String(cString: strerror(errno)))")
            return false
        }
        var m = AOFManifest()
        m.base = AOFManifest.FileInfo(name: config.appendfilename, seq: 1, type: .base)
        m.currentBaseSeq = 1
        aof.manifest = m
        guard persistAOFManifest() else { return false }
        log.notice("Successfully migrated an old-style AOF file (\(config.appendfilename)) into the AOF directory (\(config.appenddirname)).")
        return true
    }

    private func readWholeFile(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, 1 << 16, f) }
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    /// One file: an RDB preamble if it starts with "REDIS", then commands.
    private func loadSingleAppendOnlyFile(_ path: String, name: String, isLast: Bool) -> Bool {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            log.warning("Fatal error: can't open the append log file \(name) for reading: \(String(cString: strerror(errno)))")
            return false
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return false }
        let size = Int(st.st_size)
        if size == 0 { return true }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            log.warning("Fatal error: can't map the append log file \(name): \(String(cString: strerror(errno)))")
            return false
        }
        defer { munmap(base, size) }
        let image = UnsafeRawBufferPointer(start: base, count: size)
        var pos = 0
        if size >= 5 && image[0] == UInt8(ascii: "R") && memcmp(base, "REDIS", 5) == 0 {
            log.notice("Reading RDB base file on AOF loading...")
            switch loadRDBImage(image, into: dbs, serveClients: false) {
            case .loaded(let result, _):
                pos = result.bytesRead
            default:
                log.warning("Error reading the RDB base file \(name), AOF loading aborted")
                return false
            }
            loading = true  // (loadRDBImage clears it)
            if pos >= size { return true }
            log.notice("Reading the remaining AOF tail...")
        }
        return replayAOFCommands(image, from: pos, path: path, name: name, isLast: isLast)
    }

    /// The command part of a file, run one by one by a fake client.
    private func replayAOFCommands(_ image: UnsafeRawBufferPointer, from start: Int, path: String,
                                   name: String, isLast: Bool) -> Bool {
        let fake = createClient(now: cachedTimeMs, listed: false)
        fake.authenticated = true
        defer { freeClientMultiState(fake) }
        var views = [UnsafeRawBufferPointer](repeating: UnsafeRawBufferPointer(start: nil, count: 0), count: 16)
        var pos = start
        var validUpTo = start
        var validBeforeMulti = start
        let n = image.count

        func line(_ from: Int) -> (Int, Int)? {  // (content end, next start)
            var i = from
            while i + 1 < n {
                if image[i] == 13 && image[i + 1] == 10 { return (i, i + 2) }
                i += 1
            }
            return nil
        }
        func number(_ from: Int, _ to: Int) -> Int? {
            parseStrictInt(UnsafeRawBufferPointer(rebasing: image[from..<to]))
        }
        func badFormat() -> Bool {
            log.warning("Bad file format reading the append only file \(name): make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>")
            return false
        }

        enum Stop { case eof, truncated }
        var stop = Stop.eof
        outer: while pos < n {
            // Annotations (#TS:...) are skipped.
            if image[pos] == UInt8(ascii: "#") {
                guard let (_, next) = line(pos) else { stop = .truncated; break }
                pos = next
                validUpTo = pos
                continue
            }
            guard image[pos] == UInt8(ascii: "*") else { return badFormat() }
            guard let (end, next) = line(pos + 1) else { stop = .truncated; break }
            guard let argc = number(pos + 1, end), argc >= 1 else { return badFormat() }
            pos = next
            if argc > views.count {
                views = [UnsafeRawBufferPointer](repeating: UnsafeRawBufferPointer(start: nil, count: 0), count: argc)
            }
            for j in 0..<argc {
                guard pos < n else { stop = .truncated; break outer }
                guard image[pos] == UInt8(ascii: "$") else { return badFormat() }
                guard let (e, nx) = line(pos + 1) else { stop = .truncated; break outer }
                guard let len = number(pos + 1, e), len >= 0 else { return badFormat() }
                guard nx + len + 2 <= n else { stop = .truncated; break outer }
                guard image[nx + len] == 13 && image[nx + len + 1] == 10 else { return badFormat() }
                views[j] = UnsafeRawBufferPointer(rebasing: image[nx..<(nx + len)])
                pos = nx + len + 2
            }
            let ok = views.withUnsafeBufferPointer { buf -> Bool in
                let argv = Argv(base: buf.baseAddress!, count: argc)
                guard var cmd = commands.lookup(argv[0]) else {
                    log.warning("Unknown command '\(argv.string(0))' reading the append only file \(name)")
                    return false
                }
                if cmd.isContainer, argc >= 2, let sub = cmd.subcommand(argv[1]) { cmd = sub }
                guard cmd.proc != nil, cmd.arityAccepts(argc) else {
                    log.warning("Invalid arity for command '\(argv.string(0))' reading the append only file \(name)")
                    return false
                }
                if cmd.spec.name == "multi" { validBeforeMulti = validUpTo }
                fake.lastCommand = cmd
                if fake.mstate != nil && !cmd.runsInsideMulti {
                    _ = queueIfInMulti(fake, cmd, argv)
                } else {
                    cmd.proc!(fake, argv)
                }
                fake.out.count = 0
                propagationRequested = false
                propagation.pending.removeAll()
                return true
            }
            if !ok { return false }
            validUpTo = pos
        }
        if stop == .eof && fake.mstate == nil { return true }
        if fake.mstate != nil && stop == .eof {
            log.notice("Revert incomplete MULTI/EXEC transaction in AOF file \(name)")
            validUpTo = validBeforeMulti
        } else if fake.mstate != nil {
            validUpTo = validBeforeMulti
        }
        // A truncated (or half-written transaction at the) end of the last file.
        if isLast && config.aofLoadTruncated {
            log.warning("!!! Warning: short read while loading the AOF file \(name)!!!")
            log.warning("!!! Truncating the AOF \(name) at offset \(validUpTo) !!!")
            if truncate(path, off_t(validUpTo)) != 0 {
                log.warning("Error truncating the AOF file \(name): \(String(cString: strerror(errno)))")
                return false
            }
            log.warning("AOF \(name) loaded anyway because aof-load-truncated is enabled")
            return true
        }
        log.warning("Unexpected end of file reading the append only file \(name). You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.")
        return false
    }
}
