import Foundation

/// A scanned page as terminal text, so the resident sees what was captured: each character cell shows two
/// pixels with the upper half block "▀" (foreground = upper pixel, background = lower), in the 24 gray levels
/// of the 256-color palette. Every line ends with a reset, so nothing leaks into the rest of the screen.
public enum TerminalPreview {
    public static func halfBlock(_ image: RasterImage, columns: Int, rows: Int) -> [String] {
        guard columns > 0, rows > 0 else { return [] }
        // Terminal cells are about twice as tall as wide: one cell = 1 pixel wide, 2 pixels tall keeps the aspect.
        let thumb = image.thumbnail(maxWidth: columns, maxHeight: rows * 2)
        var lines: [String] = []
        var y = 0
        while y < thumb.height {
            var line = ""
            var lastFG = -1, lastBG = -1
            for x in 0..<thumb.width {
                let fg = Self.gray(thumb.luma(x, y))
                let bg = y + 1 < thumb.height ? Self.gray(thumb.luma(x, y + 1)) : 0
                if fg != lastFG { line += "\u{1B}[38;5;\(fg)m"; lastFG = fg }
                if bg != lastBG { line += "\u{1B}[48;5;\(bg)m"; lastBG = bg }
                line += "▀"
            }
            lines.append(line + "\u{1B}[0m")
            y += 2
        }
        return lines
    }

    /// The palette index of the nearest of the 24 grays (232 black … 255 white).
    static func gray(_ luma: Int) -> Int { 232 + min(23, max(0, (luma * 24) / 256)) }
}
