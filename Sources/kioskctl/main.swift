import Foundation
import KioskCLI

exit(KioskCtl.run(Array(CommandLine.arguments.dropFirst()), context: .process()))
