import Foundation

/// The one JSON configuration every MMS program uses: camelCase keys, RFC 3339 UTC dates.
public enum MMSJSON {
    /// A new encoder with the contract's date format and sorted keys (stable output).
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(RFC3339.format(date))
        }
        return e
    }

    /// A new decoder that reads the contract's dates.
    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let text = try c.decode(String.self)
            guard let date = RFC3339.parse(text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected an RFC 3339 timestamp, got \"\(text)\"")
            }
            return date
        }
        return d
    }

    /// Encodes a value; the contract's types never fail to encode, so failure is a bug shown as text.
    public static func encode<T: Encodable>(_ value: T) -> Data {
        do {
            return try encoder().encode(value)
        } catch {
            return Data("{\"error\":{\"code\":\"internal_error\",\"message\":\"could not encode the answer\"}}".utf8)
        }
    }

    /// Decodes a value, turning Foundation's errors into a sentence that names the field.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws(FieldError) -> T {
        do {
            return try decoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw FieldError(error)
        } catch {
            throw FieldError(message: "the body is not valid JSON")
        }
    }
}

/// A decoding failure described for people: which field, and what was wrong with it.
public struct FieldError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }

    public init(_ error: DecodingError) {
        switch error {
        case .keyNotFound(let key, let ctx):
            message = "missing field '\(Self.path(ctx.codingPath + [key]))'"
        case .typeMismatch(let type, let ctx):
            message = "field '\(Self.path(ctx.codingPath))' must be \(Self.describe(type))"
        case .valueNotFound(let type, let ctx):
            message = "field '\(Self.path(ctx.codingPath))' must be \(Self.describe(type)), not null"
        case .dataCorrupted(let ctx):
            if ctx.codingPath.isEmpty {
                message = "the body is not valid JSON"
            } else {
                message = "field '\(Self.path(ctx.codingPath))' is invalid: \(ctx.debugDescription)"
            }
        @unknown default:
            message = "the body could not be read"
        }
    }

    public var description: String { message }

    /// "files[2].mode" from a coding path.
    public static func path(_ keys: [CodingKey]) -> String {
        var out = ""
        for key in keys {
            if let i = key.intValue {
                out += "[\(i)]"
            } else {
                out += out.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return out.isEmpty ? "(body)" : out
    }

    private static func describe(_ type: Any.Type) -> String {
        let name = String(describing: type)
        switch name {
        case "String": return "a string"
        case "Int", "Int64", "Int32": return "an integer"
        case "Bool": return "true or false"
        case "Double": return "a number"
        default:
            if name.hasPrefix("Array") { return "a list" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "an object"
        }
    }
}
