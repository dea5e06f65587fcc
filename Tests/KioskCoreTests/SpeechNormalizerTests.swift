import KioskCore
import Testing

@Suite struct SpeechNormalizerTests {
    @Test(arguments: [
        ("Biaya Rp 1.000.000", "Biaya satu juta rupiah"),
        ("Biaya: Rp 0 (gratis)", "Biaya: nol rupiah (gratis)"),
        ("Denda Rp1.500", "Denda seribu lima ratus rupiah"),
        ("Rp 250.000", "dua ratus lima puluh ribu rupiah"),
        ("Rp 11.000.000.000", "sebelas miliar rupiah"),
        ("Selesai 2026-12-22", "Selesai dua puluh dua Desember dua ribu dua puluh enam"),
        ("4 Desember 2026 pukul 10.15 WIB", "empat Desember dua ribu dua puluh enam pukul sepuluh lima belas WIB"),
        ("Jam 08:00–15:00", "Jam delapan tepat, lima belas tepat"),
        ("Kode 5Q75-9W9Z.", "Kode lima, ki, tujuh, lima; sembilan, we, sembilan, zet."),
        ("Pengaduan PGD-ABCD-2345", "Pengaduan pe, ge, de; a, be, ce, de; dua, tiga, empat, lima"),
        ("Nomor 081234567890", "Nomor nol delapan satu dua, tiga empat lima enam, tujuh delapan sembilan nol"),
        ("NIK 5371011708950003", "NIK nomor dirahasiakan"),
        ("NIK 5371********0003 terbaca", "NIK nomor dirahasiakan terbaca"),
        ("Lahir 17081995", "Lahir nomor dirahasiakan"),
        ("Langkah 3 dari 12", "Langkah tiga dari dua belas"),
        ("Tinta 5%", "Tinta lima persen"),
        ("Kembali ▶ Lanjut", "Kembali, Lanjut"),
        ("teks\u{1B}[2J bersih", "teks[duaJ bersih"),  // the ESC never reaches the synthesizer
    ])
    func indonesian(_ input: String, _ spoken: String) {
        #expect(SpeechNormalizer.normalize(input, language: .id) == spoken)
    }

    @Test(arguments: [
        ("Fee Rp 1.000.000", "Fee one million rupiah"),
        ("Due 2026-12-22", "Due twenty-two December two thousand twenty-six"),
        ("Code 5Q75-9W9Z", "Code five, Q, seven, five; nine, W, nine, Z"),
        ("NIK 5371011708950003", "NIK a private number"),
        ("121 days", "one hundred twenty-one days"),
    ])
    func english(_ input: String, _ spoken: String) {
        #expect(SpeechNormalizer.normalize(input, language: .en) == spoken)
    }

    @Test func numbersInWords() {
        #expect(SpeechNormalizer.words(0, .id) == "nol")
        #expect(SpeechNormalizer.words(111, .id) == "seratus sebelas")
        #expect(SpeechNormalizer.words(1_001, .id) == "seribu satu")
        #expect(SpeechNormalizer.words(2_019, .id) == "dua ribu sembilan belas")
        #expect(SpeechNormalizer.words(1_000_000_001, .id) == "satu miliar satu")
        #expect(SpeechNormalizer.words(Int.max, .id).contains("sembilan"), "too large: digit by digit, never a trap")
        #expect(SpeechNormalizer.words(-5, .id) == "lima")
    }
}
