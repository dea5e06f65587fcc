import Foundation
import Synchronization

/// An in-memory printer for the demo and flow tests: paper, toner and connection can be changed at will, and
/// every completed job is recorded.
public final class SimulatedPrinter: Printer {
    struct State {
        var reasons: Set<String> = []
        var accepting = true
        var stopped = false
        var jobs: [Int: (state: String, path: String, copies: Int)] = [:]
        var nextID = 1
        var printed: [String] = []
    }

    private let state = Mutex(State())

    public init() {}

    public func set(reason: String, _ on: Bool) { self.state.withLock { if on { $0.reasons.insert(reason) } else { $0.reasons.remove(reason) } } }
    public func setAccepting(_ on: Bool) { self.state.withLock { $0.accepting = on } }
    public var printed: [String] { self.state.withLock { $0.printed } }

    public func status() async throws(PrinterError) -> PrinterStatus {
        self.state.withLock { s in
            PrinterStatus(queue: "simulated", state: s.stopped ? "stopped" : (s.reasons.contains("offline") ? "offline" : "idle"),
                          reasons: s.reasons.sorted(), message: "", acceptingJobs: s.accepting,
                          deviceReachable: !s.reasons.contains("offline"),
                          markers: [.init(name: "Black", level: s.reasons.contains("toner-low") ? 5 : 80, type: "toner")])
        }
    }

    public func submit(path: String, title: String, copies: Int) async throws(PrinterError) -> Int {
        try self.state.withLock { (s: inout State) throws(PrinterError) -> Int in
            guard s.accepting else { throw .notAccepting("simulated queue rejects jobs") }
            let id = s.nextID
            s.nextID += 1
            s.jobs[id] = ("processing", path, copies)
            return id
        }
    }

    public func job(_ id: Int) async throws(PrinterError) -> (state: String, sheets: Int) {
        self.state.withLock { s in
            guard var j = s.jobs[id] else { return ("canceled", 0) }
            if j.state == "processing", s.reasons.isDisjoint(with: PrinterStatus.blocking) {
                j.state = "completed"
                s.jobs[id] = j
                s.printed.append(j.path)
            }
            return (j.state, j.state == "completed" ? j.copies : 0)
        }
    }

    public func cancel(_ id: Int) async { self.state.withLock { $0.jobs[id]?.state = "canceled" } }
    public func resume() async throws(PrinterError) { self.state.withLock { $0.stopped = false } }
}
