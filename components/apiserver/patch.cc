#include "components/apiserver/patch.h"

#include <algorithm>
#include <cstddef>
#include <exception>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/kinds.h"

namespace korc::apiserver {

namespace {

using Json = nlohmann::json;

// ---------------------------------------------------------------------------------------
// Small helpers

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualFold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string Quote(std::string_view s) { return Json(std::string(s)).dump(); }

// A JSON value for an error message, shortened so a huge body does not flood the answer.
std::string Show(const Json& v) {
  std::string s = v.dump();
  if (s.size() > 200) s = s.substr(0, 197) + "...";
  return s;
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; keep the readable rest.
std::string ExceptionText(const std::exception& e) {
  std::string_view what = e.what();
  if (StartsWith(what, "[json.exception.")) {
    size_t close = what.find("] ");
    if (close != std::string_view::npos) what.remove_prefix(close + 2);
  }
  return std::string(what);
}

// Applying a patch recurses once per nesting level (so do nlohmann's merge_patch and dump):
// bound the depth of what came from the network so a hostile body cannot exhaust the stack.
// Kubernetes objects nest a few dozen levels at most.
constexpr int kMaxPatchDepth = 1000;

bool TooDeep(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxPatchDepth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

Status ParseJson(std::string_view text, std::string_view what, Code code, Json* out) {
  try {
    *out = Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    return Status(code, std::string(what) + " is not valid JSON: " + ExceptionText(e));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// JSON patch (RFC 6902). Written here rather than with nlohmann's patch(), which asserts
// (crashes a debug build) when an "add" names a primitive as the parent.

constexpr size_t kMaxJsonPatchOperations = 10000;  // Kubernetes' limit

using Pointer = std::vector<std::string>;

Status ParsePointer(const std::string& text, Pointer* out) {
  out->clear();
  if (text.empty()) return Status::Ok();
  if (text[0] != '/') {
    return Status::BadRequest("JSON pointer " + Quote(text) + " must be empty or start with \"/\"");
  }
  std::string token;
  for (size_t i = 1; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '/') {
      out->push_back(std::move(token));
      token.clear();
      continue;
    }
    if (text[i] == '~') {
      if (i + 1 < text.size() && (text[i + 1] == '0' || text[i + 1] == '1')) {
        token += text[i + 1] == '0' ? '~' : '/';
        ++i;
        continue;
      }
      return Status::BadRequest("JSON pointer " + Quote(text) +
                                " has a \"~\" not followed by \"0\" or \"1\"");
    }
    token += text[i];
  }
  return Status::Ok();
}

// An array index as RFC 6901 spells it: decimal digits, no leading zero.
bool ParseIndex(const std::string& token, size_t* out) {
  if (token.empty() || token.size() > 9) return false;
  if (token.size() > 1 && token[0] == '0') return false;
  size_t v = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  *out = v;
  return true;
}

// The value at the first `depth` tokens of `ptr`; nullptr when there is none.
Json* Resolve(Json& doc, const Pointer& ptr, size_t depth) {
  Json* cur = &doc;
  for (size_t i = 0; i < depth; ++i) {
    const std::string& t = ptr[i];
    if (cur->is_object()) {
      auto it = cur->find(t);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (cur->is_array()) {
      size_t idx;
      if (!ParseIndex(t, &idx) || idx >= cur->size()) return nullptr;
      cur = &(*cur)[idx];
    } else {
      return nullptr;
    }
  }
  return cur;
}

struct JsonPatchOp {
  std::string op;  // add, remove, replace, move, copy or test
  std::string path_text;
  Pointer path;
  std::string from_text;  // move, copy
  Pointer from;
  const Json* value = nullptr;  // add, replace, test
  std::string where;            // "JSON patch operation 2 (remove)", for messages
};

// Checks one operation's shape; nothing is applied yet.
Status DecodeOp(const Json& op, size_t n, JsonPatchOp* out) {
  out->where = "JSON patch operation " + std::to_string(n);
  if (!op.is_object()) return Status::BadRequest(out->where + " is not an object: " + Show(op));
  auto op_it = op.find("op");
  if (op_it == op.end() || !op_it->is_string()) {
    return Status::BadRequest(out->where + " has no string member \"op\"");
  }
  out->op = op_it->get<std::string>();
  out->where += " (" + out->op + ")";
  const std::string& name = out->op;
  if (name != "add" && name != "remove" && name != "replace" && name != "move" && name != "copy" &&
      name != "test") {
    return Status::BadRequest(out->where + ": unknown operation " + Quote(name) +
                              "; expected add, remove, replace, move, copy or test");
  }
  auto path_it = op.find("path");
  if (path_it == op.end() || !path_it->is_string()) {
    return Status::BadRequest(out->where + " has no string member \"path\"");
  }
  out->path_text = path_it->get<std::string>();
  KORC_RETURN_IF_ERROR(ParsePointer(out->path_text, &out->path));
  if (name == "add" || name == "replace" || name == "test") {
    auto it = op.find("value");
    if (it == op.end()) return Status::BadRequest(out->where + " has no member \"value\"");
    out->value = &*it;
  }
  if (name == "move" || name == "copy") {
    auto it = op.find("from");
    if (it == op.end() || !it->is_string()) {
      return Status::BadRequest(out->where + " has no string member \"from\"");
    }
    out->from_text = it->get<std::string>();
    KORC_RETURN_IF_ERROR(ParsePointer(out->from_text, &out->from));
  }
  return Status::Ok();
}

class JsonPatcher {
 public:
  explicit JsonPatcher(Json& doc) : doc_(doc) {}

  Status Apply(const JsonPatchOp& op) {
    op_ = &op;
    const std::string& name = op.op;
    if (name == "add") return Add(op.path, *op.value);
    if (name == "remove") return Remove(op.path, op.path_text);
    if (name == "replace") {
      Json* target = Resolve(doc_, op.path, op.path.size());
      if (target == nullptr) return Missing(op.path_text);
      *target = *op.value;
      return Status::Ok();
    }
    if (name == "test") {
      Json* target = Resolve(doc_, op.path, op.path.size());
      if (target == nullptr) return Missing(op.path_text);
      if (*target != *op.value) {
        return Status::Invalid(op.where + " failed: the value at " + Quote(op.path_text) + " is " +
                               Show(*target) + ", not " + Show(*op.value));
      }
      return Status::Ok();
    }
    // move and copy
    Json* source = Resolve(doc_, op.from, op.from.size());
    if (source == nullptr) return Missing(op.from_text);
    Json value = *source;
    if (name == "move") {
      if (op.from == op.path) return Status::Ok();
      if (op.from.size() < op.path.size() &&
          std::equal(op.from.begin(), op.from.end(), op.path.begin())) {
        return Status::Invalid(op.where + ": cannot move " + Quote(op.from_text) +
                               " into its own child " + Quote(op.path_text));
      }
      KORC_RETURN_IF_ERROR(Remove(op.from, op.from_text));
    }
    return Add(op.path, std::move(value));
  }

 private:
  Status Missing(const std::string& where) const {
    return Status::Invalid(op_->where + ": path " + Quote(where) + " does not exist");
  }

  Status Add(const Pointer& path, Json value) {
    if (path.empty()) {
      doc_ = std::move(value);
      return Status::Ok();
    }
    Json* parent = Resolve(doc_, path, path.size() - 1);
    if (parent == nullptr) {
      return Status::Invalid(op_->where + ": the parent of " + Quote(op_->path_text) +
                             " does not exist");
    }
    const std::string& last = path.back();
    if (parent->is_object()) {
      (*parent)[last] = std::move(value);
      return Status::Ok();
    }
    if (parent->is_array()) {
      if (last == "-") {
        parent->push_back(std::move(value));
        return Status::Ok();
      }
      size_t idx;
      if (!ParseIndex(last, &idx) || idx > parent->size()) {
        return Status::Invalid(op_->where + ": array index " + Quote(last) + " in " +
                               Quote(op_->path_text) + " is out of range (the array has " +
                               std::to_string(parent->size()) + " elements)");
      }
      parent->insert(parent->begin() + static_cast<std::ptrdiff_t>(idx), std::move(value));
      return Status::Ok();
    }
    return Status::Invalid(op_->where + ": the parent of " + Quote(op_->path_text) +
                           " is neither an object nor an array");
  }

  Status Remove(const Pointer& path, const std::string& text) {
    if (path.empty()) return Status::Invalid(op_->where + ": cannot remove the whole document");
    Json* parent = Resolve(doc_, path, path.size() - 1);
    if (parent == nullptr) return Missing(text);
    const std::string& last = path.back();
    if (parent->is_object()) {
      if (parent->erase(last) == 0) return Missing(text);
      return Status::Ok();
    }
    if (parent->is_array()) {
      size_t idx;
      if (!ParseIndex(last, &idx) || idx >= parent->size()) return Missing(text);
      parent->erase(idx);
      return Status::Ok();
    }
    return Missing(text);
  }

  Json& doc_;
  const JsonPatchOp* op_ = nullptr;
};

Status ApplyJsonPatch(Json& doc, const Json& patch) {
  if (!patch.is_array()) {
    return Status::BadRequest("a JSON patch must be an array of operations, got " + Show(patch));
  }
  if (patch.size() > kMaxJsonPatchOperations) {
    return Status(Code::kTooLarge, "The allowed maximum operations in a JSON patch is " +
                                       std::to_string(kMaxJsonPatchOperations) + ", got " +
                                       std::to_string(patch.size()));
  }
  // Every operation is decoded before any is applied: a malformed one anywhere is a 400,
  // one that does not fit this object a 422.
  std::vector<JsonPatchOp> ops(patch.size());
  for (size_t i = 0; i < patch.size(); ++i) {
    KORC_RETURN_IF_ERROR(DecodeOp(patch[i], i, &ops[i]));
  }
  JsonPatcher patcher(doc);
  for (const JsonPatchOp& op : ops) KORC_RETURN_IF_ERROR(patcher.Apply(op));
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// Strategic merge patch: the patch metadata of the core/v1 types (their patchStrategy and
// patchMergeKey struct tags), for the fields korc serves.

enum class ListKind {
  kAtomic,      // replaced by the patch's list (no patchStrategy tag)
  kMergeByKey,  // patchStrategy=merge with a patchMergeKey: lists of objects
  kMergeSet,    // patchStrategy=merge without a key: lists of values merged as sets
};

struct SmpNode;

struct SmpField {
  std::string_view name;
  ListKind list = ListKind::kAtomic;
  std::string_view merge_key;
  const SmpNode* child = nullptr;  // the schema of the value (or of a list's elements)
};

struct SmpNode {
  std::span<const SmpField> fields;
};

// Fields not listed are maps that merge (no schema below them) or lists that are replaced.
constexpr SmpField kUnknownField{};

constexpr SmpField kObjectMetaFields[] = {
    {"ownerReferences", ListKind::kMergeByKey, "uid"},
    {"finalizers", ListKind::kMergeSet, ""},
};
constexpr SmpNode kObjectMeta{kObjectMetaFields};

constexpr SmpField kContainerFields[] = {
    {"ports", ListKind::kMergeByKey, "containerPort"},
    {"env", ListKind::kMergeByKey, "name"},
    {"volumeMounts", ListKind::kMergeByKey, "mountPath"},
    {"volumeDevices", ListKind::kMergeByKey, "devicePath"},
};
constexpr SmpNode kContainer{kContainerFields};

constexpr SmpField kPodSpecFields[] = {
    {"volumes", ListKind::kMergeByKey, "name"},
    {"initContainers", ListKind::kMergeByKey, "name", &kContainer},
    {"containers", ListKind::kMergeByKey, "name", &kContainer},
    {"ephemeralContainers", ListKind::kMergeByKey, "name", &kContainer},
    {"imagePullSecrets", ListKind::kMergeByKey, "name"},
    {"hostAliases", ListKind::kMergeByKey, "ip"},
    {"topologySpreadConstraints", ListKind::kMergeByKey, "topologyKey"},
    {"schedulingGates", ListKind::kMergeByKey, "name"},
    {"resourceClaims", ListKind::kMergeByKey, "name"},
};
constexpr SmpNode kPodSpec{kPodSpecFields};

// Kubernetes marks containerStatuses atomic; korc merges them by name (its node agent
// reports one container at a time), which gives the same result for full lists.
constexpr SmpField kPodStatusFields[] = {
    {"conditions", ListKind::kMergeByKey, "type"},
    {"containerStatuses", ListKind::kMergeByKey, "name"},
    {"initContainerStatuses", ListKind::kMergeByKey, "name"},
    {"ephemeralContainerStatuses", ListKind::kMergeByKey, "name"},
    {"podIPs", ListKind::kMergeByKey, "ip"},
    {"hostIPs", ListKind::kMergeByKey, "ip"},
};
constexpr SmpNode kPodStatus{kPodStatusFields};

constexpr SmpField kPodFields[] = {
    {"metadata", ListKind::kAtomic, "", &kObjectMeta},
    {"spec", ListKind::kAtomic, "", &kPodSpec},
    {"status", ListKind::kAtomic, "", &kPodStatus},
};
constexpr SmpNode kPod{kPodFields};

constexpr SmpField kPodTemplateSpecFields[] = {
    {"metadata", ListKind::kAtomic, "", &kObjectMeta},
    {"spec", ListKind::kAtomic, "", &kPodSpec},
};
constexpr SmpNode kPodTemplateSpec{kPodTemplateSpecFields};

constexpr SmpField kRcSpecFields[] = {
    {"template", ListKind::kAtomic, "", &kPodTemplateSpec},
};
constexpr SmpNode kRcSpec{kRcSpecFields};

// ReplicationControllerStatus, NamespaceStatus and ServiceStatus all key conditions by type.
constexpr SmpField kConditionsByTypeFields[] = {
    {"conditions", ListKind::kMergeByKey, "type"},
};
constexpr SmpNode kConditionsByType{kConditionsByTypeFields};

constexpr SmpField kRcFields[] = {
    {"metadata", ListKind::kAtomic, "", &kObjectMeta},
    {"spec", ListKind::kAtomic, "", &kRcSpec},
    {"status", ListKind::kAtomic, "", &kConditionsByType},
};
constexpr SmpNode kRc{kRcFields};

constexpr SmpField kServiceSpecFields[] = {
    {"ports", ListKind::kMergeByKey, "port"},
};
constexpr SmpNode kServiceSpec{kServiceSpecFields};

constexpr SmpField kServiceFields[] = {
    {"metadata", ListKind::kAtomic, "", &kObjectMeta},
    {"spec", ListKind::kAtomic, "", &kServiceSpec},
    {"status", ListKind::kAtomic, "", &kConditionsByType},
};
constexpr SmpNode kService{kServiceFields};

constexpr SmpField kMetadataOnlyFields[] = {
    {"metadata", ListKind::kAtomic, "", &kObjectMeta},
};
constexpr SmpNode kMetadataOnly{kMetadataOnlyFields};  // Endpoints, Event, Secret, Scale

constexpr SmpField kNodeSpecFields[] = {
    {"podCIDRs", ListKind::kMergeSet, ""},
};
constexpr SmpNode kNodeSpec{kNodeSpecFields};

constexpr SmpField kNodeStatusFields[] = {
    {"conditions", ListKind::kMergeByKey, "type"},
    {"addresses", ListKind::kMergeByKey, "type"},
};
constexpr SmpNode kNodeStatus{kNodeStatusFields};

constexpr SmpField kNodeFields[] = {
    {"metadata", ListKind::kAtomic, "", &kObjectMeta},
    {"spec", ListKind::kAtomic, "", &kNodeSpec},
    {"status", ListKind::kAtomic, "", &kNodeStatus},
};
constexpr SmpNode kNode{kNodeFields};

constexpr SmpField kNamespaceFields[] = {
    {"metadata", ListKind::kAtomic, "", &kObjectMeta},
    {"status", ListKind::kAtomic, "", &kConditionsByType},
};
constexpr SmpNode kNamespace{kNamespaceFields};

const SmpNode* RootSchema(std::string_view kind) {
  // autoscaling/v1 Scale (the /scale subresource) has no lists.
  if (kind == "Scale") return &kMetadataOnly;
  const KindInfo* info = FindKind(kind);
  if (info == nullptr) info = FindResource(kind);
  if (info == nullptr) return nullptr;
  if (info->kind == "Pod") return &kPod;
  if (info->kind == "ReplicationController") return &kRc;
  if (info->kind == "Service") return &kService;
  if (info->kind == "Endpoints") return &kMetadataOnly;
  if (info->kind == "Node") return &kNode;
  if (info->kind == "Namespace") return &kNamespace;
  if (info->kind == "Event") return &kMetadataOnly;
  if (info->kind == "Secret") return &kMetadataOnly;  // data and stringData are maps: merged
  return nullptr;
}

const SmpField& Lookup(const SmpNode* node, std::string_view name) {
  if (node != nullptr) {
    for (const SmpField& f : node->fields) {
      if (f.name == name) return f;
    }
  }
  return kUnknownField;
}

constexpr std::string_view kPatchDirective = "$patch";
constexpr std::string_view kRetainKeys = "$retainKeys";
constexpr std::string_view kSetElementOrder = "$setElementOrder/";
constexpr std::string_view kDeleteFromPrimitiveList = "$deleteFromPrimitiveList/";

// Applies a strategic merge patch. `path_` names where the merger is, for error messages.
class StrategicMerger {
 public:
  // Merges the object `patch` into `original` (made an object if it is not one). Sets
  // *deleted when the patch says `$patch: delete` for this map.
  Status MergeMap(Json& original, const Json& patch, const SmpNode* node, bool* deleted) {
    *deleted = false;
    if (auto it = patch.find(kPatchDirective); it != patch.end()) {
      if (!it->is_string()) return BadDirective(*it);
      const std::string& d = it->get_ref<const std::string&>();
      if (d == "delete") {
        *deleted = true;
        return Status::Ok();
      }
      if (d == "replace") {
        // The map becomes the patch's map (minus the directive), built from nothing.
        original = Json::object();
      } else if (d != "merge") {
        return BadDirective(*it);
      }
    }
    if (!original.is_object()) original = Json::object();

    KORC_RETURN_IF_ERROR(ApplyRetainKeys(original, patch));

    std::set<std::string> ordered;
    for (auto it = patch.begin(); it != patch.end(); ++it) {
      if (!StartsWith(it.key(), kSetElementOrder)) continue;
      std::string name = it.key().substr(kSetElementOrder.size());
      KORC_RETURN_IF_ERROR(ApplySetElementOrder(original, patch, name, *it, node));
      ordered.insert(std::move(name));
    }

    for (auto it = patch.begin(); it != patch.end(); ++it) {
      const std::string& key = it.key();
      const Json& value = *it;
      if (key == kPatchDirective || key == kRetainKeys || StartsWith(key, kSetElementOrder)) {
        continue;
      }
      if (StartsWith(key, kDeleteFromPrimitiveList)) {
        KORC_RETURN_IF_ERROR(
            DeleteFromPrimitiveList(original, key.substr(kDeleteFromPrimitiveList.size()), value));
        continue;
      }
      if (!key.empty() && key[0] == '$') {
        return Status::BadRequest(At() + "unknown strategic merge patch directive " + Quote(key));
      }
      if (ordered.count(key) != 0 && !value.is_null()) continue;  // merged with its order
      if (value.is_null()) {
        original.erase(key);
        continue;
      }
      const SmpField& field = Lookup(node, key);
      Enter(key);
      Status s = MergeField(original, key, value, field);
      Leave();
      KORC_RETURN_IF_ERROR(s);
    }
    return Status::Ok();
  }

  // Merges the list `patch` into the list `original` as `field` says.
  Status MergeList(Json& original, const Json& patch, const SmpField& field) {
    if (!original.is_array()) original = Json::array();
    switch (field.list) {
      case ListKind::kAtomic:
        return Build(patch, field, &original, nullptr);
      case ListKind::kMergeSet:
        return MergeSet(original, patch);
      case ListKind::kMergeByKey:
        return MergeByKey(original, patch, field);
    }
    return Status::Ok();
  }

 private:
  std::string At() const { return path_.empty() ? "" : path_ + ": "; }
  void Enter(std::string_view key) {
    marks_.push_back(path_.size());
    if (!path_.empty() && key.substr(0, 1) != "[") path_ += '.';
    path_ += key;
  }
  void Leave() {
    path_.resize(marks_.back());
    marks_.pop_back();
  }

  Status BadDirective(const Json& v) const {
    return Status::BadRequest(At() + "invalid $patch directive " + Show(v) +
                              "; expected \"replace\", \"delete\" or \"merge\"");
  }

  // original[key] <- patch value, merging when both are maps or both lists.
  Status MergeField(Json& original, const std::string& key, const Json& value,
                    const SmpField& field) {
    auto it = original.find(key);
    if (it != original.end() && it->is_object() && value.is_object()) {
      bool deleted = false;
      KORC_RETURN_IF_ERROR(MergeMap(*it, value, field.child, &deleted));
      if (deleted) original.erase(key);
      return Status::Ok();
    }
    if (it != original.end() && it->is_array() && value.is_array()) {
      return MergeList(*it, value, field);
    }
    // Absent from the original, or of another type: the patch value wins, built from
    // nothing so that its directives and nulls are applied rather than stored.
    Json built;
    bool deleted = false;
    KORC_RETURN_IF_ERROR(Build(value, field, &built, &deleted));
    if (deleted) {
      original.erase(key);
    } else {
      original[key] = std::move(built);
    }
    return Status::Ok();
  }

  // A patch value applied to nothing.
  Status Build(const Json& value, const SmpField& field, Json* out, bool* deleted) {
    if (deleted != nullptr) *deleted = false;
    if (value.is_object()) {
      Json built = Json::object();
      bool del = false;
      KORC_RETURN_IF_ERROR(MergeMap(built, value, field.child, &del));
      if (del && deleted != nullptr) *deleted = true;
      *out = std::move(built);
      return Status::Ok();
    }
    if (value.is_array()) {
      Json built = Json::array();
      if (field.list == ListKind::kAtomic) {
        SmpField element{"", ListKind::kAtomic, "", field.child};
        for (const Json& e : value) {
          Json b;
          bool del = false;
          KORC_RETURN_IF_ERROR(Build(e, element, &b, &del));
          if (!del) built.push_back(std::move(b));
        }
      } else {
        KORC_RETURN_IF_ERROR(MergeList(built, value, field));
      }
      *out = std::move(built);
      return Status::Ok();
    }
    *out = value;
    return Status::Ok();
  }

  // The value a list element is identified by: its merge key's value for keyed lists, the
  // element itself for lists of values. nullptr when a keyed element has no key.
  static const Json* Identity(const Json& element, std::string_view merge_key) {
    if (merge_key.empty()) return &element;
    if (!element.is_object()) return nullptr;
    auto it = element.find(merge_key);
    return it == element.end() ? nullptr : &*it;
  }

  static std::ptrdiff_t IndexIn(const std::vector<const Json*>& ids, const Json* id) {
    if (id == nullptr) return -1;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] != nullptr && *ids[i] == *id) return static_cast<std::ptrdiff_t>(i);
    }
    return -1;
  }

  static std::vector<const Json*> Identities(const Json& list, std::string_view merge_key) {
    std::vector<const Json*> ids;
    for (const Json& e : list) ids.push_back(Identity(e, merge_key));
    return ids;
  }

  // Kubernetes' normalizeElementOrder: the patch's items in `patch_order`, the server-only
  // items in `server_order`, then interleaved so that a server-only item goes before a patch
  // item that came after it in the live list (new items go before the remaining ones).
  static Json NormalizeOrder(const Json& merged, const Json& patch_order, const Json& server_order,
                             std::string_view merge_key) {
    std::vector<const Json*> patch_ids = Identities(patch_order, merge_key);
    std::vector<const Json*> server_ids = Identities(server_order, merge_key);
    struct Item {
      const Json* value;
      std::ptrdiff_t order;  // position in the list that orders its partition
    };
    std::vector<Item> patch_items, server_items;
    for (const Json& e : merged) {
      const Json* id = Identity(e, merge_key);
      std::ptrdiff_t p = IndexIn(patch_ids, id);
      if (p >= 0) {
        patch_items.push_back({&e, p});
      } else {
        server_items.push_back({&e, IndexIn(server_ids, id)});
      }
    }
    auto by_order = [](const Item& a, const Item& b) {
      if (a.order < 0 || b.order < 0) return a.order >= 0 && b.order < 0;
      return a.order < b.order;
    };
    std::stable_sort(patch_items.begin(), patch_items.end(), by_order);
    std::stable_sort(server_items.begin(), server_items.end(), by_order);

    Json out = Json::array();
    size_t i = 0, j = 0;
    while (i < server_items.size() || j < patch_items.size()) {
      bool take_server;
      if (j >= patch_items.size()) {
        take_server = true;
      } else if (i >= server_items.size()) {
        take_server = false;
      } else {
        std::ptrdiff_t li = server_items[i].order;
        std::ptrdiff_t ri = IndexIn(server_ids, Identity(*patch_items[j].value, merge_key));
        take_server = li >= 0 && ri >= 0 && li < ri;
      }
      if (take_server) {
        out.push_back(*server_items[i++].value);
      } else {
        out.push_back(*patch_items[j++].value);
      }
    }
    return out;
  }

  Status MergeSet(Json& original, const Json& patch) {
    for (const Json& v : patch) {
      if (v.is_object() || v.is_array()) {
        return Status::BadRequest(At() + "this list holds values, not " + Show(v));
      }
    }
    Json server_order = original;
    Json merged = Json::array();
    auto add_unique = [&merged](const Json& v) {
      if (std::find(merged.begin(), merged.end(), v) == merged.end()) merged.push_back(v);
    };
    for (const Json& v : original) add_unique(v);
    for (const Json& v : patch) add_unique(v);
    original = NormalizeOrder(merged, patch, server_order, "");
    return Status::Ok();
  }

  Status MergeByKey(Json& original, const Json& patch, const SmpField& field) {
    const std::string_view key = field.merge_key;
    Json base = original;
    bool replace = false;
    Json plain = Json::array();
    for (const Json& e : patch) {
      if (!e.is_object()) {
        return Status::BadRequest(At() + "list element " + Show(e) +
                                  " is not an object; elements merge by \"" + std::string(key) +
                                  "\"");
      }
      auto d = e.find(kPatchDirective);
      if (d == e.end()) {
        plain.push_back(e);
        continue;
      }
      if (!d->is_string()) return BadDirective(*d);
      const std::string& directive = d->get_ref<const std::string&>();
      if (directive == "delete") {
        const Json* id = Identity(e, key);
        if (id == nullptr) return NoMergeKey(e, key);
        Json kept = Json::array();
        for (Json& b : base) {
          const Json* bid = Identity(b, key);
          if (bid == nullptr || *bid != *id) kept.push_back(std::move(b));
        }
        base = std::move(kept);
      } else if (directive == "replace") {
        replace = true;
      } else if (directive == "merge") {
        // Kubernetes refuses `$patch: merge` in a list ("merging lists cannot yet be
        // specified"); merging is what a keyed list does anyway, so take it as a no-op.
        Json element = e;
        element.erase(kPatchDirective);
        if (element.size() > 0) plain.push_back(std::move(element));
      } else {
        return BadDirective(*d);
      }
    }
    if (replace) base = Json::array();
    Json server_order = base;
    SmpField element_field{"", ListKind::kAtomic, "", field.child};
    for (const Json& e : plain) {
      const Json* id = Identity(e, key);
      if (id == nullptr) return NoMergeKey(e, key);
      Json* match = nullptr;
      for (Json& b : base) {
        const Json* bid = Identity(b, key);
        if (bid != nullptr && *bid == *id) {
          match = &b;
          break;
        }
      }
      Enter("[" + std::string(key) + "=" + id->dump() + "]");
      Status s;
      if (match != nullptr) {
        bool deleted = false;
        s = MergeMap(*match, e, field.child, &deleted);
      } else {
        Json built;
        s = Build(e, element_field, &built, nullptr);
        if (s.ok()) base.push_back(std::move(built));
      }
      Leave();
      KORC_RETURN_IF_ERROR(s);
    }
    original = NormalizeOrder(base, plain, server_order, key);
    return Status::Ok();
  }

  Status NoMergeKey(const Json& e, std::string_view key) const {
    return Status::BadRequest(At() + "list element " + Show(e) +
                              " does not contain its merge key \"" + std::string(key) + "\"");
  }

  // `$retainKeys: [...]`: keys of the original map not listed are cleared before merging;
  // every key the patch sets must be listed.
  Status ApplyRetainKeys(Json& original, const Json& patch) {
    auto it = patch.find(kRetainKeys);
    if (it == patch.end()) return Status::Ok();
    if (!it->is_array()) {
      return Status::BadRequest(At() + "$retainKeys must be a list of field names, got " +
                                Show(*it));
    }
    std::set<std::string> keep;
    for (const Json& k : *it) {
      if (!k.is_string()) {
        return Status::BadRequest(At() + "$retainKeys must be a list of field names, got " +
                                  Show(*it));
      }
      keep.insert(k.get<std::string>());
    }
    for (auto p = patch.begin(); p != patch.end(); ++p) {
      const std::string& k = p.key();
      if (p->is_null() || (!k.empty() && k[0] == '$')) continue;
      if (keep.count(k) == 0) {
        return Status::BadRequest(At() + "the patch sets " + Quote(k) +
                                  ", which its $retainKeys list does not name");
      }
    }
    for (auto o = original.begin(); o != original.end();) {
      if (keep.count(o.key()) == 0) {
        o = original.erase(o);
      } else {
        ++o;
      }
    }
    return Status::Ok();
  }

  // `$setElementOrder/<name>: [...]`: the list is merged as usual, then its items listed in
  // the order list take that order; items only the server has keep their place.
  Status ApplySetElementOrder(Json& original, const Json& patch, const std::string& name,
                              const Json& order, const SmpNode* node) {
    Enter(name);
    Status s = SetElementOrder(original, patch, name, order, Lookup(node, name));
    Leave();
    return s;
  }

  Status SetElementOrder(Json& original, const Json& patch, const std::string& name,
                         const Json& order, const SmpField& field) {
    if (name.empty()) {
      return Status::BadRequest("invalid directive " + Quote(kSetElementOrder) +
                                ": it must name a list");
    }
    if (!order.is_array()) {
      return Status::BadRequest(At() + "$setElementOrder must be a list, got " + Show(order));
    }
    const std::string_view key = field.list == ListKind::kMergeByKey ? field.merge_key : "";
    for (const Json& o : order) {
      if (Identity(o, key) == nullptr) return NoMergeKey(o, key);
    }
    auto patch_it = patch.find(name);
    if (patch_it != patch.end() && patch_it->is_null()) return Status::Ok();  // deleted below
    if (patch_it != patch.end() && !patch_it->is_array()) {
      return Status::BadRequest(At() + "expected a list alongside $setElementOrder, got " +
                                Show(*patch_it));
    }
    auto orig_it = original.find(name);
    const bool have_original = orig_it != original.end() && orig_it->is_array();
    const bool have_patch = patch_it != patch.end();
    if (!have_original && !have_patch) return Status::Ok();
    if (have_patch) KORC_RETURN_IF_ERROR(CheckOrder(*patch_it, order, key));

    Json server_order = have_original ? *orig_it : Json::array();
    Json merged = server_order;
    if (have_patch) KORC_RETURN_IF_ERROR(MergeList(merged, *patch_it, field));
    original[name] = NormalizeOrder(merged, order, server_order, key);
    return Status::Ok();
  }

  // The patch list's items (deletions aside) must appear in the order list, in its order.
  Status CheckOrder(const Json& patch_list, const Json& order, std::string_view key) const {
    size_t o = 0;
    for (const Json& e : patch_list) {
      if (e.is_object() && e.contains(kPatchDirective)) continue;
      const Json* id = Identity(e, key);
      if (id == nullptr) return NoMergeKey(e, key);
      bool found = false;
      for (; o < order.size(); ++o) {
        if (*Identity(order[o], key) == *id) {
          found = true;
          ++o;
          break;
        }
      }
      if (!found) {
        return Status::BadRequest(At() + "the order of the patch list " + Show(patch_list) +
                                  " does not match its $setElementOrder list " + Show(order));
      }
    }
    return Status::Ok();
  }

  Status DeleteFromPrimitiveList(Json& original, const std::string& name, const Json& values) {
    if (name.empty()) {
      return Status::BadRequest("invalid directive " + Quote(kDeleteFromPrimitiveList) +
                                ": it must name a list");
    }
    if (!values.is_array()) {
      return Status::BadRequest(At() + "$deleteFromPrimitiveList/" + name +
                                " must be a list of values, got " + Show(values));
    }
    auto it = original.find(name);
    if (it == original.end() || !it->is_array()) return Status::Ok();
    Json kept = Json::array();
    for (const Json& v : *it) {
      if (std::find(values.begin(), values.end(), v) == values.end()) kept.push_back(v);
    }
    *it = std::move(kept);
    return Status::Ok();
  }

  std::string path_;
  std::vector<size_t> marks_;
};

Status ApplyStrategicMergePatch(std::string_view kind, Json& doc, const Json& patch) {
  const SmpNode* root = RootSchema(kind);
  if (root == nullptr) {
    return Status(Code::kUnsupportedMediaType,
                  "strategic merge patch is not supported for kind " + Quote(kind) +
                      "; use application/merge-patch+json or application/json-patch+json");
  }
  if (!patch.is_object()) {
    return Status::BadRequest("a strategic merge patch must be a JSON object, got " + Show(patch));
  }
  StrategicMerger merger;
  bool deleted = false;
  KORC_RETURN_IF_ERROR(merger.MergeMap(doc, patch, root, &deleted));
  if (deleted) doc = Json::object();
  return Status::Ok();
}

}  // namespace

std::optional<PatchType> ParsePatchType(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  media = Trim(media);
  if (EqualFold(media, "application/json-patch+json")) return PatchType::kJsonPatch;
  if (EqualFold(media, "application/merge-patch+json")) return PatchType::kMergePatch;
  if (EqualFold(media, "application/strategic-merge-patch+json")) {
    return PatchType::kStrategicMergePatch;
  }
  return std::nullopt;
}

Result<std::string> ApplyPatch(std::string_view kind, std::string_view original_json,
                               std::string_view patch_body, PatchType type) {
  try {
    Json doc;
    KORC_RETURN_IF_ERROR(ParseJson(original_json, "the stored object", Code::kInternal, &doc));
    if (!doc.is_object()) return Status::Internal("the stored object is not a JSON object");
    if (TooDeep(patch_body)) {
      return Status::BadRequest("the patch body nests deeper than " +
                                std::to_string(kMaxPatchDepth) + " levels");
    }
    Json patch;
    KORC_RETURN_IF_ERROR(ParseJson(patch_body, "the patch body", Code::kBadRequest, &patch));
    switch (type) {
      case PatchType::kJsonPatch:
        KORC_RETURN_IF_ERROR(ApplyJsonPatch(doc, patch));
        break;
      case PatchType::kMergePatch:
        if (!patch.is_object()) {
          return Status::BadRequest("a merge patch must be a JSON object, got " + Show(patch));
        }
        doc.merge_patch(patch);
        break;
      case PatchType::kStrategicMergePatch:
        KORC_RETURN_IF_ERROR(ApplyStrategicMergePatch(kind, doc, patch));
        break;
    }
    return doc.dump();
  } catch (const std::exception& e) {
    // nlohmann throws on, e.g., invalid UTF-8 while dumping; nothing may escape this module.
    return Status::Internal("applying the patch failed: " + ExceptionText(e));
  }
}

}  // namespace korc::apiserver
