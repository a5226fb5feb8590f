import CLibPQ
import Foundation

/// A result row in binary format; columns are read by index. Valid only inside the closure it was given to.
/// Reading a NULL with a non-optional accessor, a missing column or a type the accessor does not know throws.
struct PGRow {
    let result: OpaquePointer
    let row: Int32

    /// True when the column is NULL (or does not exist).
    func isNull(_ i: Int32) -> Bool { PQgetisnull(result, row, i) != 0 }

    /// An integer column (int2, int4, int8 or oid).
    func int(_ i: Int32) throws(PGError) -> Int64 {
        let b = try value(i)
        switch (type(i), b.count) {
        case (PGType.int8, 8): return Int64(bigEndian: b.loadUnaligned(as: Int64.self))
        case (PGType.int4, 4): return Int64(Int32(bigEndian: b.loadUnaligned(as: Int32.self)))
        case (PGType.int2, 2): return Int64(Int16(bigEndian: b.loadUnaligned(as: Int16.self)))
        case (PGType.oid, 4): return Int64(UInt32(bigEndian: b.loadUnaligned(as: UInt32.self)))
        default: throw mismatch(i, "an integer")
        }
    }

    /// An integer column, nil when NULL.
    func optInt(_ i: Int32) throws(PGError) -> Int64? { isNull(i) ? nil : try int(i) }

    /// A float8 (or float4) column; integer columns are converted.
    func double(_ i: Int32) throws(PGError) -> Double {
        let b = try value(i)
        switch (type(i), b.count) {
        case (PGType.float8, 8): return Double(bitPattern: UInt64(bigEndian: b.loadUnaligned(as: UInt64.self)))
        case (PGType.float4, 4): return Double(Float(bitPattern: UInt32(bigEndian: b.loadUnaligned(as: UInt32.self))))
        case (PGType.int8, _), (PGType.int4, _), (PGType.int2, _): return Double(try int(i))
        default: throw mismatch(i, "a float8")
        }
    }

    /// A time kept as float8 epoch seconds.
    func date(_ i: Int32) throws(PGError) -> Date { Date(timeIntervalSince1970: try double(i)) }

    /// A time kept as float8 epoch seconds, nil when NULL.
    func optDate(_ i: Int32) throws(PGError) -> Date? { isNull(i) ? nil : try date(i) }

    /// A text column (text, varchar, char, name, json, jsonb); cast other types to text in the SQL.
    func text(_ i: Int32) throws(PGError) -> String {
        let b = try value(i)
        switch type(i) {
        case PGType.text, PGType.varchar, PGType.bpchar, PGType.name, PGType.char, PGType.json, PGType.unknown:
            return String(decoding: b, as: UTF8.self)
        case PGType.jsonb where b.first == 1:  // binary jsonb: a version byte (1), then the text
            return String(decoding: b.dropFirst(), as: UTF8.self)
        default:
            throw mismatch(i, "text")
        }
    }

    /// A text column, nil when NULL.
    func optText(_ i: Int32) throws(PGError) -> String? { isNull(i) ? nil : try text(i) }

    /// A bool column.
    func bool(_ i: Int32) throws(PGError) -> Bool {
        let b = try value(i)
        guard type(i) == PGType.bool, b.count == 1 else { throw mismatch(i, "a bool") }
        return b[0] != 0
    }

    /// A bool column, nil when NULL.
    func optBool(_ i: Int32) throws(PGError) -> Bool? { isNull(i) ? nil : try bool(i) }

    /// The column's bytes as sent (for bytea, the raw bytes), copied.
    func bytes(_ i: Int32) throws(PGError) -> Data { Data(try value(i)) }

    /// The column's bytes, nil when NULL.
    func optBytes(_ i: Int32) throws(PGError) -> Data? { isNull(i) ? nil : try bytes(i) }

    /// The column's bytes without a copy, valid only inside `body`.
    func withBytes<T>(_ i: Int32, _ body: (UnsafeRawBufferPointer) throws(PGError) -> T) throws(PGError) -> T {
        try body(try value(i))
    }

    /// The column's type OID.
    private func type(_ i: Int32) -> Oid { PQftype(result, i) }

    /// The raw binary value of a present, non-NULL column.
    private func value(_ i: Int32) throws(PGError) -> UnsafeRawBufferPointer {
        guard i >= 0, i < PQnfields(result) else { throw PGError("the result has no column \(i)") }
        guard !isNull(i) else { throw PGError("column \(i) (\(columnName(i))) is NULL") }
        let n = Int(PQgetlength(result, row, i))
        guard n > 0, let p = PQgetvalue(result, row, i) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: p, count: n)
    }

    /// The column's name in the result.
    private func columnName(_ i: Int32) -> String { PQfname(result, i).map { String(cString: $0) } ?? "?" }

    /// The error for reading a column as a type it is not.
    private func mismatch(_ i: Int32, _ wanted: String) -> PGError {
        PGError("column \(i) (\(columnName(i))) is \(PGType.name(type(i))), not \(wanted)")
    }
}
