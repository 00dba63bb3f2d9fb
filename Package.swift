// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "ChittyCharge",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "chittycharge", targets: ["chittycharge"]),
        .library(name: "PolicyEngine", targets: ["PolicyEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
    ],
    targets: [
        // The system Lua 5.4 (Debian's liblua5.4-dev), found through pkg-config.
        .systemLibrary(
            name: "CLua",
            pkgConfig: "lua5.4",
            providers: [.apt(["liblua5.4-dev"])]
        ),
        // Everything that touches Lua's longjmp-based errors: macros Swift cannot import,
        // the sandboxed standard library, the capped allocator, the instruction budget,
        // and the value codec that moves data across the boundary under lua_pcall.
        .target(
            name: "CLuaShim",
            dependencies: ["CLua"]
        ),
        .target(
            name: "PolicyEngine",
            dependencies: [
                "CLuaShim",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .executableTarget(
            name: "chittycharge",
            dependencies: [
                "PolicyEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "PolicyBenchmark",
            dependencies: ["PolicyEngine"],
            path: "Benchmarks/PolicyBenchmark"
        ),
        .testTarget(
            name: "PolicyEngineTests",
            dependencies: [
                "PolicyEngine",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "chittychargeTests",
            dependencies: ["chittycharge"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
