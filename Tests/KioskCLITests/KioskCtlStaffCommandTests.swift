import Foundation
import KioskCLI
import KioskCore
import KioskSecurity
import Synchronization
import Testing

/// `kioskctl staff pin-hash` (issue 17): entries a bundle accepts and kioskd can verify; bad input refused.
@Suite struct KioskCtlStaffCommandTests {
    func pinHash(_ args: [String], stdin: String?) -> CtlResult {
        let out = Mutex(""), err = Mutex("")
        let context = CLIContext(
            stdout: { s in out.withLock { $0 += s } }, stderr: { s in err.withLock { $0 += s } },
            environment: [:], currentDirectory: packageRoot.path, executablePath: nil, readLine: { stdin })
        let status = KioskCtl.run(["staff", "pin-hash"] + args, context: context)
        return CtlResult(status: status, out: out.withLock { $0 }, err: err.withLock { $0 })
    }

    @Test func pinHashMakesAnEntryThatValidatesAndVerifies() throws {
        let r = self.pinHash(["--id", "sari", "--name", "Ibu Sari", "--role", "petugas"], stdin: "246810")
        #expect(r.status == 0, "\(r.err)")
        let entry = try KioskJSON.decode(KioskSettings.StaffPIN.self, from: Data(r.out.utf8))
        #expect(entry.staffID == "sari" && entry.name == "Ibu Sari" && entry.role == .petugas)
        #expect(entry.pinHash.hasPrefix("pbkdf2-sha256$100000$"))
        #expect(PBKDF2.verifyPIN("246810", against: entry.pinHash))
        #expect(!PBKDF2.verifyPIN("246811", against: entry.pinHash))
        var settings = KioskSettings.defaults(desaName: "Desa")
        settings.staffPins = [entry]
        try settings.validate(root: "kiosk")
        // A fresh salt per PIN: the same PIN twice gives two different entries.
        let again = try KioskJSON.decode(KioskSettings.StaffPIN.self, from: Data(
            self.pinHash(["--id", "sari", "--name", "Ibu Sari", "--role", "teknisi", "--iterations", "150000"], stdin: "246810").out.utf8))
        #expect(again.pinHash != entry.pinHash && again.pinHash.hasPrefix("pbkdf2-sha256$150000$") && again.role == .teknisi)
    }

    @Test func pinHashRefusesBadPINsRolesAndTooFewIterations() {
        let base = ["--id", "sari", "--name", "Ibu Sari", "--role", "petugas"]
        for pin in ["123", "1234567890123", "12a4", " 1234", ""] {
            let r = self.pinHash(base, stdin: pin)
            #expect(r.status == 65 && r.out.isEmpty, "PIN \(pin.debugDescription): \(r.status) \(r.err)")
        }
        #expect(self.pinHash(base, stdin: nil).status == 66)
        #expect(self.pinHash(base + ["--iterations", "99999"], stdin: "1234").status == 65)
        #expect(self.pinHash(["--id", "sari", "--name", "Ibu Sari", "--role", "admin"], stdin: "1234").status == 64)
        #expect(self.pinHash(["--id", "Sari!", "--name", "Ibu Sari", "--role", "petugas"], stdin: "1234").status == 65)
        #expect(ctl(["--help"]).out.contains("staff pin-hash --id ID"))
        #expect(ctl(["--help"]).out.contains("staff reprint DOCUMENT-ID --reason TEXT"))
    }
}
