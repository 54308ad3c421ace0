// The Kubernetes protobuf wire format, as far as korc needs it: kubectl 1.32 and later send
// the bodies of typed commands (`kubectl create namespace`) as
// application/vnd.kubernetes.protobuf with no fallback to JSON, so the API server reads
// them. Only what those bodies carry is decoded: metadata (name, generateName, namespace,
// labels, annotations), a Namespace's spec.finalizers (`kubectl create namespace`) and a
// Secret's data, stringData, type and immutable (`kubectl create secret`). korc answers in
// JSON, which every client accepts.
#pragma once

#include <string_view>

#include "core/codec.h"
#include "core/status.h"

namespace korc::apiserver {

inline constexpr std::string_view kProtobufContentType = "application/vnd.kubernetes.protobuf";

// Decodes a "k8s\0"-enveloped runtime.Unknown holding a v1 object. BadRequest for anything
// malformed, and for kinds korc does not read as protobuf (send JSON instead).
Result<Decoded> DecodeProtobuf(std::string_view body);

}  // namespace korc::apiserver
