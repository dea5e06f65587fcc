import KioskCore

/// What a touch target does: a session event, or something the UI handles itself.
public enum UIAction: Equatable, Sendable {
    case session(KioskSession.Event)
    case pageUp
    case pageDown
    /// Demo: tap the simulated test card.
    case tapTestCard
    /// "Dengarkan": say the screen's script again.
    case listen
}

public struct Button: Sendable, Equatable {
    public enum Tone: Sendable, Equatable { case normal, primary }

    public var label: String
    public var action: UIAction
    public var tone: Tone
    public var enabled: Bool
    /// A navigation button that may be left out when the bar is too narrow for every button at full label
    /// (the language toggle): a cut label ("Kemba…") is worse than a missing convenience.
    public var droppable: Bool

    public init(_ label: String, _ action: UIAction, tone: Tone = .normal, enabled: Bool = true, droppable: Bool = false) {
        self.label = TerminalText.clean(label)
        self.action = action
        self.tone = tone
        self.enabled = enabled
        self.droppable = droppable
    }
}

/// One block of a screen's content, laid out top to bottom.
public enum Item: Sendable, Equatable {
    case text(String, Style = Theme.text)
    case blank
    /// Buttons side by side (wrapped onto more bands when they do not fit); each band is 3 rows high.
    case buttons([Button], perRow: Int)
    case preview(PagePreview)
    /// A progress bar with a label.
    case progress(Double, String)
}

/// A screen as data: title, optional banner lines, content and the navigation bar.
public struct ScreenSpec: Sendable, Equatable {
    /// Identifies the screen for focus and paging: when it changes, both reset.
    public var key: String
    public var title: String
    public var banners: [String]
    public var items: [Item]
    public var nav: [Button]
    /// What went wrong, shown in a fixed place above the navigation bar.
    public var problem: String?
    /// Keeps the problem rows even when there is no problem, so a message never moves a button under the finger.
    public var reservesProblem: Bool
    /// The button at the right end of the title row ("Panggil petugas"), the same on every resident screen.
    public var corners: [Button]
    /// What an action did, shown in the problem rows when there is no problem (so it is seen on any page).
    public var note: String?

    public init(key: String, title: String, banners: [String] = [], items: [Item], nav: [Button],
                problem: String? = nil, reservesProblem: Bool = false, corners: [Button] = [], note: String? = nil) {
        self.corners = corners
        self.note = note.map(TerminalText.clean)
        self.key = key
        self.title = TerminalText.clean(title)
        self.banners = banners.map(TerminalText.clean)
        self.items = items
        self.nav = nav
        self.problem = problem.map(TerminalText.clean)
        self.reservesProblem = reservesProblem || problem != nil
    }
}

public struct Target: Sendable, Equatable {
    public var rect: Rect
    public var action: UIAction
    public var enabled: Bool
}

/// The result of a layout: the frame and where each touch target is.
public struct LaidOut: Sendable {
    public var canvas: Canvas
    public var targets: [Target]
    public var pages: Int
}

/// Lays a `ScreenSpec` out on a terminal of any size from 40×12 up: title on the first row, banners under it,
/// the problem rows and the navigation bar at the bottom, content paged in between (▲/▼ in the bar when it does
/// not fit). Buttons are 3 rows high from 20 rows up, one row (`│ label │`) on smaller terminals, whose cells
/// are big; there is always one column of air between two buttons.
public enum Layout {
    public static let targetHeight = 3
    public static let minimumSize = (width: 40, height: 12)
    /// Columns between two buttons side by side.
    public static let gap = 1

    /// How high a button is on a terminal `height` rows high.
    public static func bandHeight(_ height: Int) -> Int { height >= 20 ? targetHeight : 1 }

    /// Rows kept for the problem line(s): two on narrow screens, where messages wrap.
    public static func problemRows(width: Int) -> Int { width < 60 ? 2 : 1 }

    public static func render(_ spec: ScreenSpec, width: Int, height: Int, page: Int, focus: Int?, pressed: UIAction?)
        -> LaidOut
    {
        var canvas = Canvas(width: width, height: height)
        guard width >= minimumSize.width, height >= minimumSize.height else {
            let msg = TerminalText.wrap("Layar terlalu kecil (min 40×12) / Screen too small", width: width)
            for (i, l) in msg.enumerated() { canvas.text(l, x: 0, y: i, style: Theme.strong) }
            return LaidOut(canvas: canvas, targets: [], pages: 1)
        }
        // Title row, with the corner button at its right end: as high as any button, so the title band grows to
        // the button's height (the title on its middle row).
        let band = self.bandHeight(height)
        // The corner buttons ("Dengarkan", "Panggil petugas"), side by side, at most half the row.
        let cornerWidths = spec.corners.map { $0.label.count + 4 }
        let cornerWidth = cornerWidths.isEmpty ? 0
            : min(width / 2, cornerWidths.reduce(0, +) + gap * (cornerWidths.count - 1))
        let titleRows = cornerWidth > 0 ? band : 1
        canvas.fill(Rect(x: 0, y: 0, width: width, height: titleRows), style: Theme.title)
        canvas.text(" " + spec.title, x: 0, y: titleRows / 2, style: Theme.title,
                    maxWidth: width - cornerWidth - (cornerWidth > 0 ? 1 : 0))
        var top = titleRows
        for banner in spec.banners {
            for line in TerminalText.wrap(banner, width: width - 2).prefix(3) where top < height - 6 {
                canvas.fill(Rect(x: 0, y: top, width: width, height: 1), style: Theme.banner)
                canvas.text(" " + line, x: 0, y: top, style: Theme.banner)
                top += 1
            }
        }
        let blocks = self.blocks(spec.items, width: width)
        let problemRows = spec.reservesProblem ? self.problemRows(width: width) : 0
        // A screen without navigation buttons uses the bar's rows too, unless it needs paging.
        var navTop = height - band
        var pages = self.paginate(blocks, height: navTop - problemRows - top, band: band)
        if spec.nav.isEmpty {
            let whole = self.paginate(blocks, height: height - problemRows - top, band: band)
            if whole.count == 1 {
                pages = whole
                navTop = height
            }
        }
        let current = min(max(0, page), pages.count - 1)
        // Every button with its place, in focus order: content first, then the navigation bar.
        var placed: [(button: Button, rect: Rect)] = []
        var y = top
        for block in pages[current] {
            switch block {
            case .line(let text, let style):
                if style != Theme.text { canvas.fill(Rect(x: 0, y: y, width: width, height: 1), style: style) }
                canvas.text(text, x: 1, y: y, style: style, maxWidth: width - 2)
                y += 1
            case .band(let buttons):
                let rects = self.split(Rect(x: 0, y: y, width: width, height: band), count: buttons.count,
                                       weights: nil)
                placed += zip(buttons, rects).map { ($0, $1) }
                y += band
            case .preview(let p, let rows, let cols):
                self.drawPreview(p, into: &canvas, x: max(1, (width - cols) / 2), y: y, columns: cols, rows: rows)
                y += rows
            case .progress(let fraction, let label):
                let barWidth = width - 2
                let filled = Int((Double(barWidth) * min(1, max(0, fraction))).rounded(.down))
                canvas.text(String(repeating: "█", count: filled) + String(repeating: "░", count: barWidth - filled),
                            x: 1, y: y, style: Theme.strong)
                y += 1
                canvas.text(label, x: 1, y: y, style: Theme.text, maxWidth: width - 2)
                y += 1
            }
        }
        // Navigation bar: the screen's buttons plus paging when the content needs more than one page.
        if let (text, style) = spec.problem.map({ ("! " + $0, Theme.problem) }) ?? spec.note.map({ ($0, Theme.good) }),
           problemRows > 0 {
            let lines = TerminalText.wrap(text, width: width - 2)
            for (i, l) in lines.prefix(problemRows).enumerated() {
                canvas.fill(Rect(x: 0, y: navTop - problemRows + i, width: width, height: 1), style: style)
                canvas.text(l, x: 1, y: navTop - problemRows + i, style: style, maxWidth: width - 2)
            }
        }
        var nav = spec.nav
        if pages.count > 1 {
            // Paging goes before the last button, so "Lanjut ▶" keeps its place at the right end.
            let at = nav.last?.tone == .primary ? nav.count - 1 : nav.count
            nav.insert(contentsOf: [Button("▲", .pageUp, enabled: current > 0),
                                    Button("▼", .pageDown, enabled: current < pages.count - 1)], at: at)
        }
        // Every label whole: leave out droppable buttons while the bar is too narrow for them.
        while nav.reduce(0, { $0 + $1.label.count + 2 }) + gap * (nav.count - 1) > width,
              let i = nav.lastIndex(where: \.droppable) {
            nav.remove(at: i)
        }
        if navTop < height {
            let rects = self.split(Rect(x: 0, y: navTop, width: width, height: band), count: nav.count,
                                   weights: nav.map { $0.label.count + 4 })
            placed += zip(nav, rects).map { ($0, $1) }
        }
        if cornerWidth > 0 {
            let rects = self.split(Rect(x: width - cornerWidth, y: 0, width: cornerWidth, height: titleRows),
                                   count: spec.corners.count, weights: cornerWidths)
            placed += zip(spec.corners, rects).map { ($0, $1) }
        }
        for (i, p) in placed.enumerated() {
            self.drawButton(p.button, in: p.rect, on: &canvas, focused: focus == i, pressed: pressed == p.button.action)
        }
        let targets = placed.map { Target(rect: $0.rect, action: $0.button.action, enabled: $0.button.enabled) }
        return LaidOut(canvas: canvas, targets: targets, pages: pages.count)
    }

    // MARK: - Blocks and pages

    enum Block: Equatable {
        case line(String, Style)
        case band([Button])
        case preview(PagePreview, rows: Int, columns: Int)
        case progress(Double, String)
    }

    static func blocks(_ items: [Item], width: Int) -> [Block] {
        var out: [Block] = []
        for item in items {
            switch item {
            case .text(let s, let style):
                for l in TerminalText.wrap(TerminalText.clean(s), width: width - 2) { out.append(.line(l, style)) }
            case .blank:
                out.append(.line("", Theme.text))
            case .buttons(let buttons, let perRow):
                var band: [Button] = []
                var used = 0
                for b in buttons {
                    let need = b.label.count + 2
                    let gaps = band.count * gap
                    if !band.isEmpty, band.count >= max(1, perRow) || used + need + gaps > width {
                        out.append(.band(band))
                        band = []
                        used = 0
                    }
                    band.append(b)
                    used += need
                }
                if !band.isEmpty { out.append(.band(band)) }
            case .preview(let p):
                // One cell shows 1×2 pixels; keep the page's aspect within 36 columns × 8 rows.
                var cols = min(width - 2, 36, p.width)
                var rows = max(1, (p.height * cols / max(1, p.width) + 1) / 2)
                if rows > 8 {
                    rows = 8
                    cols = max(1, rows * 2 * p.width / max(1, p.height))
                }
                out.append(.preview(p, rows: rows, columns: cols))
            case .progress(let f, let label):
                out.append(.progress(f, TerminalText.clean(label)))
            }
        }
        return out
    }

    static func height(_ b: Block, band: Int) -> Int {
        switch b {
        case .line: return 1
        case .band: return band
        case .preview(_, let rows, _): return rows
        case .progress: return 2
        }
    }

    static func paginate(_ blocks: [Block], height: Int, band: Int = targetHeight) -> [[Block]] {
        var pages: [[Block]] = [[]]
        var used = 0
        for b in blocks {
            let h = min(self.height(b, band: band), height)
            if used + h > height, !pages[pages.count - 1].isEmpty {
                pages.append([])
                used = 0
            }
            // A blank line at the top of a page wastes space.
            if used == 0, case .line("", _) = b, pages.count > 1 { continue }
            pages[pages.count - 1].append(b)
            used += h
        }
        return pages
    }

    /// Splits a band into `count` rectangles with a 1-column gap; widths follow `weights` when given.
    static func split(_ r: Rect, count: Int, weights: [Int]?) -> [Rect] {
        guard count > 0 else { return [] }
        let available = r.width - gap * (count - 1)
        var widths: [Int]
        if let weights {
            let total = max(1, weights.reduce(0, +))
            widths = weights.map { max(3, available * $0 / total) }
        } else {
            widths = Array(repeating: available / count, count: count)
        }
        // Spread what is left one column at a time, so equal buttons stay equal within one column.
        var left = available - widths.reduce(0, +)
        while left < 0, let j = widths.indices.max(by: { widths[$0] < widths[$1] }), widths[j] > 1 {
            widths[j] -= 1
            left += 1
        }
        var i = 0
        while left > 0 {
            widths[i % count] += 1
            left -= 1
            i += 1
        }
        var rects: [Rect] = []
        var x = r.x
        for w in widths {
            rects.append(Rect(x: x, y: r.y, width: w, height: r.height))
            x += w + gap
        }
        return rects
    }

    static func drawButton(_ b: Button, in r: Rect, on canvas: inout Canvas, focused: Bool, pressed: Bool) {
        let style: Style
        if !b.enabled {
            style = Theme.disabled
        } else if pressed {
            style = Theme.pressed
        } else if focused {
            style = Theme.focused
        } else if b.tone == .primary {
            style = Theme.primary
        } else {
            style = Theme.button
        }
        canvas.fill(r, style: style)
        if r.height >= 3 {
            canvas.box(r, style: style, double: focused)
        } else {
            // One row: the edges drawn as bars, so two buttons never read as one.
            let bar: Character = focused ? "║" : "│"
            canvas[r.x, r.y] = Cell(bar, style)
            canvas[r.x + r.width - 1, r.y] = Cell(bar, style)
        }
        let inner = r.width - 2
        var label = b.label
        label = Self.fit(label, inner)
        let x = r.x + 1 + max(0, (inner - label.count) / 2)
        canvas.text(label, x: x, y: r.y + r.height / 2, style: style, maxWidth: inner)
    }

    /// A label within `width` columns: whole if it fits; else without its trailing explanation in parentheses
    /// ("Pencatatan Sipil (kelahiran, …)" → "Pencatatan Sipil"), so a narrow screen shows words, not a cut;
    /// cut with "…" only when even that does not fit.
    static func fit(_ label: String, _ width: Int) -> String {
        guard label.count > width else { return label }
        if label.hasSuffix(")"), let open = label.range(of: " (", options: .backwards) {
            let short = String(label[..<open.lowerBound])
            if !short.isEmpty, short.count <= width { return short }
        }
        return String(label.prefix(max(0, width - 1))) + "…"
    }

    /// A scanned page in half blocks: each cell shows two pixels (upper = foreground, lower = background).
    static func drawPreview(_ p: PagePreview, into canvas: inout Canvas, x: Int, y: Int, columns: Int, rows: Int) {
        guard p.width > 0, p.height > 0, columns > 0, rows > 0 else { return }
        func luma(_ px: Int, _ py: Int) -> UInt8 {
            let sx = min(p.width - 1, px * p.width / columns)
            let sy = min(p.height - 1, py * p.height / (rows * 2))
            return p.luma[sy * p.width + sx]
        }
        for row in 0..<rows {
            for col in 0..<columns {
                let top = Self.gray(luma(col, row * 2)), bottom = Self.gray(luma(col, row * 2 + 1))
                canvas[x + col, y + row] = Cell("▀", Style(fg: top, bg: bottom))
            }
        }
    }

    static func gray(_ l: UInt8) -> UInt8 { 232 + UInt8(min(23, Int(l) * 24 / 256)) }
}
