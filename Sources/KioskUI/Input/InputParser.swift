/// Keys the kiosk understands from a keyboard (kiosks without touch are driven by keys alone).
public enum Key: Hashable, Sendable {
    case char(Character)
    case enter, backspace, tab, backTab, escape
    case up, down, left, right, home, end, delete, pageUp, pageDown
    case function(Int)
    case ctrl(Character)
}

public enum InputEvent: Hashable, Sendable {
    case key(Key)
    /// A touch (left button) pressed or released at a 0-based column and row.
    case press(x: Int, y: Int)
    case release(x: Int, y: Int)
}

/// Decodes terminal input bytes into keys and touches. Pure and incremental: bytes may arrive split anywhere.
/// A lone ESC is only a key once `escapeTimeout` passed with nothing after it (`flush(now:)`).
public struct InputParser: Sendable {
    public var escapeTimeout: Double
    private var buffer: [UInt8] = []
    private var escapeSince: Double?

    public init(escapeTimeout: Double = 0.05) {
        self.escapeTimeout = escapeTimeout
    }

    /// Whether bytes wait for more input (the caller should call `flush` after `escapeTimeout`).
    public var isPending: Bool { !self.buffer.isEmpty }

    public mutating func feed(_ bytes: some Sequence<UInt8>, now: Double) -> [InputEvent] {
        self.buffer.append(contentsOf: bytes)
        return self.drain(now: now, force: false)
    }

    /// Emits what waits longer than the timeout: a lone ESC becomes `.escape`.
    public mutating func flush(now: Double) -> [InputEvent] {
        guard let since = self.escapeSince, now - since >= self.escapeTimeout else { return [] }
        return self.drain(now: now, force: true)
    }

    private mutating func drain(now: Double, force: Bool) -> [InputEvent] {
        var events: [InputEvent] = []
        var forcing = force
        while !self.buffer.isEmpty {
            switch Self.parse(self.buffer[...]) {
            case .event(let e, let used):
                if let e { events.append(e) }
                self.buffer.removeFirst(used)
                self.escapeSince = nil
            case .incomplete:
                if forcing {
                    // Give up on the partial sequence: ESC alone is a key, the rest is parsed afresh.
                    if self.buffer[0] == 0x1B { events.append(.key(.escape)) }
                    self.buffer.removeFirst()
                    self.escapeSince = nil
                    forcing = false
                    continue
                }
                if self.escapeSince == nil { self.escapeSince = now }
                return events
            }
        }
        return events
    }

    private enum Parsed {
        case event(InputEvent?, used: Int)
        case incomplete
    }

    private static func parse(_ b: ArraySlice<UInt8>) -> Parsed {
        let first = b[b.startIndex]
        switch first {
        case 0x1B:
            return self.parseEscape(b)
        case 0x0D, 0x0A: return .event(.key(.enter), used: 1)
        case 0x7F, 0x08: return .event(.key(.backspace), used: 1)
        case 0x09: return .event(.key(.tab), used: 1)
        case 0x01...0x1A: return .event(.key(.ctrl(Character(Unicode.Scalar(first + 0x60)))), used: 1)
        case 0x00, 0x1C...0x1F: return .event(nil, used: 1)
        case 0x20...0x7E: return .event(.key(.char(Character(Unicode.Scalar(first)))), used: 1)
        default:
            return self.parseUTF8(b)
        }
    }

    private static func parseUTF8(_ b: ArraySlice<UInt8>) -> Parsed {
        let first = b[b.startIndex]
        let length: Int
        switch first {
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return .event(nil, used: 1)  // stray continuation or invalid byte
        }
        guard b.count >= length else { return .incomplete }
        let bytes = Array(b.prefix(length))
        guard bytes.dropFirst().allSatisfy({ $0 & 0xC0 == 0x80 }),
              let s = String(validating: bytes, as: UTF8.self), let ch = s.first
        else { return .event(nil, used: 1) }
        return .event(.key(.char(ch)), used: length)
    }

    private static func parseEscape(_ b: ArraySlice<UInt8>) -> Parsed {
        let i = b.startIndex
        guard b.count >= 2 else { return .incomplete }
        let second = b[i + 1]
        if second == 0x4F {  // SS3: ESC O P..S = F1..F4, ESC O A..D arrows (application mode)
            guard b.count >= 3 else { return .incomplete }
            let k: Key? = switch b[i + 2] {
            case 0x50: .function(1)
            case 0x51: .function(2)
            case 0x52: .function(3)
            case 0x53: .function(4)
            case 0x41: .up
            case 0x42: .down
            case 0x43: .right
            case 0x44: .left
            case 0x48: .home
            case 0x46: .end
            default: nil
            }
            return .event(k.map(InputEvent.key), used: 3)
        }
        guard second == 0x5B else {
            // ESC then something else (Alt+key or a quick ESC): the ESC is a key; the rest is parsed next.
            return .event(.key(.escape), used: 1)
        }
        // CSI: parameters 0x30–0x3F, intermediates 0x20–0x2F, final 0x40–0x7E.
        var j = i + 2
        while j < b.endIndex, (0x20...0x3F).contains(b[j]) { j += 1 }
        guard j < b.endIndex else { return b.count > 32 ? .event(nil, used: b.count) : .incomplete }
        let final = b[j]
        let params = String(decoding: b[(i + 2)..<j], as: UTF8.self)
        let used = j - i + 1
        guard (0x40...0x7E).contains(final) else { return .event(nil, used: used) }
        if params.hasPrefix("<"), final == 0x4D || final == 0x6D {
            let parts = params.dropFirst().split(separator: ";").compactMap { Int($0) }
            guard parts.count == 3 else { return .event(nil, used: used) }
            let (button, x, y) = (parts[0], parts[1] - 1, parts[2] - 1)
            // Only the primary button (a finger); wheel (64+) and motion (32+) are ignored.
            guard button & ~0b11100 == 0, x >= 0, y >= 0 else { return .event(nil, used: used) }
            return .event(final == 0x4D ? .press(x: x, y: y) : .release(x: x, y: y), used: used)
        }
        let key: Key? = switch (final, params) {
        case (0x41, _): .up
        case (0x42, _): .down
        case (0x43, _): .right
        case (0x44, _): .left
        case (0x48, _): .home
        case (0x46, _): .end
        case (0x5A, _): .backTab
        case (0x7E, "1"), (0x7E, "7"): .home
        case (0x7E, "4"), (0x7E, "8"): .end
        case (0x7E, "3"): .delete
        case (0x7E, "5"): .pageUp
        case (0x7E, "6"): .pageDown
        case (0x7E, "11"): .function(1)
        case (0x7E, "12"): .function(2)
        case (0x7E, "13"): .function(3)
        case (0x7E, "14"): .function(4)
        case (0x7E, "15"): .function(5)
        case (0x7E, "17"): .function(6)
        case (0x7E, "18"): .function(7)
        case (0x7E, "19"): .function(8)
        case (0x7E, "20"): .function(9)
        case (0x7E, "21"): .function(10)
        case (0x7E, "23"): .function(11)
        case (0x7E, "24"): .function(12)
        default: nil
        }
        return .event(key.map(InputEvent.key), used: used)
    }
}
