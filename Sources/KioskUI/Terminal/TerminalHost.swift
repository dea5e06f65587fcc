import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a `KioskApp` in the current terminal: raw mode and the alternate screen, input from a read source on
/// stdin, SIGWINCH for live resize, a 1 s clock, and SIGTERM/SIGINT/SIGHUP restoring the terminal before exit.
@MainActor
public final class TerminalHost {
    private var sources: [any DispatchSourceProtocol] = []
    private let app: KioskApp
    private let input: Int32

    public init(app: KioskApp, input: Int32 = 0) {
        self.app = app
        self.input = input
    }

    /// Starts everything on the main queue; returns at once (call `dispatchMain()` after).
    public func start(noticeInterval: Double = 2) {
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
                self.app.input(Array(buf[0..<n]))
                if self.app.inputPending {
                    DispatchQueue.main.asyncAfter(deadline: .now() + self.app.escapeTimeout + 0.005) {
                        MainActor.assumeIsolated { self.app.flushInput() }
                    }
                }
            }
        }
        read.resume()
        self.sources.append(read)
        let timer = DispatchSource.makeTimerSource(queue: .main)
        timer.schedule(deadline: .now() + 1, repeating: 1)
        timer.setEventHandler { [weak self] in MainActor.assumeIsolated { self?.app.tick() } }
        timer.resume()
        self.sources.append(timer)
        let app = self.app
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

    private func resized() {
        if let s = RawMode.size(of: 1) ?? RawMode.size(of: self.input) { self.app.resize(width: s.width, height: s.height) }
    }

    /// Restores the terminal and exits.
    public static func quit(status: Int32) -> Never {
        RawMode.restore()
        exit(status)
    }
}
