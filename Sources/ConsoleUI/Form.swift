import Foundation
import MonitorModels

/// What a form is for, and so what Enter on its last field does.
public enum FormKind: Sendable, Equatable {
    case editAgent(uuid: String)
    case pushAgent
    case newJob
    /// Add (`existing == nil`) or edit a configuration entry.
    case configEntry(existing: String?)
    /// Disable agents: a reason and a duration, then a y/n confirmation.
    case disable(uuids: [String])
}

/// How a field takes input.
public enum FieldKind: Sendable, Equatable {
    /// One line of text.
    case text
    /// Several lines; Enter on a non-empty last line starts a new one.
    case lines
    /// yes/no, toggled with Space (or y/n).
    case toggle
    /// Text that is not echoed when the form's secret toggle is on.
    case secretText
    /// Text that is never echoed (a push agent's auth token secret).
    case password
}

/// One labelled input of a form.
public struct FormField: Sendable, Equatable {
    public var label: String
    public var kind: FieldKind
    public var value: String
    public var hint: String
    /// False for fields shown but not editable (the name of an entry being edited).
    public var editable: Bool

    public init(_ label: String, _ kind: FieldKind = .text, value: String = "", hint: String = "", editable: Bool = true) {
        self.label = label
        self.kind = kind
        self.value = value
        self.hint = hint
        self.editable = editable
    }

    /// Lines of a `.lines` field (the value holds them joined by newlines).
    public var lines: [String] { value.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
}

/// A small form in a box: edit an agent, a new job, a configuration entry.
public struct Form: Sendable, Equatable {
    public var kind: FormKind
    public var title: String
    public var fields: [FormField]
    public var focus = 0
    /// Why the last submit was refused (shown in the box).
    public var error: String?

    public init(kind: FormKind, title: String, fields: [FormField]) {
        self.kind = kind
        self.title = title
        self.fields = fields
        focus = fields.firstIndex(where: \.editable) ?? 0
    }

    /// True when the form's secret toggle is on (values are then not echoed).
    public var isSecret: Bool {
        fields.first(where: { $0.kind == .toggle })?.value == "yes"
    }

    /// The value of the field labelled `label`.
    public func value(_ label: String) -> String {
        fields.first(where: { $0.label == label })?.value ?? ""
    }

    /// The form to edit an agent's resources and environments.
    public static func editAgent(_ a: Agent) -> Form {
        Form(kind: .editAgent(uuid: a.uuid), title: "Edit \(a.name)", fields: [
            FormField("Resources", value: a.resources.joined(separator: ","), hint: "comma-separated, e.g. gpu,arm64"),
            FormField("Environments", value: a.environments.joined(separator: ","), hint: "comma-separated, e.g. prod,staging"),
        ])
    }

    /// The form to add a push agent (`mms-agent serve`): the secret is never echoed.
    public static func pushAgent() -> Form {
        Form(kind: .pushAgent, title: "Add push agent", fields: [
            FormField("Name", hint: "what operators will see, e.g. lab-box-7"),
            FormField("URL", hint: "where the server reaches it, e.g. https://lab-box-7:8000"),
            FormField("Secret", .password, hint: "its --auth-token-secret (at least 16 bytes; not echoed)"),
            FormField("Resources", hint: "comma-separated, e.g. gpu,arm64"),
            FormField("Environments", hint: "comma-separated, e.g. prod,staging"),
            FormField(caCertFileLabel, hint: "the CA's PEM file on this machine; empty: trust the system store"),
        ])
    }

    /// The push agent form's field naming a file whose PEM text is sent as `caCert`.
    public static let caCertFileLabel = "CA cert file"

    /// The form for a new job.
    public static func newJob() -> Form {
        Form(kind: .newJob, title: "New job", fields: [
            FormField("Name", hint: "what operators will see, e.g. build-firmware"),
            FormField("Commands", .lines, hint: "one shell line each; Enter adds a line, Enter on an empty line moves on"),
            FormField("Resources", hint: "comma-separated; every one must be on the agent"),
        ])
    }

    /// The form to add an entry, or to edit `entry` (a secret's value starts empty: the server never returns it).
    public static func configEntry(_ entry: ConfigEntry?) -> Form {
        Form(kind: .configEntry(existing: entry?.name), title: entry.map { "Edit \($0.name)" } ?? "Add configuration entry", fields: [
            FormField("Name", value: entry?.name ?? "", hint: "letters, digits, _ (env var name)", editable: entry == nil),
            FormField("Secret", .toggle, value: entry?.secret == true ? "yes" : "no", hint: "Space toggles; secrets are never shown again"),
            FormField("Value", .secretText, value: entry?.secret == false ? (entry?.value ?? "") : "",
                      hint: entry?.secret == true ? "type a new value (not echoed)" : "at most 64 KiB"),
        ])
    }
}

/// Splits "a, b,,c" into ["a", "b", "c"].
func commaList(_ s: String) -> [String] {
    s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}
