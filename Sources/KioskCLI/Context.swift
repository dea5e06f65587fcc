import Foundation
import KioskCore
import KioskService

/// Where a command writes and what it knows about its surroundings; tests inject their own.
public struct CLIContext: Sendable {
    public var stdout: @Sendable (String) -> Void
    public var stderr: @Sendable (String) -> Void
    public var environment: [String: String]
    public var currentDirectory: String
    public var executablePath: String?
    public var now: @Sendable () -> Date
    /// One line of standard input without its newline; nil at end of input (`staff pin-hash` reads the PIN).
    public var readLine: @Sendable () -> String?

    public init(
        stdout: @escaping @Sendable (String) -> Void, stderr: @escaping @Sendable (String) -> Void,
        environment: [String: String], currentDirectory: String, executablePath: String?,
        now: @escaping @Sendable () -> Date = { Date() },
        readLine: @escaping @Sendable () -> String? = { Swift.readLine(strippingNewline: true) }
    ) {
        self.readLine = readLine
        self.stdout = stdout
        self.stderr = stderr
        self.environment = environment
        self.currentDirectory = currentDirectory
        self.executablePath = executablePath
        self.now = now
    }

    /// The real process: stdout, stderr, environment, working directory.
    public static func process() -> CLIContext {
        CLIContext(
            stdout: { text in FileHandle.standardOutput.write(Data(text.utf8)) },
            stderr: { text in FileHandle.standardError.write(Data(text.utf8)) },
            environment: ProcessInfo.processInfo.environment,
            currentDirectory: FileManager.default.currentDirectoryPath,
            executablePath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments.first)
    }

    /// Today's date in the kiosk's local time zone.
    public var today: CivilDate {
        let c = Calendar.current.dateComponents([.year, .month, .day], from: self.now())
        return CivilDate(year: c.year!, month: c.month!, day: c.day!)!
    }

    func print(_ line: String = "") { self.stdout(line + "\n") }

    func printJSON(_ value: some Encodable) throws(CLIError) {
        // The shared coder: sorted keys, and every instant ISO 8601 with offset (never seconds since 2001).
        let encoder = KioskJSON.encoder(pretty: true)
        do {
            self.stdout(String(decoding: try encoder.encode(value), as: UTF8.self) + "\n")
        } catch {
            throw CLIError(.failure, code: "encode", id: "Gagal menyusun JSON: \(error)", en: "Cannot encode JSON: \(error)")
        }
    }

    func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : (self.currentDirectory as NSString).appendingPathComponent(path)
    }

    /// Reads a credential file (the Dinas token) with `SecretFile`, the check kioskd makes too.
    func readSecret(_ path: String, what: (id: String, en: String), option: String) throws(CLIError) -> String {
        do {
            return try SecretFile.read(self.resolve(path), what: what)
        } catch {
            var e = CLIError(control: error)
            e.field = option
            throw e
        }
    }

    func read(_ path: String, what: String) throws(CLIError) -> Data {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: self.resolve(path)))
        } catch {
            throw CLIError(.noInput, code: "no_input", id: "Tidak dapat membaca \(what) \(path).",
                           en: "Cannot read \(what) \(path).")
        }
    }
}
