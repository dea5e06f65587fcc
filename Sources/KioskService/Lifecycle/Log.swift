#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KioskCore

/// kioskd's log: one line per event on stderr, with a level. Under journald (`JOURNAL_STREAM` set, or stderr not a
/// terminal) each line starts with the syslog priority prefix (`<6>`), which journald turns into the entry's
/// priority. Lines never carry protected data: callers log ids, tracking codes and counts, never a NIK or a
/// birth date; text from outside (the Dinas, a client) is made visible-safe here.
public struct KioskLog: Sendable {
    public enum Level: String, Sendable, Codable, Comparable, CaseIterable {
        case debug, info, warning, error

        var rank: Int { Level.allCases.firstIndex(of: self) ?? 0 }
        var syslogPriority: Int {
            switch self {
            case .debug: 7
            case .info: 6
            case .warning: 4
            case .error: 3
            }
        }

        public static func < (a: Level, b: Level) -> Bool { a.rank < b.rank }
    }

    public var level: Level
    private let prefixed: Bool
    private let sink: @Sendable (String) -> Void

    public init(level: Level = .info, sink: (@Sendable (String) -> Void)? = nil) {
        self.level = level
        let env = ProcessInfo.processInfo.environment
        self.prefixed = sink == nil && (env["JOURNAL_STREAM"] != nil || isatty(2) == 0)
        self.sink = sink ?? { line in
            line.withCString { p in _ = write(2, p, strlen(p)) }
        }
    }

    public func log(_ level: Level, _ component: String, _ message: @autoclosure () -> String) {
        guard level >= self.level else { return }
        let text = SafeText.visible(message())
        let prefix = self.prefixed ? "<\(level.syslogPriority)>" : ""
        self.sink("\(prefix)\(level.rawValue) \(component): \(text)\n")
    }

    public func debug(_ component: String, _ message: @autoclosure () -> String) { self.log(.debug, component, message()) }
    public func info(_ component: String, _ message: @autoclosure () -> String) { self.log(.info, component, message()) }
    public func warning(_ component: String, _ message: @autoclosure () -> String) { self.log(.warning, component, message()) }
    public func error(_ component: String, _ message: @autoclosure () -> String) { self.log(.error, component, message()) }
}
