import Foundation
import KioskCore
import KioskDevices

/// `kioskctl voice normalize|render`: what the kiosk would say, and the WAV it would play (issue 19).
enum VoiceCommands {
    static func language(_ args: Arguments) throws(CLIError) -> Language {
        switch args.value("lang") ?? "id" {
        case "id": return .id
        case "en": return .en
        default: throw .usage("--lang must be id or en", id: "--lang harus id atau en")
        }
    }

    static func text(_ args: Arguments) throws(CLIError) -> String {
        let text = args.positionals.joined(separator: " ")
        guard !text.isEmpty, text.count <= 2000 else {
            throw .usage("give the TEXT to speak (1…2000 characters)", id: "berikan TEXT yang diucapkan (1…2000 karakter)")
        }
        return text
    }

    static func normalize(_ raw: [String], context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["lang"], flags: ["json"])
        let language = try self.language(args)
        let spoken = SpeechNormalizer.normalize(try self.text(args), language: language)
        if args.has("json") {
            try context.printJSON(["spoken": spoken, "language": language.rawValue])
        } else {
            context.print(spoken)
        }
    }

    static func render(_ raw: [String], context: CLIContext) throws(CLIError) {
        let args = try Arguments(raw, options: ["lang", "out", "volume"], flags: ["json"])
        let language = try self.language(args)
        guard let out = args.value("out") else { throw .usage("--out F.wav is required", id: "--out F.wav wajib") }
        let volume = Int(args.value("volume") ?? "100") ?? -1
        guard (0...200).contains(volume) else { throw .usage("--volume must be 0…200", id: "--volume harus 0…200") }
        let spoken = SpeechNormalizer.normalize(try self.text(args), language: language)
        do throws(EspeakVoice.RenderError) {
            try EspeakVoice.renderWAV(spoken, language: language, volume: volume, to: out)
        } catch {
            throw CLIError(.cantCreate, code: "voice_render", id: "Suara tidak dapat dibuat: \(error)", en: "Cannot render the speech: \(error)")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
        if args.has("json") {
            try context.printJSON(["out": out, "spoken": spoken, "bytes": String(size)])
        } else {
            context.print("\(out): \(size) bytes — \(spoken)")
        }
    }
}
