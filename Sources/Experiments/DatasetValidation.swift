import DataPipeline
import Foundation

/// What `validate` does beyond the config itself.
public struct ValidationOptions {
    /// Decode every label of the real datasets (datasets/README.md's promise). `--quick` (and
    /// `runexp run`, which should not spend minutes before its first iteration) turns it off;
    /// the layout (pairing by name, class count) is still checked.
    public var decodeLabels: Bool
    /// Called with a status line while labels are decoded (`runexp validate` shows it on a
    /// terminal); nil for none.
    public var progress: ((String) -> Void)?

    public init(decodeLabels: Bool = true, progress: ((String) -> Void)? = nil) {
        self.decodeLabels = decodeLabels; self.progress = progress
    }

    public static let quick = ValidationOptions(decodeLabels: false)
}

/// Several problems found by one `validate`, reported together so they can be fixed in one go.
public struct ValidationErrors: Error, CustomStringConvertible {
    public let errors: [Error]
    public var description: String {
        "\(errors.count) problems:\n" + errors.map { "  - \($0)".replacingOccurrences(of: "\n", with: "\n    ") }.joined(separator: "\n")
    }
}

extension ExperimentValidator {
    /// The real (file-backed) datasets of the experiment: built (which pairs images and
    /// labels by name, so a missing or unpaired file is reported), their class count compared
    /// with the model's num_classes, and, unless `quick`, every label decoded once (a value
    /// outside the classes, a damaged file, a label whose size differs from its image).
    /// Returns every problem found, in split order.
    func checkDatasets(numClasses: Int?) -> [Error] {
        var errors: [Error] = []
        for (split, s) in [("train", c.data.train), ("val", c.data.val)] {
            guard let s else { continue }
            // A bad node or a missing root is reported by checkSplit already.
            guard let (config, node, path) = try? e.datasetConfig(split), let root = config.root else { continue }
            func located(_ message: String, key: String = "root") -> ConfigError {
                ConfigError(.file, at: s.dataset[key]?.location ?? s.dataset.location, keyPath: (path + [key]).joined(separator: "."), message: message)
            }
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDir), isDir.boolValue else { continue }
            let dataset: Dataset
            do {
                dataset = try Experiment.open(config, node: node, path: path)
            } catch {
                errors.append(error)
                continue
            }
            if let n = numClasses, dataset.classNames.count != n {
                errors.append(fail(["model", "num_classes"],
                                   "is \(n) but the \(split) dataset (\(config.typeName), \(root.path)) has \(dataset.classNames.count) classes",
                                   remedy: "set model.num_classes to \(dataset.classNames.count)" + (config.typeName == "pascal_context" ? " (or choose the dataset's num_classes: 59 or 60)" : "")))
            }
            guard options.decodeLabels, let checkable = dataset as? LabelCheckable else { continue }
            let total = checkable.count
            var lastShown = Date.distantPast
            for i in 0..<total {
                do { try checkable.checkLabel(i) } catch let err as DataError {
                    errors.append(located(err.message))
                } catch {
                    errors.append(error)
                }
                if let progress = options.progress, Date().timeIntervalSince(lastShown) > 0.2 || i + 1 == total {
                    lastShown = Date()
                    progress("data.\(split): decoding labels \(i + 1)/\(total)")
                }
            }
        }
        return errors
    }
}
