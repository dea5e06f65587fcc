import Foundation
import KioskDevices
import Synchronization
import Testing

/// Against the real `scanimage -d test` (SANE's test backend).
@Suite(.timeLimit(.minutes(3))) struct ScannerTests {
    func settings(_ picture: String = "Grid", _ extra: [String] = []) -> ScanSettings {
        var s = ScanSettings()
        s.device = "test"
        s.watchdogSeconds = 10
        s.extraOptions = ["--test-picture=\(picture)"] + extra
        return s
    }

    func outDir() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("kiosk-scan-\(UUID().uuidString)").path
    }

    /// Everything in the output directory, hidden staging folders included.
    func contents(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

    func scanError(_ scanner: SANEScanner, _ request: ScanRequest = ScanRequest(), dir: String) async -> ScanError? {
        do {
            _ = try await scanner.scan(request, into: dir) { _ in }
            return nil
        } catch { return error }
    }

    @Test func singlePageIsCheckedEncodedAndStoredPrivately() async throws {
        let dir = outDir()
        let events = Mutex<[ScanEvent]>([])
        let pages = try await SANEScanner(settings: settings()).scan(ScanRequest(), into: dir) { e in events.withLock { $0.append(e) } }
        #expect(pages.count == 1)
        let page = try #require(pages.first)
        #expect(page.path == "\(dir)/page-001.jpg")
        #expect(contents(dir) == ["page-001.jpg"], "no staging or raw files left")
        let data = try Data(contentsOf: URL(fileURLWithPath: page.path))
        #expect(data.count == page.bytes && data.count <= ScanSettings().maxPageBytes)
        let decoded = try JPEG.decode(data, gray: true)
        #expect(decoded.width == page.width && decoded.height == page.height)
        #expect(!page.checks.blank && page.checks.inkRatio > 0.002)
        #expect(try FileManager.default.attributesOfItem(atPath: page.path)[.posixPermissions] as? Int == 0o600)
        let seen = events.withLock { $0 }
        #expect(seen.first == .started(page: 1))
        #expect(seen.contains { if case .progress(1, let p) = $0 { return p > 0 } else { return false } })
        #expect(seen.contains(.pageDone(page: 1)), "stdout and stderr are separate pipes: no order between them")
        // A second scan into the same folder numbers on.
        let more = try await SANEScanner(settings: settings()).scan(ScanRequest(), into: dir) { _ in }
        #expect(more.map(\.path) == ["\(dir)/page-002.jpg"])
    }

    @Test func tenPageFeederBatch() async throws {
        let dir = outDir()
        let pages = try await SANEScanner(settings: settings()).scan(ScanRequest(source: .feeder, expectedPages: 10), into: dir) { _ in }
        #expect(pages.map(\.number) == Array(1...10))
        #expect(contents(dir) == (1...10).map { String(format: "page-%03d.jpg", $0) })
        // The resident said 9: the batch is refused whole.
        let other = outDir()
        let error = await scanError(SANEScanner(settings: settings()), ScanRequest(source: .feeder, expectedPages: 9), dir: other)
        #expect(error == .pageCount(expected: 9, scanned: 10))
        #expect(error?.resident.id.contains("10 halaman") == true)
        #expect(contents(other).isEmpty)
    }

    @Test(arguments: [
        ("SANE_STATUS_JAMMED", SANEStatus.jammed, "tersangkut", "jammed"),
        ("SANE_STATUS_NO_DOCS", .noDocuments, "Tidak ada kertas", "no paper"),
        ("SANE_STATUS_COVER_OPEN", .coverOpen, "Tutup pemindai terbuka", "cover is open"),
        ("SANE_STATUS_IO_ERROR", .ioError, "bermasalah", "has a problem"),
        ("SANE_STATUS_DEVICE_BUSY", .deviceBusy, "sibuk", "busy"),
        ("SANE_STATUS_NO_MEM", .noMemory, "bermasalah", "has a problem"),
        ("SANE_STATUS_ACCESS_DENIED", .accessDenied, "bermasalah", "has a problem"),
    ])
    func injectedErrorsGiveTheirMessages(_ value: String, _ status: SANEStatus, _ id: String, _ en: String) async throws {
        let dir = outDir()
        // The watchdog is not under test here: a loaded machine must not turn a SANE status into a timeout.
        var injected = settings("Grid", ["--read-return-value=\(value)"])
        injected.watchdogSeconds = 60
        let error = await scanError(SANEScanner(settings: injected), dir: dir)
        guard case .device(let got, _) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(got == status)
        #expect(error!.resident.id.contains(id) && error!.resident.en!.contains(en), "\(error!.resident)")
        #expect(error!.staff.en!.contains(value), "the staff message names the SANE status: \(error!.staff)")
        #expect(contents(dir).isEmpty, "nothing half-written")
    }

    @Test func aSlowScanIsCancelledCleanly() async throws {
        let dir = outDir()
        // Reads of 0.2 s, about 2.4 s a page, ten pages: the cancel surely lands mid-scan even on a busy machine.
        var s = settings("Grid", ["--read-delay=yes", "--read-delay-duration=200000"])
        s.widthMM = 200
        s.heightMM = 200
        let scanner = SANEScanner(settings: s)
        let progressed = Mutex(false)
        let task = Task { try await scanner.scan(ScanRequest(expectedPages: 10), into: dir) { e in if case .progress = e { progressed.withLock { $0 = true } } } }
        for _ in 0..<100 where !progressed.withLock({ $0 }) { try await Task.sleep(nanoseconds: 50_000_000) }
        #expect(progressed.withLock { $0 }, "the scan was running")
        let start = Date()
        task.cancel()
        let result = await task.result
        // Well before the ~24 s the ten pages take (a busy test machine delays the resumption by a few seconds).
        #expect(Date().timeIntervalSince(start) < 10)
        guard case .failure(let e) = result, let error = e as? ScanError else { Issue.record("not cancelled: \(result)"); return }
        #expect(error == .cancelled)
        #expect(contents(dir).isEmpty)
        #expect(try sh(["pgrep", "-f", "read-delay-duration=200000"]).status == 1, "no scanimage left running")
    }

    @Test func aHungScannerIsKilledByTheWatchdogAndTheNextScanWorks() async throws {
        let dir = outDir()
        let marker = "kiosk-hung-\(UUID().uuidString.prefix(8))"
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("\(marker).sh").path
        // A stand-in for a backend that hangs while reading: some progress, then nothing, and a child of its own.
        try "#!/bin/sh\nprintf 'Scanning page 1\\nProgress: 3.0%%\\r' >&2\nsleep 600 &\nexec sleep 601\n"
            .write(toFile: script, atomically: true, encoding: .utf8)
        var s = settings()
        s.watchdogSeconds = 1.5
        let start = Date()
        let error = await scanError(SANEScanner(settings: s, command: ["sh", script, marker]), dir: dir)
        #expect(error == .watchdog(seconds: 1.5))
        #expect(Date().timeIntervalSince(start) < 15, "1.5 s watchdog plus the kill, with room for a loaded CI machine")
        #expect(error?.staff.en?.contains("no progress") == true)
        #expect(contents(dir).isEmpty)
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(try sh(["pgrep", "-f", marker]).status == 1, "the stand-in and its child are gone")
        let next = try await SANEScanner(settings: settings()).scan(ScanRequest(), into: dir) { _ in }
        #expect(next.count == 1)
    }

    @Test(arguments: ["Solid white", "Solid black"])
    func uniformPagesAreRefusedAsBlank(_ picture: String) async throws {
        let dir = outDir()
        let error = await scanError(SANEScanner(settings: settings(picture)), dir: dir)
        #expect(error == .blankPage(1))
        #expect(error?.resident.id.contains("kosong") == true)
        #expect(contents(dir).isEmpty)
    }

    @Test func aBadDeviceNameIsAClearError() async throws {
        var s = settings()
        s.device = "nosuchdev"
        let dir = outDir()
        let error = await scanError(SANEScanner(settings: s), dir: dir)
        #expect(error == .badDevice("nosuchdev"))
        #expect(error?.staff.en?.contains("\"nosuchdev\" cannot be opened") == true)
        #expect(contents(dir).isEmpty)
    }

    @Test func oversizedPagesAreReencodedOrRefused() async throws {
        var s = settings("Color pattern")
        s.mode = "Color"
        s.resolution = 300
        s.maxPageBytes = 60_000
        let dir = outDir()
        let pages = try await SANEScanner(settings: s).scan(ScanRequest(), into: dir) { _ in }
        let page = try #require(pages.first)
        #expect(page.bytes <= 60_000)
        #expect(page.checks.quality < s.jpegQuality || page.checks.downscale == 2, "\(page.checks)")
        s.maxPageBytes = 3_000
        let refused = outDir()
        let error = await scanError(SANEScanner(settings: s), dir: refused)
        guard case .pageTooLarge(1, let bytes, 3_000) = error else { Issue.record("\(String(describing: error))"); return }
        #expect(bytes > 3_000)
        #expect(contents(refused).isEmpty)
    }

    @Test func pdfPagesWhenConfigured() async throws {
        var s = settings()
        s.format = "pdf"
        let dir = outDir()
        let page = try #require(try await SANEScanner(settings: s).scan(ScanRequest(), into: dir) { _ in }.first)
        #expect(page.path.hasSuffix("page-001.pdf"))
        let info = try sh(["pdfinfo", page.path])
        #expect(info.status == 0 && info.out.contains("Pages:           1"), "\(info.out)")
    }

    @Test func devicesAreListedWithThePrivateConfig() async throws {
        let scanner = SANEScanner(settings: settings(),
                                  environment: ["SANE_CONFIG_DIR": packageRoot.appendingPathComponent("Hardware/scanner/sane.d").path])
        let devices = try await scanner.devices()
        #expect(devices.contains { $0.name == "test:0" && $0.vendor == "Noname" })
    }
}

@Suite struct ScanPipelineTests {
    @Test func pnmParsingRefusesWhatItCannotRead() throws {
        let gray = RasterImage(width: 3, height: 2, channels: 1, pixels: [0, 1, 2, 3, 4, 5])
        #expect(try RasterImage.pnm(Data("P5\n# c\n3 2\n255\n".utf8) + Data([0, 1, 2, 3, 4, 5])) == gray)
        #expect(throws: RasterImage.PNMError.truncated) { try RasterImage.pnm(Data("P5\n3 2\n255\n".utf8) + Data([0, 1])) }
        #expect(throws: RasterImage.PNMError.unsupported("P4")) { try RasterImage.pnm(Data("P4\n8 1\n\u{0}".utf8)) }
        #expect(throws: RasterImage.PNMError.unsupported("maxval 65535")) { try RasterImage.pnm(Data("P5\n1 1\n65535\n\0\0".utf8)) }
        #expect(throws: RasterImage.PNMError.notPNM) { try RasterImage.pnm(Data("hello".utf8)) }
    }

    @Test func blankDetectionAndEncodingRoundTrip() throws {
        let white = RasterImage(width: 400, height: 500, channels: 1, pixels: [UInt8](repeating: 250, count: 200_000))
        #expect(PageContent(white).isBlank)
        #expect(throws: ScanError.blankPage(3)) { try PageProcessor.process(white, page: 3, settings: ScanSettings()) }
        var speckled = white
        for i in stride(from: 0, to: speckled.pixels.count, by: 997) { speckled.pixels[i] = 0 }
        #expect(PageContent(speckled).isBlank, "scanner dust is not content")
        var text = white
        for y in stride(from: 60, to: 440, by: 20) { for x in 40..<360 { for dy in 0..<6 { text.pixels[(y + dy) * 400 + x] = 20 } } }
        #expect(!PageContent(text).isBlank)
        let encoded = try PageProcessor.process(text, page: 1, settings: ScanSettings())
        let back = try JPEG.decode(encoded.data, gray: true)
        #expect(back.width == 400 && back.height == 500)
        #expect(abs(back.luma(100, 62) - 20) < 30 && abs(back.luma(100, 50) - 250) < 30)
        #expect(text.downscaled(by: 2).width == 200)
    }

    @Test func simulatedScannerUsesTheSameChecks() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kiosk-sim-\(UUID().uuidString)").path
        let scanner = SimulatedScanner()
        #expect(try await scanner.scan(ScanRequest(expectedPages: 2), into: dir) { _ in }.count == 2)
        scanner.produceBlankPages(true)
        await #expect(throws: ScanError.blankPage(1)) { try await scanner.scan(ScanRequest(), into: dir) { _ in } }
        scanner.produceBlankPages(false)
        scanner.fail(with: .device(.jammed, detail: "simulated"))
        await #expect(throws: ScanError.device(.jammed, detail: "simulated")) { try await scanner.scan(ScanRequest(), into: dir) { _ in } }
        scanner.fail(with: nil)
        scanner.loadFeeder(pages: 4)
        #expect(try await scanner.scan(ScanRequest(source: .feeder, expectedPages: nil), into: dir) { _ in }.count == 4)
        #expect((try FileManager.default.contentsOfDirectory(atPath: dir)).count == 6)
    }
}
