/// sysexits(3) codes used by kioskctl.
public enum ExitCode: Int32, Sendable {
    case ok = 0
    case failure = 1
    case usage = 64
    case dataError = 65
    case noInput = 66
    case cantCreate = 73
    case ioError = 74
    case tempFail = 75
    case noPermission = 77
    /// EX_CONFIG: the configuration file (kioskd.json) is not valid.
    case config = 78
}

/// A failure a command reports: an exit code, a bilingual message and, for data errors, the failing field.
public struct CLIError: Error, Sendable {
    public var exit: ExitCode
    public var code: String
    public var messageID: String
    public var messageEN: String
    public var field: String?

    public init(_ exit: ExitCode, code: String, id: String, en: String, field: String? = nil) {
        self.exit = exit
        self.code = code
        self.messageID = id
        self.messageEN = en
        self.field = field
    }

    static func usage(_ en: String, id: String? = nil) -> CLIError {
        CLIError(.usage, code: "usage", id: id ?? en, en: en)
    }
}

/// Parsed command-line arguments: positionals, valued options (repeatable) and boolean flags.
struct Arguments {
    var positionals: [String] = []
    var options: [String: [String]] = [:]
    var flags: Set<String> = []

    /// Parses `--name value`, `--name=value` and `--flag`; `--` ends option parsing.
    init(_ args: [String], options valued: Set<String>, flags known: Set<String>) throws(CLIError) {
        var i = 0
        var onlyPositionals = false
        while i < args.count {
            let arg = args[i]
            i += 1
            if onlyPositionals || !arg.hasPrefix("--") || arg == "-" {
                self.positionals.append(arg)
                continue
            }
            if arg == "--" {
                onlyPositionals = true
                continue
            }
            var name = String(arg.dropFirst(2))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if known.contains(name) {
                guard inline == nil else { throw .usage("--\(name) takes no value") }
                self.flags.insert(name)
            } else if valued.contains(name) {
                let value: String
                if let inline {
                    value = inline
                } else {
                    guard i < args.count else { throw .usage("--\(name) needs a value") }
                    value = args[i]
                    i += 1
                }
                self.options[name, default: []].append(value)
            } else {
                throw .usage("unknown option --\(name)")
            }
        }
    }

    func value(_ name: String) -> String? { self.options[name]?.last }
    func values(_ name: String) -> [String] { self.options[name] ?? [] }

    func required(_ name: String) throws(CLIError) -> String {
        guard let v = self.value(name) else { throw .usage("--\(name) is required") }
        return v
    }

    func has(_ flag: String) -> Bool { self.flags.contains(flag) }

    func positional(_ index: Int, _ what: String) throws(CLIError) -> String {
        guard index < self.positionals.count else { throw .usage("missing \(what)") }
        return self.positionals[index]
    }

    func noExtraPositionals(after count: Int) throws(CLIError) {
        if self.positionals.count > count {
            throw .usage("unexpected argument \(self.positionals[count])")
        }
    }
}
