// kioskd: the kiosk service. `--demo` runs the resident UI in this terminal with simulated devices where
// real ones are absent; `--version` reports the linked C libraries.
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
case "--demo":
    guard let options = Demo.parse(args) else {
        FileHandle.standardError.write(Data((Demo.usage + "\n").utf8))
        exit(64)
    }
    Task { @MainActor in await Demo.start(options) }
    dispatchMain()
case "--help", "-h":
    print("Usage: kioskd [--version]\n" + Demo.usage)
    exit(0)
default:
    FileHandle.standardError.write(Data("kioskd: unknown argument \(args[0]); see kioskd --help\n".utf8))
    exit(64)
}
