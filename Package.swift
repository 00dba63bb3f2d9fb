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
        // 1.16: LogHandler.log(event:), which JSONLogHandler implements.
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        // Tests start the CLI through it: Foundation's Process.run() crashes now and then on Linux (ChildProcess.swift).
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.3.0"),
        // HTTPRequestPart/HTTPResponsePart, the parts Hummingbird's HTTP/1 channel passes.
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.20.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.25.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.10.0"),
        // The store several instances share; its PostgresClient pools the connections.
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.21.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
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
        // JSON values, their writer (sorted keys, stable bytes) and strict parser: what HTTP
        // bodies, stored records and policy inputs and outputs are made of.
        .target(name: "JSON"),
        .target(
            name: "PolicyEngine",
            dependencies: [
                "CLuaShim",
                "JSON",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The domain: holds, their store, the payment gateway and ChittyID seams, and the
        // service that places, captures and releases holds safely.
        .target(
            name: "ChittyCharge",
            dependencies: [
                "JSON",
                "PolicyEngine",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // Stripe's HTTP API: form encoding, retries with one idempotency key, error decoding.
        .target(
            name: "StripeAPI",
            dependencies: [
                "ChittyCharge",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A faithful Stripe stand-in: in-process (as a StripeTransport) or over HTTP.
        .target(
            name: "StripeEmulator",
            dependencies: [
                "ChittyCharge",
                "StripeAPI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Minting ChittyIDs over HTTP, and the emulated minter.
        .target(
            name: "ChittyIDClient",
            dependencies: [
                "ChittyCharge",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What the stores share on the way out of a row: the records decoded by column
        // name from whichever driver's row, millisecond times, the metadata column.
        .target(
            name: "HoldStoreColumns",
            dependencies: ["ChittyCharge", "JSON"]
        ),
        // The embedded store.
        .target(
            name: "HoldStoreSQLite",
            dependencies: [
                "JSON",
                "ChittyCharge",
                "HoldStoreColumns",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The store several instances share: PostgreSQL.
        .target(
            name: "HoldStorePostgres",
            dependencies: [
                "JSON",
                "ChittyCharge",
                "HoldStoreColumns",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `chittycharge db copy`: a SQLite store's rows into PostgreSQL, verified per table.
        .target(
            name: "HoldStoreCopy",
            dependencies: [
                "HoldStorePostgres",
                "HoldStoreSQLite",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
            ]
        ),
        // The checks every HoldStore must pass (SQLite now, PostgreSQL later), as plain
        // async functions so any test target can run them against its store.
        .target(
            name: "HoldStoreConformance",
            dependencies: ["ChittyCharge"]
        ),
        // HTTP: routes, middleware (auth, CORS, rate limits, errors), application builder.
        .target(
            name: "ChittyChargeServer",
            dependencies: [
                "ChittyCharge",
                "JSON",
                "PolicyEngine",
                "StripeAPI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                // Channel handlers for the request-arrival timeout; HTTPParserError for 400s.
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The one wiring of store, Stripe, ChittyID, hold service, reloader and background
        // work, shared by `serve`, the server tests and the benchmarks. Its own target so the
        // HTTP layer keeps knowing only the domain, not SQLite or the emulators.
        .target(
            name: "ChittyChargeWiring",
            dependencies: [
                "ChittyCharge",
                "ChittyChargeServer",
                "ChittyIDClient",
                "HoldStorePostgres",
                "HoldStoreSQLite",
                "PolicyEngine",
                "StripeAPI",
                "StripeEmulator",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Test doubles more than one test target needs (the manual clock).
        .target(
            name: "ChittyChargeTestSupport",
            dependencies: [
                "ChittyCharge",
                // TestPostgres: fresh databases on the test command's PostgreSQL.
                "HoldStorePostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/ChittyChargeTestSupport"
        ),
        .executableTarget(
            name: "chittycharge",
            dependencies: [
                "JSON",
                "PolicyEngine",
                "ChittyCharge",
                "ChittyChargeServer",
                "ChittyChargeWiring",
                "StripeAPI",
                "StripeEmulator",
                "ChittyIDClient",
                "HoldStoreCopy",
                "HoldStorePostgres",
                "HoldStoreSQLite",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // `policy lint` runs luacheck.
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "PolicyBenchmark",
            dependencies: ["PolicyEngine"],
            path: "Benchmarks/PolicyBenchmark"
        ),
        .executableTarget(
            name: "HoldAPIBenchmark",
            dependencies: [
                "ChittyChargeWiring",
                "ChittyCharge",
                "ChittyChargeServer",
                "ChittyIDClient",
                "HoldStorePostgres",
                "HoldStoreSQLite",
                "PolicyEngine",
                "StripeAPI",
                "StripeEmulator",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/HoldAPIBenchmark"
        ),
        .executableTarget(
            name: "PolicyReloadBenchmark",
            dependencies: [
                "ChittyChargeWiring",
                "ChittyCharge",
                "ChittyChargeServer",
                "ChittyIDClient",
                "HoldStoreSQLite",
                "PolicyEngine",
                "StripeAPI",
                "StripeEmulator",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Benchmarks/PolicyReloadBenchmark"
        ),
        .executableTarget(
            name: "SchedulerBenchmark",
            dependencies: [
                "ChittyChargeWiring",
                "ChittyCharge",
                "ChittyChargeServer",
                "ChittyIDClient",
                "HoldStorePostgres",
                "HoldStoreSQLite",
                "PolicyEngine",
                "StripeAPI",
                "StripeEmulator",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Benchmarks/SchedulerBenchmark"
        ),
        .executableTarget(
            name: "PolicyBacktestBenchmark",
            dependencies: [
                "ChittyCharge",
                "HoldStoreSQLite",
                "PolicyEngine",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                // Seeds the decisions in one transaction (recordDecision commits each).
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
            ],
            path: "Benchmarks/PolicyBacktestBenchmark"
        ),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(
            name: "PolicyEngineTests",
            dependencies: [
                "JSON",
                "PolicyEngine",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "StripeAPITests",
            dependencies: [
                "JSON","StripeAPI", "StripeEmulator"],
            // Signature vectors and the script that made them, read through #filePath.
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "StripeEmulatorTests",
            dependencies: [
                "ChittyChargeTestSupport",
                "StripeEmulator",
                "StripeAPI",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        // Needs CHITTYCHARGE_TEST_POSTGRES_URL (the test command starts a cluster and sets it).
        .testTarget(
            name: "HoldStorePostgresTests",
            dependencies: [
                "ChittyCharge", "ChittyChargeTestSupport", "HoldStorePostgres", "HoldStoreConformance",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "HoldStoreCopyTests",
            dependencies: ["ChittyCharge", "ChittyChargeTestSupport", "HoldStoreCopy", "HoldStorePostgres", "HoldStoreSQLite",
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "HoldStoreSQLiteTests",
            dependencies: [
                "JSON","HoldStoreSQLite", "HoldStoreConformance"]
        ),
        // The domain's services driven directly: a store in memory, the Stripe emulator in-process.
        .testTarget(
            name: "ChittyChargeTests",
            dependencies: [
                "JSON",
                "ChittyCharge",
                "ChittyChargeTestSupport",
                "HoldStoreSQLite",
                "PolicyEngine",
                "StripeAPI",
                "StripeEmulator",
                "ChittyIDClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "ChittyChargeServerTests",
            dependencies: [
                "JSON",
                "ChittyChargeWiring",
                "ChittyChargeTestSupport",
                "ChittyChargeServer",
                "ChittyCharge",
                "StripeAPI",
                "StripeEmulator",
                "ChittyIDClient",
                "HoldStoreSQLite",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                // openapi.yaml is read and compared with the router (OpenAPIRouteTests).
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(
            name: "chittychargeTests",
            dependencies: [
                "chittycharge",
                // TestPostgres, for the several-instance suite.
                "ChittyChargeTestSupport",
                // Signs the webhooks that suite sends to several instances.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
                // A stand-in ChittyRegistry for `chittycharge register`.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
