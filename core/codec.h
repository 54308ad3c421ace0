// Codecs: JSON (simdjson in, a direct writer out) and YAML (yaml-cpp, multi-document
// streams) for every served kind, all derived from the schema in core/objects.h.
//
// Decoding never throws. It reports
//   - syntax errors with a line and column (Status BadRequest),
//   - wrong value types with the field path, e.g. "spec.replicas: expected an integer, got
//     string \"x\"" (BadRequest),
//   - fields the schema does not know, as paths ("spec.foo"), in Decoded::unknown_fields, so
//     the caller can drop them with a warning or refuse them (kubectl's
//     fieldValidation=Strict), as Kubernetes does.
//
// Thread-safety: all functions are reentrant (each thread keeps its own simdjson parser).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/kinds.h"
#include "core/objects.h"
#include "core/status.h"

namespace korc {

struct Decoded {
  api::Object object;
  std::vector<std::string> unknown_fields;  // "spec.containers[0].foo"
};

// Decodes one object of any served kind, dispatching on apiVersion/kind.
Result<Decoded> DecodeJson(std::string_view json);
// Decodes JSON as kind T without looking at apiVersion/kind (the API server knows the kind
// from the URL and checks the body's kind itself).
template <class T>
Result<T> DecodeJsonAs(std::string_view json, std::vector<std::string>* unknown_fields);

// How an object is written. Output meant for people (the CLI's YAML, diffs and summaries,
// log lines) sets redact_secrets: a Secret's data values are written as "<N bytes>" instead
// of their base64. The API itself returns them, as Kubernetes does.
struct EncodeOptions {
  bool redact_secrets = false;
};

// Encodes as compact JSON; apiVersion and kind are filled in when empty.
std::string EncodeJson(const api::Object& object, const EncodeOptions& options = {});
template <class T>
std::string EncodeJsonAs(const T& value);  // any schema-described value, as it is

// One document of a YAML (or JSON) manifest stream.
struct Manifest {
  Decoded decoded;
  int line = 0;  // 1-based line where the document starts
};

// Decodes every document of a stream ("---" separated; empty documents are skipped; a
// document that is a `kind: List` contributes its items). The first bad document fails the
// whole stream, with its line and column in the message.
Result<std::vector<Manifest>> DecodeYamlStream(std::string_view text);

// Encodes as block-style YAML, apiVersion and kind first.
std::string EncodeYaml(const api::Object& object, const EncodeOptions& options = {});

// An object's JSON as the log and the API hold it, made fit for people: a Secret's comes
// back re-encoded with redact_secrets (a Secret that does not decode gives a stub that names
// it and holds no data); any other kind's comes back as it is.
std::string RedactedJson(std::string_view object_json);

// Where a JSON text stops parsing: 1-based line and column of the first syntax error
// (0, 0 when it parses).
std::pair<int, int> JsonErrorPosition(std::string_view json);

}  // namespace korc
