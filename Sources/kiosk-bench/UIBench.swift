import Foundation
import KioskCore
import KioskUI

/// Full-frame render time (screen built, laid out and encoded for the terminal) and the bytes a one-field
/// update writes (one more NIK digit typed), at 80×24 and 160×50.
func benchUI() throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: "\(findProfiles())/kota-kupang.json"))
    let profile = try JurisdictionProfile.load(data)
    let info = KioskInfo(desaName: "Kelurahan Oebobo", openingHours: ["Senin–Jumat 08.00–15.00 WITA"],
                         announcement: LocalizedText("Layanan adminduk gratis (Rp 0).", "Free."), profile: profile,
                         idleTimeoutSeconds: 90, demo: false)
    let today = CivilDate(iso: "2026-11-22")!
    var session = KioskSession(profile: profile, today: today, now: 0, idleTimeout: 90)
    _ = session.handle(.open(.apply), now: 0)
    _ = session.handle(.apply(.chooseCategory("pencatatan-sipil")), now: 0)
    _ = session.handle(.apply(.chooseService("birth")), now: 0)
    for c in "537101" { _ = session.handle(.apply(.key(c)), now: 0) }
    var next = session
    _ = next.handle(.apply(.key("1")), now: 0)

    func frame(_ s: KioskSession, _ w: Int, _ h: Int) -> Canvas {
        let built = Screens(info: info, notices: [], width: w, height: h, language: .id).build(s, idle: .active)
        return Layout.render(built.spec, width: w, height: h, page: 0, focus: nil, pressed: nil).canvas
    }

    for (w, h) in [(80, 24), (160, 50)] {
        // Full frame: build + layout + encode everything (what a resize or a wipe costs).
        var times: [Double] = []
        var bytes = 0
        for _ in 0..<20 { _ = frame(session, w, h) }
        for _ in 0..<500 {
            let t0 = monotonicSeconds()
            var r = Renderer()
            let out = r.render(frame(session, w, h))
            times.append(monotonicSeconds() - t0)
            bytes = out.utf8.count
        }
        times.sort()
        print("ui \(w)x\(h): full frame median \(String(format: "%.3f", percentile(times, 50) * 1000)) ms, "
              + "p99 \(String(format: "%.3f", percentile(times, 99) * 1000)) ms, \(bytes) bytes (goal ≤ 2 ms)")
        // One-field update: the NIK gets one more digit; only the changed cells are written.
        var updates: [Double] = []
        var diffBytes = 0
        for _ in 0..<500 {
            var r = Renderer()
            _ = r.render(frame(session, w, h))
            let t0 = monotonicSeconds()
            let out = r.render(frame(next, w, h))
            updates.append(monotonicSeconds() - t0)
            diffBytes = out.utf8.count
        }
        updates.sort()
        print("ui \(w)x\(h): one-field update \(diffBytes) bytes (goal ≤ 1024), median "
              + "\(String(format: "%.3f", percentile(updates, 50) * 1000)) ms")
    }
}
