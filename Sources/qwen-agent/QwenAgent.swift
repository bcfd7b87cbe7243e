import ArgumentParser

@main
struct QwenAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qwen-agent",
        abstract: "Let a vision-language model operate an X11 desktop — and drive the desktop by hand.",
        discussion: """
            The low-level commands below capture the screen and send input through XTest on $DISPLAY \
            (or --display). Coordinates are root-window pixels, (0, 0) at the top-left of the whole screen.

            Exit statuses: 0 success; 64 bad arguments (including a point or region off the screen); \
            65 bad input data (an unknown key name, text that cannot be typed); 69 no X display, refused \
            connection or missing X extension; 73 an output file could not be written; 130 interrupted \
            (Ctrl-C; every pressed key and button is released first); 1 anything else.
            """,
        subcommands: [Run.self, Demo.self, Plan.self, Record.self, Replay.self, Show.self, Parse.self, Schema.self, Generate.self, Monitors.self, Capture.self, Click.self, Move.self, Drag.self, Scroll.self, Key.self,
                      TypeText.self],
        defaultSubcommand: Run.self)
}
