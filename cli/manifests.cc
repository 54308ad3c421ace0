#include "cli/manifests.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace korc::cli {

namespace fs = std::filesystem;

Result<std::vector<Source>> ReadSources(const std::vector<std::string>& paths) {
  std::vector<Source> out;
  for (const auto& p : paths) {
    if (p == "-") {
      std::stringstream ss;
      ss << std::cin.rdbuf();
      out.push_back({"<stdin>", ss.str()});
      continue;
    }
    std::error_code ec;
    std::vector<fs::path> files;
    if (fs::is_directory(p, ec)) {
      for (const auto& entry : fs::directory_iterator(p, ec)) {
        auto ext = entry.path().extension();
        if (ext == ".yaml" || ext == ".yml" || ext == ".json") files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
    } else if (fs::exists(p, ec)) {
      files.push_back(p);
    } else {
      return Status::NotFound("the path \"" + p + "\" does not exist");
    }
    for (const auto& f : files) {
      std::ifstream in(f);
      if (!in) return Status::NotFound("cannot read \"" + f.string() + "\"");
      std::stringstream ss;
      ss << in.rdbuf();
      out.push_back({f.string(), ss.str()});
    }
  }
  return out;
}

namespace {

// YAML as JSON with YAML's own scalar typing: plain scalars that read as numbers, booleans
// or null become those; quoted scalars stay strings.
nlohmann::json ToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json o = nlohmann::json::object();
      for (auto it = n.begin(); it != n.end(); ++it) o[it->first.Scalar()] = ToJson(it->second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json a = nlohmann::json::array();
      for (auto it = n.begin(); it != n.end(); ++it) a.push_back(ToJson(*it));
      return a;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return s;
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
      if (s == "null" || s == "~" || s.empty()) return nullptr;
      int64_t i;
      auto r = std::from_chars(s.data(), s.data() + s.size(), i);
      if (r.ec == std::errc() && r.ptr == s.data() + s.size()) return i;
      double d;
      auto rd = std::from_chars(s.data(), s.data() + s.size(), d);
      if (rd.ec == std::errc() && rd.ptr == s.data() + s.size()) return d;
      return s;
    }
    default:
      return nullptr;
  }
}

}  // namespace

Result<std::vector<ManifestDoc>> LoadManifests(const std::vector<Source>& sources) {
  std::vector<ManifestDoc> out;
  for (const auto& src : sources) {
    auto docs = DecodeYamlStream(src.text);
    if (!docs.ok()) return Status(docs.status().code(), src.name + ": " + docs.status().message());
    std::vector<YAML::Node> raw;
    try {
      raw = YAML::LoadAll(src.text);
    } catch (const YAML::Exception& e) {
      return Status::BadRequest(src.name + ": " + e.what());
    }
    // Pair typed documents with their raw form, skipping empty documents and expanding
    // `kind: List` as DecodeYamlStream does.
    std::vector<nlohmann::json> users;
    for (const auto& d : raw) {
      if (d.IsNull() || !d.IsDefined()) continue;
      nlohmann::json j = ToJson(d);
      if (j.is_object() && j.value("kind", "") == "List" && j.contains("items")) {
        for (auto& item : j["items"]) users.push_back(item);
      } else {
        users.push_back(std::move(j));
      }
    }
    if (users.size() != docs->size()) {
      return Status::Internal(src.name + ": documents did not pair up");
    }
    for (size_t i = 0; i < docs->size(); ++i) {
      out.push_back({src.name + ":" + std::to_string((*docs)[i].line),
                     std::move((*docs)[i].decoded), users[i].dump()});
    }
  }
  return out;
}

}  // namespace korc::cli
