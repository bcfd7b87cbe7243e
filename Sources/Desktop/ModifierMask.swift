internal import CX11
public import Keys

extension Modifier {
    /// The modifier bit in an X event's state and in `XGrabKey` (`ControlMask`, `ShiftMask`, `Mod1Mask`, `Mod4Mask`).
    public var mask: UInt32 {
        switch self {
        case .ctrl: CX11ModifierMask.control.rawValue
        case .shift: CX11ModifierMask.shift.rawValue
        case .alt: CX11ModifierMask.mod1.rawValue
        case .super: CX11ModifierMask.mod4.rawValue
        }
    }
}
