/// Colours are xterm-256 palette indices; the theme is high contrast (white on black, yellow for focus).
public struct Style: Hashable, Sendable {
    public var fg: UInt8
    public var bg: UInt8
    public var bold: Bool

    public init(fg: UInt8, bg: UInt8, bold: Bool = false) {
        self.fg = fg
        self.bg = bg
        self.bold = bold
    }
}

/// The kiosk's high-contrast theme.
public enum Theme {
    public static let text = Style(fg: 231, bg: 16)
    public static let strong = Style(fg: 231, bg: 16, bold: true)
    public static let dim = Style(fg: 250, bg: 16)
    public static let title = Style(fg: 16, bg: 231, bold: true)
    public static let banner = Style(fg: 16, bg: 220, bold: true)
    public static let problem = Style(fg: 231, bg: 124, bold: true)
    public static let good = Style(fg: 16, bg: 40, bold: true)
    public static let button = Style(fg: 231, bg: 16, bold: true)
    public static let primary = Style(fg: 16, bg: 45, bold: true)
    public static let focused = Style(fg: 16, bg: 226, bold: true)
    public static let pressed = Style(fg: 16, bg: 231, bold: true)
    public static let disabled = Style(fg: 244, bg: 16)
}

public struct Cell: Hashable, Sendable {
    public var ch: Character
    public var style: Style

    public init(_ ch: Character, _ style: Style) {
        self.ch = ch
        self.style = style
    }

    public static let blank = Cell(" ", Theme.text)
}

public struct Rect: Hashable, Sendable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public func contains(x: Int, y: Int) -> Bool {
        x >= self.x && x < self.x + self.width && y >= self.y && y < self.y + self.height
    }
}

/// A frame: `width` × `height` cells of one column each. Text is cut at the edge, never wrapped here.
public struct Canvas: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int) {
        self.width = max(1, width)
        self.height = max(1, height)
        self.cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { self.cells[y * self.width + x] }
        set {
            guard x >= 0, y >= 0, x < self.width, y < self.height else { return }
            self.cells[y * self.width + x] = newValue
        }
    }

    /// Writes already-sanitized text (see `TerminalText.clean`) from (x, y); returns the column after it.
    @discardableResult
    public mutating func text(_ s: String, x: Int, y: Int, style: Style, maxWidth: Int? = nil) -> Int {
        guard y >= 0, y < self.height else { return x }
        let limit = min(self.width, x + (maxWidth ?? self.width))
        var col = x
        for ch in s {
            if col >= limit { break }
            if col >= 0 { self[col, y] = Cell(ch, style) }
            col += 1
        }
        return col
    }

    public mutating func fill(_ r: Rect, style: Style, ch: Character = " ") {
        for y in max(0, r.y)..<min(self.height, r.y + r.height) {
            for x in max(0, r.x)..<min(self.width, r.x + r.width) { self[x, y] = Cell(ch, style) }
        }
    }

    /// A UTF-8 box: light lines, or double lines for the focused target.
    public mutating func box(_ r: Rect, style: Style, double: Bool = false) {
        guard r.width >= 2, r.height >= 2 else { return }
        let (h, v, tl, tr, bl, br): (Character, Character, Character, Character, Character, Character) =
            double ? ("═", "║", "╔", "╗", "╚", "╝") : ("─", "│", "┌", "┐", "└", "┘")
        let right = r.x + r.width - 1, bottom = r.y + r.height - 1
        for x in r.x...right {
            self[x, r.y] = Cell(h, style)
            self[x, bottom] = Cell(h, style)
        }
        for y in r.y...bottom {
            self[r.x, y] = Cell(v, style)
            self[right, y] = Cell(v, style)
        }
        self[r.x, r.y] = Cell(tl, style)
        self[right, r.y] = Cell(tr, style)
        self[r.x, bottom] = Cell(bl, style)
        self[right, bottom] = Cell(br, style)
    }

    /// The screen as plain text lines (tests and logs).
    public var lines: [String] {
        (0..<self.height).map { y in String((0..<self.width).map { self[$0, y].ch }) }
    }
}
