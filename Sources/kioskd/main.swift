// kioskd: the kiosk service. For now it reports its version and the C libraries it is linked against;
// the store, sync, devices and UI arrive with their issues.
import Foundation
import KioskCore

let version = "0.1.0"
let args = Array(CommandLine.arguments.dropFirst())

switch args.first {
case "--version", "version", nil:
    print("kioskd \(version)")
    for (name, v) in LinkedLibraries.versions() {
        print("  \(name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(v)")
    }
    exit(0)
case "--help", "-h":
    print("Usage: kioskd [--version]")
    exit(0)
default:
    FileHandle.standardError.write(Data("kioskd: unknown argument \(args[0]); see kioskd --help\n".utf8))
    exit(64)
}
