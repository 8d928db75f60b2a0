@_exported import ConfigCore
