import Foundation
import Synchronization

/// The real scanner: SANE's `scanimage` in a subprocess, so a hung vendor backend can be killed (with everything
/// it started) and never hangs the kiosk. Progress comes from `--progress` on stderr, finished pages from
/// `--batch-print` on stdout; each page is checked and encoded while the next one scans.
public final class SANEScanner: Scanner {
    public let settings: ScanSettings
    /// The scanimage command (a stand-in in tests of the watchdog).
    public let command: [String]
    /// Extra environment (SANE_CONFIG_DIR for a private dll.conf).
    public let environment: [String: String]

    public init(settings: ScanSettings, command: [String] = ["scanimage"], environment: [String: String] = [:]) {
        self.settings = settings
        self.command = command
        self.environment = environment
    }

    private var env: [String: String] { ProcessInfo.processInfo.environment.merging(self.environment) { $1 } }

    public func devices() async throws(ScanError) -> [ScannerDevice] {
        let command = self.command, env = self.env
        let result = await Self.onThread { () -> Result<(Int32, String), ScanError> in
            do throws(ChildProcess.SpawnError) {
                let r = try ChildProcess.run(command + ["-f", "%d|%v|%m|%t%n"], environment: env)
                return .success((r.status, r.output))
            } catch {
                return .failure(.failed(error.description))
            }
        }
        let (status, output) = try result.get()
        guard status == 0 else { throw .failed("scanimage -L exit \(status): \(output.prefix(200))") }
        return output.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 4, !f[0].isEmpty else { return nil }
            return ScannerDevice(name: f[0], vendor: f[1], model: f[2], type: f[3])
        }
    }

    /// The scanimage arguments for a request, pages into `batchPattern`.
    public func arguments(device: String, request: ScanRequest, batchPattern: String) -> [String] {
        var args = ["-d", device, "--format=pnm", "--mode", self.settings.mode, "--resolution", String(self.settings.resolution)]
        if let w = self.settings.widthMM { args += ["-x", String(w)] }
        if let h = self.settings.heightMM { args += ["-y", String(h)] }
        if request.source == .feeder { args += ["--source", "Automatic Document Feeder"] }
        args += ["--batch=\(batchPattern)", "--batch-print", "--progress"]
        if request.source == .flatbed { args += ["--batch-count=\(max(1, request.expectedPages ?? 1))"] }
        return args + self.settings.extraOptions
    }

    public func scan(_ request: ScanRequest, into directory: String, events: @escaping @Sendable (ScanEvent) -> Void)
        async throws(ScanError) -> [ScannedPage]
    {
        let device: String
        if let d = self.settings.device {
            device = d
        } else {
            guard let first = try await self.devices().first else { throw .noScanner }
            device = first.name
        }
        let staging = try ScanStaging(directory: directory)
        let run = ScanRun(arguments: self.command + self.arguments(device: device, request: request,
                                                                   batchPattern: "\(staging.staging)/raw-%03d.pnm"),
                          environment: self.env, settings: self.settings, staging: staging, device: device, events: events)
        let result = await withTaskCancellationHandler {
            await Self.onThread { run.execute() }
        } onCancel: {
            run.cancel()
        }
        switch result {
        case .failure(let error):
            staging.discard()
            throw error
        case .success(let pages):
            if let expected = request.expectedPages, pages.count != expected {
                staging.discard()
                throw .pageCount(expected: expected, scanned: pages.count)
            }
            return try staging.commit(pages, ext: self.settings.fileExtension)
        }
    }

    /// Runs blocking work on its own thread (never on the cooperative pool: a scan blocks in poll for seconds).
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.name = "kiosk-scanner"
            thread.start()
        }
    }
}

/// One scanimage run, supervised on a dedicated thread.
final class ScanRun: Sendable {
    let arguments: [String]
    let environment: [String: String]
    let settings: ScanSettings
    let staging: ScanStaging
    let device: String
    let events: @Sendable (ScanEvent) -> Void
    private let cancelled = Atomic<Bool>(false)

    init(arguments: [String], environment: [String: String], settings: ScanSettings, staging: ScanStaging, device: String,
         events: @escaping @Sendable (ScanEvent) -> Void)
    {
        self.arguments = arguments
        self.environment = environment
        self.settings = settings
        self.staging = staging
        self.device = device
        self.events = events
    }

    func cancel() { self.cancelled.store(true, ordering: .sequentiallyConsistent) }

    func execute() -> Result<[ScannedPage], ScanError> {
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(self.arguments, environment: self.environment, stdout: .pipe, stderr: .pipe)
        } catch {
            return .failure(.failed(error.description))
        }
        guard let outFD = child.stdoutPipe, let errFD = child.stderrPipe else { return .failure(.failed("no pipes")) }
        defer {
            close(outFD)
            close(errFD)
        }
        var stdoutBuffer = Data(), stderrText = "", stderrLine = Data()
        var open = [outFD: true, errFD: true]
        var lastActivity = monotonicNow()
        var page = 0
        var pages: [ScannedPage] = []
        var failure: ScanError?
        var buffer = [UInt8](repeating: 0, count: 4096)

        func stop(_ error: ScanError) {
            failure = error
            child.kill(SIGTERM)
            // A hung backend may ignore SIGTERM: SIGKILL after a second.
            let deadline = monotonicNow() + 1
            while monotonicNow() < deadline {
                if let _ = child.poll() { return }
                usleep(20_000)
            }
            child.kill(SIGKILL)
            child.wait()
        }

        func handleStderrLine(_ line: String) {
            if line.hasPrefix("Progress: ") {
                let value = Double(line.dropFirst(10).prefix { $0 != "%" }) ?? 0
                self.events(.progress(page: max(page, 1), percent: value))
            } else if line.hasPrefix("Scanning page ") {
                page = Int(line.dropFirst(14).prefix { $0.isNumber }) ?? page + 1
                self.events(.started(page: page))
            } else if !line.isEmpty {
                stderrText += line + "\n"
            }
        }

        func handlePageFile(_ path: String) {
            guard failure == nil else { return }
            let number = pages.count + 1
            do {
                guard let data = FileManager.default.contents(atPath: path) else { throw ScanError.failed("page \(number) missing") }
                let raster: RasterImage
                do { raster = try RasterImage.pnm(data) } catch { throw ScanError.failed("page \(number): \(error)") }
                unlink(path)
                let encoded = try PageProcessor.process(raster, page: number, settings: self.settings)
                let staged = try self.staging.stage(number, encoded.data, ext: self.settings.fileExtension)
                pages.append(ScannedPage(number: number, path: staged, bytes: encoded.data.count, width: encoded.width,
                                         height: encoded.height, checks: encoded.checks, thumbnail: encoded.thumbnail))
                self.events(.pageDone(page: number))
            } catch let error as ScanError {
                stop(error)
            } catch {
                stop(.failed("\(error)"))
            }
        }

        while failure == nil, open.values.contains(true) {
            if self.cancelled.load(ordering: .sequentiallyConsistent) {
                stop(.cancelled)
                break
            }
            if monotonicNow() - lastActivity > self.settings.watchdogSeconds {
                stop(.watchdog(seconds: self.settings.watchdogSeconds))
                break
            }
            var fds = open.filter(\.value).map { pollfd(fd: $0.key, events: Int16(POLLIN), revents: 0) }
            let n = poll(&fds, nfds_t(fds.count), 100)
            if n < 0 && errno != EINTR { stop(.failed("poll: \(String(cString: strerror(errno)))")); break }
            for p in fds where p.revents != 0 {
                let count = read(p.fd, &buffer, buffer.count)
                if count <= 0 {
                    if count < 0 && errno == EINTR { continue }
                    open[p.fd] = false
                    continue
                }
                lastActivity = monotonicNow()
                if p.fd == outFD {
                    stdoutBuffer.append(contentsOf: buffer[0..<count])
                    while let nl = stdoutBuffer.firstIndex(of: 10) {
                        let line = String(decoding: stdoutBuffer[stdoutBuffer.startIndex..<nl], as: UTF8.self)
                        stdoutBuffer.removeSubrange(stdoutBuffer.startIndex...nl)
                        if !line.isEmpty { handlePageFile(line) }
                    }
                } else {
                    for byte in buffer[0..<count] {
                        if byte == 10 || byte == 13 {
                            handleStderrLine(String(decoding: stderrLine, as: UTF8.self))
                            stderrLine.removeAll(keepingCapacity: true)
                        } else {
                            stderrLine.append(byte)
                        }
                    }
                }
            }
        }
        // stop() has already ended and reaped the child.
        if let failure { return .failure(failure) }
        if !stderrLine.isEmpty { handleStderrLine(String(decoding: stderrLine, as: UTF8.self)) }
        let status = child.wait()
        // A feeder that runs out after the pages it had ends the batch normally (exit 0, or NO_DOCS from some
        // backends); any other status fails the whole scan.
        if status != 0, !(status == SANEStatus.noDocuments.rawValue && !pages.isEmpty) {
            return .failure(ScanError.fromExit(status, stderr: stderrText, device: self.device))
        }
        if pages.isEmpty { return .failure(.device(.noDocuments, detail: stderrText.split(separator: "\n").last.map(String.init) ?? "")) }
        return .success(pages)
    }

}

/// Seconds on the monotonic clock (watchdogs, debounce: never the wall clock).
public func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
