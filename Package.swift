// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "redis-uv",
    products: [
        .executable(name: "redis-uv", targets: ["redis-uv"]),
    ],
    dependencies: [
        // SHA-256 for ACL passwords (Redis keeps only the hex digest), Insecure.SHA1 for the script cache.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
    ],
    targets: [
        // libuv, found through pkg-config; the only C dependency.
        .systemLibrary(
            name: "CLibUV",
            path: "Sources/CLibUV",
            pkgConfig: "libuv",
            providers: [.apt(["libuv1-dev"])]
        ),
        // Lua 5.1, the interpreter Redis embeds, with cjson and bit linked statically.
        .systemLibrary(
            name: "CLua",
            path: "Sources/CLua",
            pkgConfig: "lua5.1",
            providers: [.apt(["liblua5.1-0-dev", "lua-cjson-dev", "lua-bitop-dev"])]
        ),
        .target(
            name: "RedisUV",
            dependencies: ["CLibUV", "CLua", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: [
                // The event loop is single-threaded by design; dynamic exclusivity checks on
                // class properties cost ~25% of user time in a measured minimal server.
                .unsafeFlags(["-enforce-exclusivity=unchecked"]),
            ]
        ),
        .executableTarget(name: "redis-uv", dependencies: ["RedisUV"]),
        .testTarget(name: "RedisUVTests", dependencies: ["RedisUV"]),
    ],
    swiftLanguageModes: [.v6]
)
