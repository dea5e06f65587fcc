/// The kiosk software's version: kioskd, kioskctl, the heartbeat and the control socket's `hello` report this one.
public enum KioskVersion {
    public static let string = "0.2.0"
}
