import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a `KioskApp` in the current terminal: raw mode and the alternate screen, input from a read source on
/// stdin, SIGWINCH for live resize, a 1 s clock, and SIGTERM/SIGINT/SIGHUP restoring the terminal before exit.
/// Until an app is attached (kiosk-ui before kioskd first answers) it shows the calm wait screen.
@MainActor
public final class TerminalHost {
    private var sources: [any DispatchSourceProtocol] = []
    public private(set) var app: KioskApp?
    private let input: Int32
    private let output: TerminalOutput
    private let demo: Bool
    private var waitRenderer = Renderer()
    private var waitFrame = 0
    private let noticeInterval: Double

    public init(app: KioskApp? = nil, input: Int32 = 0, output: TerminalOutput = FileTerminal(fd: 1), demo: Bool = false,
                noticeInterval: Double = 2) {
        self.app = app
        self.input = input
        self.output = output
        self.demo = demo || (app?.info.demo ?? false)
        self.noticeInterval = noticeInterval
    }

    /// Starts everything on the main queue; returns at once (call `dispatchMain()` after).
    public func start(noticeInterval: Double? = nil) {
        for sig in [SIGTERM, SIGINT, SIGHUP, SIGWINCH] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .main)
            s.setEventHandler { [weak self] in
                MainActor.assumeIsolated {
                    if sig == SIGWINCH {
                        self?.resized()
                    } else {
                        TerminalHost.quit(status: 0)
                    }
                }
            }
            s.resume()
            self.sources.append(s)
        }
        let fd = self.input
        let read = DispatchSource.makeReadSource(fileDescriptor: fd, queue: .main)
        read.setEventHandler { [weak self] in
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = Glibc.read(fd, &buf, buf.count)
            MainActor.assumeIsolated {
                guard let self else { return }
                if n == 0 { TerminalHost.quit(status: 0) }
                guard n > 0 else { return }
                guard let app = self.app else {
                    // Waiting for kioskd: only the demo's Ctrl-C does anything.
                    if self.demo && buf[0..<n].contains(0x03) { TerminalHost.quit(status: 0) }
                    return
                }
                app.input(Array(buf[0..<n]))
                if app.inputPending {
                    DispatchQueue.main.asyncAfter(deadline: .now() + app.escapeTimeout + 0.005) {
                        MainActor.assumeIsolated { app.flushInput() }
                    }
                }
            }
        }
        read.resume()
        self.sources.append(read)
        let timer = DispatchSource.makeTimerSource(queue: .main)
        timer.schedule(deadline: .now() + 1, repeating: 1)
        timer.setEventHandler { [weak self] in
            MainActor.assumeIsolated {
                guard let self else { return }
                if let app = self.app { app.tick() } else { self.drawWaiting() }
            }
        }
        timer.resume()
        self.sources.append(timer)
        if let app = self.app {
            self.started(app, noticeInterval: noticeInterval ?? self.noticeInterval)
        } else {
            self.drawWaiting()
        }
    }

    /// Hands the screen to `app` (kiosk-ui: once kioskd first answered).
    public func attach(_ app: KioskApp) {
        guard self.app == nil else { return }
        self.app = app
        if let s = RawMode.size(of: 1) ?? RawMode.size(of: self.input) { app.resize(width: s.width, height: s.height) }
        self.started(app, noticeInterval: self.noticeInterval)
    }

    private func started(_ app: KioskApp, noticeInterval: Double) {
        app.onQuit = { TerminalHost.quit(status: 0) }
        Task { await app.followCards() }
        Task {
            while !Task.isCancelled {
                await app.refreshNotices()
                try? await Task.sleep(nanoseconds: UInt64(noticeInterval * 1e9))
            }
        }
        app.draw()
    }

    private func drawWaiting() {
        let size = RawMode.size(of: 1) ?? RawMode.size(of: self.input) ?? (80, 24)
        let laid = Layout.render(Screens.waiting(frame: self.waitFrame, demo: self.demo), width: size.width, height: size.height,
                                 page: 0, focus: nil, pressed: nil)
        self.waitFrame += 1
        let out = self.waitRenderer.render(laid.canvas)
        if !out.isEmpty { self.output.write(out) }
    }

    private func resized() {
        guard let app = self.app else {
            self.waitRenderer.invalidate()
            self.drawWaiting()
            return
        }
        if let s = RawMode.size(of: 1) ?? RawMode.size(of: self.input) { app.resize(width: s.width, height: s.height) }
    }

    /// Restores the terminal and exits.
    public static func quit(status: Int32) -> Never {
        RawMode.restore()
        exit(status)
    }
}
