import Foundation
import KioskCore
import KioskDevices
import KioskRuntime
import KioskSecurity
import KioskService
import KioskStore
import KioskUI

/// `kioskd --demo`: the full resident UI in the current terminal, on a temporary data directory, with real
/// devices where present and simulated ones otherwise, and an embedded Dinas that makes documents ready.
enum Demo {
    struct Options {
        var profile = "kota-kupang"
        var profilesDir: String?
        var dataDir: String?
        var printer = "auto"
        var scanner = "auto"
        var scannerOptions: [String] = []
        var cardReader = "auto"
        var idleSeconds: Int?
        var payload: String?
        var reviewSeconds = 8.0
        var desa = "Kelurahan Oebobo (demo)"
    }

    static let usage = """
        Usage: kioskd --demo [--profile ID] [--profiles-dir DIR] [--data-dir DIR] [--desa NAME]
                             [--printer auto|simulated|QUEUE] [--scanner auto|simulated|DEVICE] [--scanner-option OPT]...
                             [--card-reader auto|simulated|DEVNODE] [--idle SECONDS] [--review-seconds SECONDS]
                             [--config-payload FILE]   (a `kioskctl config init` payload: profile and kiosk settings)
          Keys: touch or click; Tab/arrows move focus, Enter presses; F2 taps the test card; F12 switches language;
                Esc goes back; Ctrl-C ends the demo.
        """

    static func parse(_ args: [String]) -> Options? {
        var o = Options()
        var i = 0
        func value() -> String? {
            i += 1
            return i < args.count ? args[i] : nil
        }
        while i < args.count {
            switch args[i] {
            case "--demo": break
            case "--profile": guard let v = value() else { return nil }; o.profile = v
            case "--profiles-dir": guard let v = value() else { return nil }; o.profilesDir = v
            case "--data-dir": guard let v = value() else { return nil }; o.dataDir = v
            case "--printer": guard let v = value() else { return nil }; o.printer = v
            case "--scanner": guard let v = value() else { return nil }; o.scanner = v
            case "--scanner-option": guard let v = value() else { return nil }; o.scannerOptions.append(v)
            case "--card-reader": guard let v = value() else { return nil }; o.cardReader = v
            case "--desa": guard let v = value() else { return nil }; o.desa = v
            case "--idle": guard let v = value().flatMap(Int.init), v >= 10 else { return nil }; o.idleSeconds = v
            case "--config-payload": guard let v = value() else { return nil }; o.payload = v
            case "--review-seconds": guard let v = value().flatMap(Double.init), v >= 0 else { return nil }; o.reviewSeconds = v
            default: return nil
            }
            i += 1
        }
        return o
    }

    nonisolated(unsafe) static var temporaryDir: String?

    static func fail(_ id: String, _ en: String, status: Int32 = 1) -> Never {
        FileHandle.standardError.write(Data("kioskd: \(id) / \(en)\n".utf8))
        exit(status)
    }

    static func profile(_ o: Options) -> JurisdictionProfile {
        guard let dir = ProfileSearch.find(
            explicit: o.profilesDir ?? ProcessInfo.processInfo.environment["KIOSK_PROFILES_DIR"],
            currentDirectory: FileManager.default.currentDirectoryPath, executablePath: CommandLine.arguments[0]),
            let data = FileManager.default.contents(atPath: "\(dir)/\(o.profile).json")
        else {
            fail("profil \(o.profile) tidak ditemukan", "profile \(o.profile) not found (use --profiles-dir)", status: 66)
        }
        do {
            return try JurisdictionProfile.load(data, root: o.profile)
        } catch {
            fail("profil \(o.profile) rusak: \(error)", "profile \(o.profile) is invalid: \(error)", status: 65)
        }
    }

    /// Sets everything up, then hands the terminal to the UI. Returns at once; the main queue runs the rest.
    @MainActor
    static func start(_ o: Options) async {
        guard isatty(0) == 1 else { fail("--demo perlu terminal", "--demo needs a terminal", status: 64) }
        // Configuration: a payload (jurisdiction + kiosk settings, as the Dinas signs them) or the defaults.
        let profile: JurisdictionProfile
        var kiosk: KioskSettings
        if let path = o.payload {
            guard let data = FileManager.default.contents(atPath: path) else {
                fail("tidak dapat membaca \(path)", "cannot read \(path)", status: 66)
            }
            do {
                let payload = try ConfigPayload.load(data)
                profile = payload.jurisdiction
                kiosk = payload.kiosk
            } catch {
                fail("konfigurasi \(path) rusak: \(error)", "config \(path) is invalid: \(error)", status: 65)
            }
        } else {
            profile = self.profile(o)
            kiosk = KioskSettings.defaults(desaName: o.desa)
            kiosk.announcement = LocalizedText("Layanan adminduk gratis (Rp 0).", "Population services are free (Rp 0).")
            kiosk.idleTimeoutSeconds = 90
        }
        if let idle = o.idleSeconds { kiosk.idleTimeoutSeconds = idle }
        let dataDir: String
        if let d = o.dataDir {
            dataDir = d
        } else {
            var template = Array("/tmp/kioskd-demo-XXXXXX".utf8CString)
            guard let p = mkdtemp(&template) else { fail("mkdtemp gagal", "mkdtemp failed") }
            dataDir = String(cString: p)
            temporaryDir = dataDir
            atexit {
                if let d = Demo.temporaryDir { try? FileManager.default.removeItem(atPath: d) }
            }
        }
        let store: KioskStore
        do {
            store = try KioskStore.open(directory: dataDir).0
            if try store.paperStatus(lowThreshold: 20).remaining == 0 { try store.restockPaper(sheets: 100, actor: "demo") }
        } catch {
            fail("penyimpanan: \(error)", "store: \(error)")
        }
        var summary: [String] = []
        // Printer: a CUPS queue when one answers, else simulated.
        var printer: (any Printer)? = nil
        if o.printer != "simulated" {
            if let p = try? await CUPSPrinter(queue: o.printer == "auto" ? nil : o.printer), (try? await p.status()) != nil {
                printer = p
                summary.append("printer: CUPS \(p.queue)")
            }
        }
        if printer == nil {
            printer = SimulatedPrinter()
            summary.append("printer: simulasi/simulated")
        }
        var scanSettings = ScanSettings()
        let scanner: any KioskDevices.Scanner
        // udev is asked once: which kiosk devices (tagged by Hardware/udev rules) are present.
        let present = o.scanner == "auto" || o.cardReader == "auto" ? UdevMonitor.enumerate() : []
        // Scanner: SANE when udev reports a kiosk scanner (or one is named), else simulated.
        let udevScanner = o.scanner == "auto" && present.contains { $0.role == .scanner }
        if o.scanner == "simulated" || (o.scanner == "auto" && !udevScanner) {
            scanner = SimulatedScanner(settings: scanSettings)
            summary.append("scanner: simulasi/simulated")
        } else {
            scanSettings.device = o.scanner == "auto" ? nil : o.scanner
            // SANE's test device draws a solid black page by default, which the blank check rightly refuses.
            scanSettings.extraOptions = o.scannerOptions.isEmpty && o.scanner == "test" ? ["--test-picture=Grid"] : o.scannerOptions
            scanner = SANEScanner(settings: scanSettings)
            summary.append("scanner: SANE \(scanSettings.device ?? "default")")
        }
        // Card reader: the device udev tagged as the kiosk's card reader, else the simulated one (F2).
        let today = profile.conventions.utcOffset.civilDate(of: Date())
        let testNIK = try! NIK("5371011708950003", today: today)
        var cards: AsyncStream<CardEvent>
        var simulated: (reader: SimulatedCardReader, nik: NIK)? = nil
        let devnode: String? = switch o.cardReader {
        case "simulated": nil
        case "auto": present.first { $0.role == .cardReader }?.devnode
        default: o.cardReader
        }
        if let devnode {
            cards = SerialCardReader(devnode: devnode, lineProtocol: ReaderLineProtocol()) {
                profile.conventions.utcOffset.civilDate(of: Date())
            }.events()
            summary.append("kartu/card: \(devnode)")
        } else {
            let reader = SimulatedCardReader()
            simulated = (reader, testNIK)
            cards = reader.events
            summary.append("kartu/card: simulasi/simulated (F2)")
        }
        let settings = ResidentSettings(kiosk: kiosk, demo: true, deviceSummary: summary.joined(separator: "; "))
        let services: KioskUseCases
        let demoKey: Ed25519PrivateKey
        do {
            demoKey = try Ed25519PrivateKey.generate()
            let live = LiveConfig(LiveConfiguration(profile: profile, settings: settings, version: 0, source: "demo"))
            services = try KioskUseCases(store: store, config: live, devices: FixedDevices(printer: printer, scanner: scanner),
                                         workDir: "\(dataDir)/scans-work", cards: cards,
                                         simulatedCard: simulated, trustedKeys: [demoKey.publicKey])
        } catch {
            fail("folder kerja: \(error)", "work folder: \(error)")
        }
        services.discardAllScans()
        let dinas = DemoDinas(store: store, profile: profile, reviewSeconds: o.reviewSeconds, signingKey: demoKey)
        Task.detached { await dinas.run() }
        let size = RawMode.size(of: 1) ?? (80, 24)
        let output = FileTerminal(fd: 1)
        let info = await services.info()
        let app = KioskApp(services: services, info: info, output: output, width: size.width, height: size.height,
                           clock: { monotonicNow() }, today: { profile.conventions.utcOffset.civilDate(of: Date()) })
        guard RawMode.enable(input: 0, output: 1) else { fail("mode raw gagal", "cannot set raw mode") }
        let host = TerminalHost(app: app)
        host.start()
        Demo.host = host
    }

    @MainActor static var host: TerminalHost?
}
