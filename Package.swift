// swift-tools-version:5.9
import PackageDescription

// Release builds of the engine: bounds and exclusivity checks off in the kernels' module only,
// and code generated for the CPU that builds it (AVX-512 here; without it Swift emits baseline
// SSE2 and the exp/softmax/loss loops run ~2x slower). Builds are from source on the machine
// that runs them, CI included; a release binary is therefore not portable to older CPUs.
let engineFlags: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked", "-target-cpu", "native"], .when(configuration: .release)),
]

let package = Package(
    name: "ViTLab",
    products: [
        .library(name: "ConfigCore", targets: ["ConfigCore"]),
        .library(name: "TensorEngine", targets: ["TensorEngine"]),
        .library(name: "NeuralNet", targets: ["NeuralNet"]),
        .library(name: "ModelZoo", targets: ["ModelZoo"]),
        .library(name: "DataPipeline", targets: ["DataPipeline"]),
        .library(name: "HDF5Store", targets: ["HDF5Store"]),
        .library(name: "Experiments", targets: ["Experiments"]),
        .executable(name: "runexp", targets: ["runexp"]),
        .executable(name: "vitlab-bench", targets: ["vitlab-bench"]),
    ],
    dependencies: [
        // From the local package mirror (see README): YAML for dataset metadata and experiments.
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
    ],
    targets: [
        // System-library shims: a module map and a header each, nothing else.
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5"),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG"),
        .systemLibrary(name: "CSpng", path: "Sources/CSpng"),

        // Registries, config errors, name suggestions, decoding defaults: shared by every module that reads config.
        .target(name: "ConfigCore"),
        .target(name: "TensorEngine", dependencies: ["CDNNL"], swiftSettings: engineFlags),
        .target(name: "NeuralNet", dependencies: ["TensorEngine", "ConfigCore"]),
        .target(name: "ModelZoo", dependencies: ["NeuralNet", "TensorEngine", "ConfigCore"]),
        .target(name: "DataPipeline", dependencies: ["TensorEngine", "ConfigCore", "CTurboJPEG", "CSpng", "CHDF5", .product(name: "Yams", package: "Yams")]),
        .target(name: "HDF5Store", dependencies: ["CHDF5"]),
        .target(name: "Experiments", dependencies: ["ConfigCore", "TensorEngine", "NeuralNet", "ModelZoo", "DataPipeline", "HDF5Store",
                                                    .product(name: "Yams", package: "Yams")]),
        .executableTarget(name: "runexp", dependencies: ["ConfigCore", "Experiments", "ModelZoo", "NeuralNet", "TensorEngine",
                                                      .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "vitlab-bench", dependencies: ["TensorEngine", "NeuralNet", "ModelZoo", "DataPipeline", "HDF5Store", "CDNNL"]),

        // Assertions every test target shares (tensor comparisons), so each is written once.
        .target(name: "TestSupport", dependencies: ["TensorEngine"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorEngineTests", dependencies: ["TensorEngine", "CDNNL", "TestSupport"]),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "TensorEngine", "TestSupport"]),
        .testTarget(name: "ConfigCoreTests", dependencies: ["ConfigCore"]),
        .testTarget(name: "ModelZooTests", dependencies: ["ModelZoo", "NeuralNet", "TensorEngine", "TestSupport", "HDF5Store"]),
        .testTarget(name: "DataPipelineTests", dependencies: ["DataPipeline", "TensorEngine"]),
        .testTarget(name: "HDF5StoreTests", dependencies: ["HDF5Store"]),
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "ModelZoo", "NeuralNet", "DataPipeline", "TensorEngine", "HDF5Store"]),
        .testTarget(name: "SystemLibrariesTests", dependencies: ["CDNNL", "CHDF5", "CTurboJPEG", "CSpng"]),
    ]
)
