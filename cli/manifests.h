// Manifests as the CLI reads them: files, folders of them or stdin, split into documents
// that keep their source position, each both typed (for validation) and as the user wrote
// it (JSON, for kubectl-compatible apply).
#pragma once

#include <string>
#include <vector>

#include "core/codec.h"
#include "core/status.h"

namespace korc::cli {

struct Source {
  std::string name;  // file path, or "<stdin>"
  std::string text;
};

// Reads FILE, every *.yaml/*.yml/*.json in DIR (sorted), or "-" for stdin.
Result<std::vector<Source>> ReadSources(const std::vector<std::string>& paths);

struct ManifestDoc {
  std::string origin;     // "file:line"
  Decoded decoded;        // typed
  std::string user_json;  // the document exactly as written, as compact JSON
};

// Every document of every source; errors name the file (and line).
Result<std::vector<ManifestDoc>> LoadManifests(const std::vector<Source>& sources);

}  // namespace korc::cli
