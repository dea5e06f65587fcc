import Foundation

/// Watches a printer for the daemon: polls its status, publishes every change, and resumes a queue that a fault
/// paused once nothing blocks it any more (CUPS's stop-printer error policy leaves it paused after a refill).
public final class PrinterWatcher: Sendable {
    public enum Event: Sendable, Equatable {
        case status(PrinterStatus)
        case unavailable(String)
        /// The watcher resumed a queue a fault had stopped.
        case resumed
    }

    private let printer: any Printer
    private let interval: Double

    /// - Parameter interval: seconds between polls (the daemon uses 5 s: a refill is picked up well within 30 s).
    public init(printer: any Printer, interval: Double = 5) {
        self.printer = printer
        self.interval = interval
    }

    /// Events until the consuming task is cancelled: the first status at once, then each change.
    public func events() -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(16))
        let printer = self.printer, interval = self.interval
        let task = Task {
            var last: Event?
            while !Task.isCancelled {
                let event: Event
                do throws(PrinterError) {
                    event = .status(try await printer.status())
                } catch {
                    event = .unavailable(error.message.bilingual)
                }
                if event != last { continuation.yield(event) }
                last = event
                if case .status(let s) = event, s.state == "stopped", await printer.recoverIfPossible() {
                    continuation.yield(.resumed)
                    last = nil
                    continue
                }
                try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
