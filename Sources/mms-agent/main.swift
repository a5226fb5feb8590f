import Foundation
import MonitorAgent

// mms-agent: parse the command, run it, exit with its status. Everything else lives in MonitorAgent.
let status = await AgentCommand.main(Array(CommandLine.arguments.dropFirst()))
exit(status)
