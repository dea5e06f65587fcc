import KioskCore
import Testing
@testable import KioskUI

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite struct InputParserTests {
    @Test func keysAndControlBytes() {
        var p = InputParser()
        #expect(p.feed(bytes("a1\r\u{7F}\t"), now: 0) == [.key(.char("a")), .key(.char("1")), .key(.enter), .key(.backspace), .key(.tab)])
        #expect(p.feed([0x03], now: 0) == [.key(.ctrl("c"))])
        #expect(p.feed(bytes("\u{1B}[A\u{1B}[B\u{1B}[C\u{1B}[D\u{1B}[Z"), now: 0)
                == [.key(.up), .key(.down), .key(.right), .key(.left), .key(.backTab)])
        #expect(p.feed(bytes("\u{1B}OQ\u{1B}[24~\u{1B}[3~\u{1B}[6~"), now: 0)
                == [.key(.function(2)), .key(.function(12)), .key(.delete), .key(.pageDown)])
    }

    @Test func sequencesSplitAtEveryByte() {
        let input = "\u{1B}[<0;12;5M\u{1B}[<0;12;5mé\u{1B}OQx"
        var p = InputParser()
        var events: [InputEvent] = []
        for b in bytes(input) { events += p.feed([b], now: 0) }
        #expect(events == [.press(x: 11, y: 4), .release(x: 11, y: 4), .key(.char("é")), .key(.function(2)), .key(.char("x"))])
        #expect(!p.isPending)
    }

    @Test func sgrMouseOnlyPrimaryButtonCounts() {
        var p = InputParser()
        // Wheel (64), motion (32+0) and right button (2) are not touches; a modifier (ctrl = 16) still is.
        #expect(p.feed(bytes("\u{1B}[<64;3;3M\u{1B}[<32;3;3M\u{1B}[<2;3;3M\u{1B}[<16;1;1M"), now: 0) == [.press(x: 0, y: 0)])
        // Malformed coordinates are dropped without stalling what follows.
        #expect(p.feed(bytes("\u{1B}[<0;0;0M\u{1B}[<0;;Mq"), now: 0) == [.key(.char("q"))])
    }

    @Test func loneEscapeWaitsForTheTimeout() {
        var p = InputParser(escapeTimeout: 0.05)
        #expect(p.feed([0x1B], now: 1.0) == [])
        #expect(p.isPending)
        #expect(p.flush(now: 1.01) == [])  // too early: could still be a sequence
        #expect(p.flush(now: 1.06) == [.key(.escape)])
        #expect(!p.isPending)
        // ESC then "[" arriving in time is a sequence, not a lone ESC.
        #expect(p.feed([0x1B], now: 2.0) == [])
        #expect(p.feed(bytes("[B"), now: 2.01) == [.key(.down)])
        // ESC followed by a plain key: ESC, then the key.
        #expect(p.feed(bytes("\u{1B}x"), now: 3) == [.key(.escape), .key(.char("x"))])
        // A partial CSI that never completes is dropped at the timeout; the rest still parses.
        #expect(p.feed(bytes("\u{1B}[<0;5"), now: 4) == [])
        #expect(p.flush(now: 4.1) == [.key(.escape), .key(.char("[")), .key(.char("<")), .key(.char("0")), .key(.char(";")), .key(.char("5"))])
    }

    @Test func invalidUTF8IsSkipped() {
        var p = InputParser()
        #expect(p.feed([0xFF, 0x80, 0x61], now: 0) == [.key(.char("a"))])
        #expect(p.feed([0xE2, 0x82], now: 0) == [])  // incomplete "€"
        #expect(p.feed([0xAC], now: 0) == [.key(.char("€"))])
    }
}

@Suite struct RendererTests {
    @Test func firstFrameIsWholeThenOnlyChangedCells() {
        var r = Renderer()
        var c = Canvas(width: 80, height: 24)
        c.text("Beranda", x: 0, y: 0, style: Theme.title)
        let first = r.render(c)
        #expect(first.hasPrefix(EscapeSequence.resetStyle + EscapeSequence.clearScreen))
        #expect(first.contains("Beranda"))
        #expect(r.render(c) == "")  // nothing changed, nothing written
        c.text("X", x: 10, y: 5, style: Theme.strong)
        let diff = r.render(c)
        #expect(diff == EscapeSequence.moveTo(column: 10, row: 5) + EscapeSequence.sgr(Theme.strong) + "X" + EscapeSequence.resetStyle)
        // Adjacent changes share one cursor move and one colour change.
        c.text("NIK ****", x: 2, y: 7, style: Theme.text)
        let run = r.render(c)
        #expect(run.components(separatedBy: "\u{1B}[").count - 1 == 3)  // move, colour, reset
    }

    @Test func resizeAndInvalidateRedrawEverything() {
        var r = Renderer()
        _ = r.render(Canvas(width: 40, height: 12))
        #expect(r.render(Canvas(width: 41, height: 12)).contains(EscapeSequence.clearScreen))
        r.invalidate()
        #expect(r.render(Canvas(width: 41, height: 12)).contains(EscapeSequence.clearScreen))
    }

    @Test func halfBlockPreview() {
        // A page whose top half is black and bottom half white, drawn 20 columns × 10 rows.
        let luma = (0..<10_000).map { $0 / 100 < 50 ? UInt8(0) : UInt8(255) }
        var canvas = Canvas(width: 24, height: 12)
        Layout.drawPreview(PagePreview(width: 100, height: 100, luma: luma), into: &canvas, x: 2, y: 1, columns: 20, rows: 10)
        let cells = (1...10).flatMap { y in (2..<22).map { canvas[$0, y] } }
        #expect(cells.allSatisfy { $0.ch == "▀" })
        #expect(canvas[2, 1].style.fg == 232 && canvas[2, 1].style.bg == 232, "top half black")
        #expect(canvas[21, 10].style.fg == 255 && canvas[21, 10].style.bg == 255, "bottom half white")
        #expect(canvas[1, 1] == .blank && canvas[22, 1] == .blank)  // nothing drawn outside its box
    }

    @Test func terminalTextHasNoControlsAndOneColumnPerCharacter() {
        let hostile = "Dokumen\u{1B}[2J\u{1B}]0;owned\u{07} siap\u{9B}31m\u{202E}kiri\u{200B}\r\n漢字 e\u{301}"
        let clean = TerminalText.clean(hostile)
        #expect(!clean.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
        #expect(!clean.unicodeScalars.contains { (0x202A...0x202E).contains($0.value) || $0.value == 0x200B })
        #expect(clean == "Dokumen[2J]0;owned siap31mkiri ?? e")
        #expect(TerminalText.wrap("satu dua tiga empat", width: 9) == ["satu dua", "tiga", "empat"])
        #expect(TerminalText.wrap("abcdefghijkl", width: 5) == ["abcde", "fghij", "kl"])
    }
}

@Suite struct LabelFitTests {
    @Test func aLongLabelDropsItsExplanationBeforeItIsCut() {
        #expect(Layout.fit("Lanjut ▶", 20) == "Lanjut ▶")
        #expect(Layout.fit("Pencatatan Sipil (kelahiran, kematian, perkawinan, ...)", 38) == "Pencatatan Sipil")
        #expect(Layout.fit("Akta Kelahiran anak yang tidak diketahui asal-usulnya", 20) == "Akta Kelahiran anak…")
        #expect(Layout.fit("Warga negara Indonesia (WNI)", 10) == "Warga neg…")
        #expect(Layout.fit("(x)", 2) == "(…")
    }
}
