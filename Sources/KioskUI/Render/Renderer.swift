/// Turns frames into terminal output, writing only the cells that changed since the last frame: cursor moves
/// are skipped for adjacent cells and colours are set only when they change.
public struct Renderer: Sendable {
    private var previous: Canvas?

    public init() {}

    /// Forgets the last frame, so the next one is drawn whole (after a resize or a session wipe).
    public mutating func invalidate() { self.previous = nil }

    public mutating func render(_ frame: Canvas) -> String {
        var out = ""
        out.reserveCapacity(frame.width * 4)
        let full = self.previous.map { $0.width != frame.width || $0.height != frame.height } ?? true
        var style: Style? = nil
        if full {
            out += EscapeSequence.resetStyle + EscapeSequence.clearScreen
        }
        var cursor: (x: Int, y: Int)? = nil
        for y in 0..<frame.height {
            for x in 0..<frame.width {
                let cell = frame[x, y]
                if !full, let prev = self.previous, prev[x, y] == cell {
                    // An unchanged cell between changes a few columns apart: rewriting it is cheaper than a move.
                    guard let c = cursor, c == (x, y), style == cell.style,
                          (x + 1..<min(frame.width, x + 4)).contains(where: { prev[$0, y] != frame[$0, y] })
                    else { continue }
                }
                if cursor == nil || cursor! != (x, y) { out += EscapeSequence.moveTo(column: x, row: y) }
                if style != cell.style {
                    out += EscapeSequence.sgr(cell.style)
                    style = cell.style
                }
                out.append(cell.ch)
                cursor = (x + 1, y)
            }
        }
        if style != nil { out += EscapeSequence.resetStyle }
        self.previous = frame
        return out
    }
}

/// The escape sequences the kiosk writes.
public enum EscapeSequence {
    public static let esc = "\u{1B}"
    public static let alternateScreenOn = "\u{1B}[?1049h"
    public static let alternateScreenOff = "\u{1B}[?1049l"
    public static let hideCursor = "\u{1B}[?25l"
    public static let showCursor = "\u{1B}[?25h"
    public static let autowrapOff = "\u{1B}[?7l"
    public static let autowrapOn = "\u{1B}[?7h"
    /// Button press/release reporting in SGR encoding: touches arrive as mouse clicks.
    public static let mouseOn = "\u{1B}[?1000h\u{1B}[?1006h"
    public static let mouseOff = "\u{1B}[?1006l\u{1B}[?1000l"
    public static let clearScreen = "\u{1B}[2J"
    public static let resetStyle = "\u{1B}[0m"

    public static func moveTo(column: Int, row: Int) -> String { "\u{1B}[\(row + 1);\(column + 1)H" }

    public static func sgr(_ s: Style) -> String {
        "\u{1B}[0;\(s.bold ? "1;" : "")38;5;\(s.fg);48;5;\(s.bg)m"
    }

    /// What the kiosk writes when it takes the terminal, and what puts it back.
    public static let enter = alternateScreenOn + hideCursor + autowrapOff + mouseOn + clearScreen
    public static let leave = mouseOff + resetStyle + autowrapOn + showCursor + alternateScreenOff
}
