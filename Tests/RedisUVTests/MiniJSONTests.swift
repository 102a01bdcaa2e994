import XCTest
import Foundation
@testable import RedisUV

/// MiniJSON against Foundation's JSONSerialization, on the command table and on escapes.
final class MiniJSONTests: XCTestCase {
    private func same(_ a: Any, _ b: Any, _ path: String = "$") -> Bool {
        if let x = a as? [String: Any], let y = b as? [String: Any] {
            guard x.keys.sorted() == y.keys.sorted() else { XCTFail("keys differ at \(path)"); return false }
            return x.keys.allSatisfy { same(x[$0]!, y[$0]!, path + "." + $0) }
        }
        if let x = a as? [Any], let y = b as? [Any] {
            guard x.count == y.count else { XCTFail("lengths differ at \(path)"); return false }
            return zip(x, y).enumerated().allSatisfy { same($1.0, $1.1, path + "[\($0)]") }
        }
        if let x = a as? String, let y = b as? String { return x == y }
        if let x = a as? Bool, let y = b as? NSNumber { return x == y.boolValue }
        if let x = a as? Int, let y = b as? NSNumber { return x == y.intValue }
        if let x = a as? Double, let y = b as? NSNumber { return x == y.doubleValue }
        if a is MiniJSON.Null, b is NSNull { return true }
        XCTFail("values differ at \(path): \(a) vs \(b)")
        return false
    }

    func testCommandTableParsesAsJSONSerialization() throws {
        let mine = try MiniJSON.parse(generatedCommandSpecsJSON)
        let theirs = try JSONSerialization.jsonObject(with: Data(generatedCommandSpecsJSON.utf8))
        XCTAssertTrue(same(mine, theirs))
        XCTAssertGreaterThan((mine as? [[String: Any]])?.count ?? 0, 200)
    }

    func testScalarsAndEscapes() throws {
        let text = #"{"a":[1,-2,3.5,1e3,true,false,null,"x\"y\\z\/\n\t\u00e9\ud83d\ude00"],"b":{}}"#
        let mine = try MiniJSON.parse(text)
        let theirs = try JSONSerialization.jsonObject(with: Data(text.utf8))
        XCTAssertTrue(same(mine, theirs))
        for bad in ["", "[1,", "{\"a\" 1}", "[1] x", "\"abc", "[tru]", "{\"a\":1,}"] {
            XCTAssertThrowsError(try MiniJSON.parse(bad), bad)
        }
    }
}
