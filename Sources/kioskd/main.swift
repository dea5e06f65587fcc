// kioskd: the kiosk service. `kioskd [--config FILE]` runs it in the foreground (systemd Type=notify). The resident
// UI is its own process (kiosk-ui) on the control socket; the demo is Kiosk/demo.sh, the same programs.
import Foundation
import KioskCore
import KioskService

let args = Array(CommandLine.arguments.dropFirst())

let usage = """
    Usage: kioskd [--config FILE]     run the kiosk service (default config \(KioskdConfig.defaultPath))
           kioskd --version           version and linked C libraries
           kioskd --help
    The touchscreen UI is kiosk-ui (kiosk-ui --help); the demo is `bash Kiosk/demo.sh`.
    """

func fail(_ status: Int32, _ text: String) -> Never {
    FileHandle.standardError.write(Data("kioskd: \(SafeText.visible(text))\n".utf8))
    exit(status)
}

switch args.first {
case "--version", "version":
    print("kioskd \(KioskVersion.string)")
    for (name, v) in LinkedLibraries.versions() {
        print("  \(name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(v)")
    }
    exit(0)
case "--demo":
    fail(64, "--demo tidak ada lagi: jalankan bash Kiosk/demo.sh / --demo is gone: run bash Kiosk/demo.sh (kioskd + kiosk-ui + the Dinas reference endpoint)")
case "--help", "-h":
    print(usage)
    exit(0)
default:
    var path = KioskdConfig.defaultPath
    var explicit = false
    var i = 0
    while i < args.count {
        switch args[i] {
        case "--config":
            guard i + 1 < args.count else { fail(64, "--config needs a FILE; see kioskd --help") }
            path = args[i + 1]
            explicit = true
            i += 2
        default:
            fail(64, "unknown argument \(args[i]); see kioskd --help")
        }
    }
    let settings: KioskdConfig
    do {
        if !explicit && !FileManager.default.fileExists(atPath: path) {
            fail(78, "konfigurasi \(path) tidak ada / config \(path) does not exist (use --config FILE)")
        }
        settings = try KioskdConfig.load(path: path)
    } catch {
        fail(78, error.description)
    }
    let log = KioskLog(level: KioskLog.Level(rawValue: settings.logLevel.rawValue) ?? .info)
    let kiosk: Kioskd
    do {
        kiosk = try Kioskd.boot(settings, log: log)
    } catch {
        fail(error.status, error.message.bilingual)
    }
    let notifier = SystemdNotifier()
    Task {
        let status = await kiosk.run(notifier: notifier)
        exit(status)
    }
    dispatchMain()
}
