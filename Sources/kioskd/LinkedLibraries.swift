// Version probes of the linked C libraries: proves each system-library target links, and tells staff
// what a kiosk image carries. Each call is a plain version getter; no handles are created.
import CCUPS
import CCrypto
import CQREncode
import CSQLite
import CTurboJPEG
import CUdev

enum LinkedLibraries {
    static func versions() -> [(String, String)] {
        [
            ("sqlite3", String(cString: sqlite3_libversion())),
            ("libcups", "\(CUPS_VERSION_MAJOR).\(CUPS_VERSION_MINOR).\(CUPS_VERSION_PATCH)"),
            ("libudev", udev_new().map { udev_unref($0); return "present" } ?? "unavailable"),
            ("libcrypto", String(cString: OpenSSL_version(0))),
            ("qrencode", String(cString: QRcode_APIVersionString())),
            ("turbojpeg", tjInitCompress().map { tjDestroy($0); return "present" } ?? "unavailable"),
        ]
    }
}
