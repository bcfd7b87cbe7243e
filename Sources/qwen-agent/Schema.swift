import Agent
import ArgumentParser

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the computer_use tool definition the model is given, generated from the action table.")

    @Option(help: ArgumentHelp("The resolution the description states, in the model's coordinate space.", valueName: "WxH"))
    var resolution = "1000x1000"

    func run() {
        print(ToolSchema.computerUse(resolution: resolution))
    }
}
