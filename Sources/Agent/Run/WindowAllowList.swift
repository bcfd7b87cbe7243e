/// The `--only-window` rule, shared by the agent's loop and the MCP server's input tools.
public enum WindowAllowList {
    /// Why `resolved` may not be performed when only windows of the `allowed` classes may be acted on,
    /// or nil when it may (or when there is no allow-list). Pointer actions land on the window under
    /// the point; keys go to the focused window.
    public static func refusal(of resolved: ResolvedAction, allowed: Set<String>?, windows: any WindowInspector) async -> String? {
        guard let allowed else { return nil }
        let windowClass = if let point = resolved.point { await windows.windowClass(at: point) } else { await windows.focusedWindowClass() }
        if let windowClass, allowed.contains(windowClass) { return nil }
        return "\(resolved) would act on \(windowClass.map { "a '\($0)' window" } ?? "no window"), outside --only-window \(allowed.sorted().joined(separator: ","))"
    }
}
