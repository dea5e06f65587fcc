#if canImport(Glibc)
import Glibc
#endif
@preconcurrency import Dispatch

/// SIGTERM and SIGINT as a callback (a DispatchSource per signal, as swift-service-lifecycle's UnixSignals does),
/// and SIGPIPE ignored: a client that hangs up mid-reply must never kill the daemon.
public final class StopSignals: Sendable {
    private let sources: [any DispatchSourceSignal]

    public init(_ signals: [Int32] = [SIGTERM, SIGINT], queue: DispatchQueue = DispatchQueue(label: "kioskd.signals"),
                handler: @escaping @Sendable (Int32) -> Void) {
        signal(SIGPIPE, SIG_IGN)
        var sources: [any DispatchSourceSignal] = []
        for sig in signals {
            // The default action (terminate) must not run; the source still sees the signal.
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { handler(sig) }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    public func cancel() {
        for s in self.sources { s.cancel() }
    }
}
