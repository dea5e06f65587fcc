import Foundation
import KioskCore
import Synchronization

/// How a USB-serial card reader talks, from its hardware profile: a line per event.
public struct ReaderLineProtocol: Sendable, Equatable, Codable {
    /// Text before the NIK on a tap/insert line, e.g. "NIK:" (then the 16 digits).
    public var cardPrefix: String
    /// The whole line the reader sends when the card is taken away, e.g. "REMOVED".
    public var removedLine: String
    public var baud: Int
    /// Seconds in which a repeated read of the same card is ignored.
    public var debounceSeconds: Double

    public init(cardPrefix: String = "NIK:", removedLine: String = "REMOVED", baud: Int = 9600, debounceSeconds: Double = 2) {
        self.cardPrefix = cardPrefix
        self.removedLine = removedLine
        self.baud = baud
        self.debounceSeconds = debounceSeconds
    }

    enum CodingKeys: String, CodingKey {
        case baud
        case cardPrefix = "card_prefix"
        case removedLine = "removed_line"
        case debounceSeconds = "debounce_seconds"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(cardPrefix: try c.decode(String.self, forKey: .cardPrefix), removedLine: try c.decode(String.self, forKey: .removedLine),
                  baud: try c.decodeIfPresent(Int.self, forKey: .baud) ?? 9600,
                  debounceSeconds: try c.decodeIfPresent(Double.self, forKey: .debounceSeconds) ?? 2)
    }
}

public enum CardEvent: Sendable, Equatable {
    case cardInserted(NIK)
    case cardRemoved
    /// A card was read but its number is not a valid NIK (a damaged card, a foreign card, line noise).
    case unreadable(LocalizedText)
    /// The reader was unplugged or failed; the driver stopped.
    case readerGone(String)
}

/// Turns a reader's bytes into card events: pure, so the protocol is tested without a device.
public struct CardLineParser: Sendable {
    public let lineProtocol: ReaderLineProtocol
    private var partial: [UInt8] = []
    private var lastNIK: (String, Double)?
    private let today: @Sendable () -> CivilDate

    public init(_ lineProtocol: ReaderLineProtocol, today: @escaping @Sendable () -> CivilDate) {
        self.lineProtocol = lineProtocol
        self.today = today
    }

    /// Feeds bytes read at time `now` (seconds, monotonic); returns the complete events they make.
    public mutating func feed(_ bytes: some Sequence<UInt8>, now: Double) -> [CardEvent] {
        var events: [CardEvent] = []
        for b in bytes {
            if b == 10 || b == 13 {
                if !self.partial.isEmpty, let e = self.line(String(decoding: self.partial, as: UTF8.self), now: now) { events.append(e) }
                self.partial.removeAll()
            } else if self.partial.count < 256 {
                self.partial.append(b)
            } else {
                self.partial.removeAll()  // garbage without line ends: drop it
            }
        }
        return events
    }

    /// The reader went away: a partial line is dropped, never half-used.
    public mutating func reset() {
        self.partial.removeAll()
        self.lastNIK = nil
    }

    private mutating func line(_ raw: String, now: Double) -> CardEvent? {
        let text = raw.trimmingCharacters(in: .whitespaces)
        if text == self.lineProtocol.removedLine {
            guard self.lastNIK != nil else { return nil }
            self.lastNIK = nil
            return .cardRemoved
        }
        guard text.hasPrefix(self.lineProtocol.cardPrefix) else { return nil }  // banners, noise
        let digits = String(text.dropFirst(self.lineProtocol.cardPrefix.count)).trimmingCharacters(in: .whitespaces)
        if let (last, at) = self.lastNIK, last == digits, now - at < self.lineProtocol.debounceSeconds {
            self.lastNIK = (last, now)
            return nil
        }
        do {
            let nik = try NIK(digits, today: self.today())
            self.lastNIK = (digits, now)
            return .cardInserted(nik)
        } catch {
            return .unreadable(LocalizedText("Kartu tidak terbaca dengan benar. Coba tempelkan lagi atau ketik NIK.",
                                             "The card could not be read correctly. Tap it again or type the NIK."))
        }
    }
}

/// A card reader on a serial device node (USB-serial): raw termios at the profile's baud, a reader thread.
public final class SerialCardReader: Sendable {
    public let devnode: String
    public let lineProtocol: ReaderLineProtocol
    private let stopped = Atomic<Bool>(false)
    private let today: @Sendable () -> CivilDate

    public init(devnode: String, lineProtocol: ReaderLineProtocol, today: @escaping @Sendable () -> CivilDate) {
        self.devnode = devnode
        self.lineProtocol = lineProtocol
        self.today = today
    }

    public func stop() { self.stopped.store(true, ordering: .sequentiallyConsistent) }

    /// Opens the node and reads until stopped or the reader goes away (then `.readerGone` ends the stream).
    public func events() -> AsyncStream<CardEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: CardEvent.self)
        continuation.onTermination = { [weak self] _ in self?.stop() }
        let thread = Thread { [self] in
            self.run(continuation)
            continuation.finish()
        }
        thread.name = "kiosk-card-reader"
        thread.start()
        return stream
    }

    static func speed(_ baud: Int) -> speed_t {
        switch baud {
        case 1200: return speed_t(B1200)
        case 2400: return speed_t(B2400)
        case 4800: return speed_t(B4800)
        case 19200: return speed_t(B19200)
        case 38400: return speed_t(B38400)
        case 57600: return speed_t(B57600)
        case 115200: return speed_t(B115200)
        default: return speed_t(B9600)
        }
    }

    private func run(_ continuation: AsyncStream<CardEvent>.Continuation) {
        let fd = open(self.devnode, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            continuation.yield(.readerGone("open \(self.devnode): \(String(cString: strerror(errno)))"))
            return
        }
        defer { close(fd) }
        var t = termios()
        if tcgetattr(fd, &t) == 0 {
            cfmakeraw(&t)
            cfsetispeed(&t, Self.speed(self.lineProtocol.baud))
            cfsetospeed(&t, Self.speed(self.lineProtocol.baud))
            t.c_cflag |= tcflag_t(CLOCAL | CREAD)
            tcsetattr(fd, TCSANOW, &t)
        }
        var parser = CardLineParser(self.lineProtocol, today: self.today)
        var buffer = [UInt8](repeating: 0, count: 512)
        while !self.stopped.load(ordering: .sequentiallyConsistent) {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n = poll(&pfd, 1, 200)
            if n < 0 && errno != EINTR { break }
            if n <= 0 { continue }
            let count = read(fd, &buffer, buffer.count)
            if count > 0 {
                for e in parser.feed(buffer[0..<count], now: monotonicNow()) { continuation.yield(e) }
                continue
            }
            if count < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            // 0 (hang-up) or EIO: the reader is gone. A partial line is dropped; a card in it counts as removed.
            parser.reset()
            continuation.yield(.readerGone(count == 0 ? "hang-up" : String(cString: strerror(errno))))
            return
        }
    }
}

/// A reader for the demo: a key "taps" a test card.
public final class SimulatedCardReader: Sendable {
    /// The demo's test card (a valid Kota Kupang NIK): what F2 / `resident.card.tap_test` taps.
    public static let testCardDigits = "5371011708950003"

    private let continuation: AsyncStream<CardEvent>.Continuation
    public let events: AsyncStream<CardEvent>

    public init() {
        (self.events, self.continuation) = AsyncStream.makeStream(of: CardEvent.self)
    }

    public func tap(_ nik: NIK) { self.continuation.yield(.cardInserted(nik)) }
    public func remove() { self.continuation.yield(.cardRemoved) }
    public func unplug() { self.continuation.yield(.readerGone("simulated unplug")) }
}
