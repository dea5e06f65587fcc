// kiosk-ui: the resident touchscreen UI as its own process (architecture.md, "Processes"). It renders in this
// terminal (tty1, or foot under cage) and reaches the kiosk only through kioskd's control socket; it holds no
// durable state. While kioskd is down or restarting it shows "Mohon tunggu sebentar / Please wait a moment" and
// reconnects by itself.
import Foundation
import KioskCore
import KioskDevices
import KioskService
import KioskUI

let usage = """
    Usage: kiosk-ui [--socket PATH] [--demo] [--no-voice] [--voice-cache DIR]
      --socket PATH   kioskd's control socket (default \(KioskdConfig.defaultSocket))
      --demo          demo mode: Ctrl-C ends the UI, the home screen shows the F2 test-card hint
      --no-voice      no spoken guidance (it is on when espeak-ng is installed and the bundle allows it)
      --voice-cache DIR  where rendered prompts are kept (default $CACHE_DIRECTORY/voice, else /tmp/kiosk-ui-voice-UID)
           kiosk-ui --version | --help
      Touch or click the buttons (SGR mouse = touch); Tab/arrows move focus, Enter presses; F12 switches language;
      Esc goes back.
    """

func fail(_ status: Int32, _ text: String) -> Never {
    FileHandle.standardError.write(Data("kiosk-ui: \(SafeText.visible(text))\n".utf8))
    exit(status)
}

var socket = ProcessInfo.processInfo.environment["KIOSK_SOCKET"] ?? KioskdConfig.defaultSocket
var demo = false
var voiceWanted = true
let env = ProcessInfo.processInfo.environment
var voiceCache = env["CACHE_DIRECTORY"].map { "\($0)/voice" } ?? "/tmp/kiosk-ui-voice-\(getuid())"
var arguments = Array(CommandLine.arguments.dropFirst())[...]
while let arg = arguments.popFirst() {
    switch arg {
    case "--socket":
        guard let path = arguments.popFirst(), path.hasPrefix("/") || path.hasPrefix(".") else {
            fail(64, "--socket perlu PATH / --socket needs a PATH; see kiosk-ui --help")
        }
        socket = path
    case "--demo": demo = true
    case "--no-voice": voiceWanted = false
    case "--voice-cache":
        guard let dir = arguments.popFirst(), dir.hasPrefix("/") else {
            fail(64, "--voice-cache perlu DIR absolut / --voice-cache needs an absolute DIR")
        }
        voiceCache = dir
    case "--version", "version":
        print("kiosk-ui \(KioskVersion.string)")
        exit(0)
    case "--help", "-h":
        print(usage)
        exit(0)
    default:
        fail(64, "argumen tidak dikenal \(arg) / unknown argument \(arg); see kiosk-ui --help")
    }
}
guard isatty(0) == 1, isatty(1) == 1 else { fail(64, "kiosk-ui perlu terminal / kiosk-ui needs a terminal") }

let services = RemoteKioskServices(socket: socket, demo: demo)
Task.detached { await services.run() }

@MainActor
func runUI() async {
    guard RawMode.enable(input: 0, output: 1) else { fail(71, "mode raw gagal / cannot set raw mode") }
    let output = FileTerminal(fd: 1)
    let host = TerminalHost(output: output, demo: demo)
    host.start()
    // One loop owns the update stream: the first `.available` builds the app, every later update goes to it.
    for await update in services.updates() {
        if let app = host.app {
            app.apply(update)
            continue
        }
        guard case .available(let info) = update else { continue }
        let size = RawMode.size(of: 1) ?? (80, 24)
        let app = KioskApp(services: services, info: info, output: output, width: size.width, height: size.height,
                           clock: { ProcessInfo.processInfo.systemUptime }, today: { services.today })
        if voiceWanted, EspeakVoice.available { app.voice = EspeakVoice(cacheDir: voiceCache) }
        host.attach(app)
    }
}

Task { @MainActor in await runUI() }
dispatchMain()
