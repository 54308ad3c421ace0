#include "components/apiserver/patch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace korc::apiserver {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;

struct PatchCase {
  std::string name;  // the behaviour, used as the test name
  std::string original;
  std::string patch;
  std::string expected;
  std::string kind = "Pod";
};

std::string CaseName(const ::testing::TestParamInfo<PatchCase>& info) { return info.param.name; }

// Applies the case's patch and compares the result with `expected` as JSON values.
void ExpectPatched(const PatchCase& c, PatchType type) {
  Result<std::string> got = ApplyPatch(c.kind, c.original, c.patch, type);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(Json::parse(*got), Json::parse(c.expected)) << "got " << *got;
  EXPECT_THAT(*got, Not(HasSubstr("\"$"))) << "a directive leaked into the result";
}

Status PatchError(std::string_view kind, std::string_view original, std::string_view patch,
                  PatchType type) {
  Result<std::string> got = ApplyPatch(kind, original, patch, type);
  EXPECT_FALSE(got.ok()) << "unexpectedly patched to " << (got.ok() ? *got : "");
  return got.status();
}

// ---------------------------------------------------------------------------------------
// ParsePatchType

TEST(ParsePatchTypeTest, KnownMediaTypes) {
  EXPECT_EQ(ParsePatchType("application/json-patch+json"), PatchType::kJsonPatch);
  EXPECT_EQ(ParsePatchType("application/merge-patch+json"), PatchType::kMergePatch);
  EXPECT_EQ(ParsePatchType("application/strategic-merge-patch+json"),
            PatchType::kStrategicMergePatch);
}

TEST(ParsePatchTypeTest, IgnoresParametersSpacesAndCase) {
  EXPECT_EQ(ParsePatchType("application/merge-patch+json; charset=utf-8"), PatchType::kMergePatch);
  EXPECT_EQ(ParsePatchType("  Application/JSON-Patch+JSON ;charset=UTF-8"), PatchType::kJsonPatch);
}

TEST(ParsePatchTypeTest, UnknownIsNullopt) {
  for (const char* ct : {"", "application/json", "application/apply-patch+yaml", "text/plain",
                         "application/merge-patch", "application/json-patch+json-x"}) {
    EXPECT_EQ(ParsePatchType(ct), std::nullopt) << ct;
  }
}

// ---------------------------------------------------------------------------------------
// JSON merge patch: RFC 7386 Appendix A (object targets) and nesting.

class MergePatchTest : public ::testing::TestWithParam<PatchCase> {};

TEST_P(MergePatchTest, Applies) { ExpectPatched(GetParam(), PatchType::kMergePatch); }

INSTANTIATE_TEST_SUITE_P(
    Rfc7386, MergePatchTest,
    ::testing::Values(
        PatchCase{"ReplacesValue", R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
        PatchCase{"AddsMember", R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
        PatchCase{"NullDeletesMember", R"({"a":"b"})", R"({"a":null})", R"({})"},
        PatchCase{"NullDeletesOnlyThatMember", R"({"a":"b","b":"c"})", R"({"a":null})",
                  R"({"b":"c"})"},
        PatchCase{"ListReplacedByValue", R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
        PatchCase{"ValueReplacedByList", R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
        PatchCase{"NestedMergeAndDelete", R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})",
                  R"({"a":{"b":"d"}})"},
        PatchCase{"ListsAreReplacedWhole", R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
        PatchCase{"NullInTargetIsKept", R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
        PatchCase{"NullsInNewMapsAreDropped", R"({})", R"({"a":{"bb":{"ccc":null}}})",
                  R"({"a":{"bb":{}}})"},
        PatchCase{"DeepNesting", R"({"metadata":{"labels":{"app":"web","tier":"db"}}})",
                  R"({"metadata":{"labels":{"tier":null,"foo":"bar"}}})",
                  R"({"metadata":{"labels":{"app":"web","foo":"bar"}}})"}),
    CaseName);

TEST(MergePatchErrorTest, BodyNotJsonIsBadRequest) {
  Status s = PatchError("Pod", "{}", "{\"a\":", PatchType::kMergePatch);
  EXPECT_EQ(s.code(), Code::kBadRequest);
  EXPECT_THAT(s.message(), HasSubstr("not valid JSON"));
}

TEST(MergePatchErrorTest, BodyNotObjectIsBadRequest) {
  Status s = PatchError("Pod", R"({"a":"b"})", R"(["c"])", PatchType::kMergePatch);
  EXPECT_EQ(s.code(), Code::kBadRequest);
  EXPECT_THAT(s.message(), HasSubstr("must be a JSON object"));
}

TEST(PatchDepthTest, DeeplyNestedBodyIsBadRequestForEveryType) {
  std::string deep(5000, '[');
  deep += std::string(5000, ']');
  std::string deep_object;
  for (int i = 0; i < 5000; ++i) deep_object += "{\"a\":";
  deep_object += "1" + std::string(5000, '}');
  for (PatchType type :
       {PatchType::kJsonPatch, PatchType::kMergePatch, PatchType::kStrategicMergePatch}) {
    for (const std::string& body : {deep, deep_object}) {
      Status s = PatchError("Pod", "{}", body, type);
      EXPECT_EQ(s.code(), Code::kBadRequest);
      EXPECT_THAT(s.message(), HasSubstr("nests deeper than 1000 levels"));
    }
  }
}

TEST(PatchDepthTest, BracketsInsideStringsDoNotCount) {
  std::string text(3000, '{');
  std::string body = R"({"metadata":{"annotations":{"x":")" + text + R"(\"["}}})";
  Result<std::string> got = ApplyPatch("Pod", "{}", body, PatchType::kStrategicMergePatch);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(Json::parse(*got)["metadata"]["annotations"]["x"], text + "\"[");
}

TEST(MergePatchErrorTest, StoredObjectNotJsonIsInternal) {
  Status s = PatchError("Pod", "nope", "{}", PatchType::kMergePatch);
  EXPECT_EQ(s.code(), Code::kInternal);
}

// ---------------------------------------------------------------------------------------
// JSON patch: RFC 6902 Appendix A and Kubernetes' error codes.

class JsonPatchTest : public ::testing::TestWithParam<PatchCase> {};

TEST_P(JsonPatchTest, Applies) { ExpectPatched(GetParam(), PatchType::kJsonPatch); }

INSTANTIATE_TEST_SUITE_P(
    Rfc6902, JsonPatchTest,
    ::testing::Values(
        PatchCase{"AddObjectMember", R"({"foo":"bar"})",
                  R"([{"op":"add","path":"/baz","value":"qux"}])", R"({"baz":"qux","foo":"bar"})"},
        PatchCase{"AddArrayElement", R"({"foo":["bar","baz"]})",
                  R"([{"op":"add","path":"/foo/1","value":"qux"}])",
                  R"({"foo":["bar","qux","baz"]})"},
        PatchCase{"AddAppendsWithDash", R"({"foo":["bar"]})",
                  R"([{"op":"add","path":"/foo/-","value":["abc","def"]}])",
                  R"({"foo":["bar",["abc","def"]]})"},
        PatchCase{"AddReplacesExistingMember", R"({"foo":"bar"})",
                  R"([{"op":"add","path":"/foo","value":1}])", R"({"foo":1})"},
        PatchCase{"AddNestedMember", R"({"foo":"bar"})",
                  R"([{"op":"add","path":"/child","value":{"grandchild":{}}}])",
                  R"({"foo":"bar","child":{"grandchild":{}}})"},
        PatchCase{"RemoveObjectMember", R"({"baz":"qux","foo":"bar"})",
                  R"([{"op":"remove","path":"/baz"}])", R"({"foo":"bar"})"},
        PatchCase{"RemoveArrayElement", R"({"foo":["bar","qux","baz"]})",
                  R"([{"op":"remove","path":"/foo/1"}])", R"({"foo":["bar","baz"]})"},
        PatchCase{"Replace", R"({"baz":"qux","foo":"bar"})",
                  R"([{"op":"replace","path":"/baz","value":"boo"}])",
                  R"({"baz":"boo","foo":"bar"})"},
        PatchCase{"MoveValue", R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
                  R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])",
                  R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})"},
        PatchCase{"MoveArrayElement", R"({"foo":["all","grass","cows","eat"]})",
                  R"([{"op":"move","from":"/foo/1","path":"/foo/3"}])",
                  R"({"foo":["all","cows","eat","grass"]})"},
        PatchCase{"Copy", R"({"a":{"b":1}})", R"([{"op":"copy","from":"/a","path":"/c"}])",
                  R"({"a":{"b":1},"c":{"b":1}})"},
        PatchCase{"TestThenReplace", R"({"spec":{"replicas":2}})",
                  R"([{"op":"test","path":"/spec/replicas","value":2},
                      {"op":"replace","path":"/spec/replicas","value":5}])",
                  R"({"spec":{"replicas":5}})"},
        PatchCase{"TestComparesObjectsIgnoringKeyOrder", R"({"a":{"x":1,"y":[1,2]}})",
                  R"([{"op":"test","path":"/a","value":{"y":[1,2],"x":1.0}}])",
                  R"({"a":{"x":1,"y":[1,2]}})"},
        PatchCase{"EscapedPointerTokens", R"({"metadata":{"labels":{"a/b":"1","m~n":"2"}}})",
                  R"([{"op":"remove","path":"/metadata/labels/a~1b"},
                      {"op":"replace","path":"/metadata/labels/m~0n","value":"3"}])",
                  R"({"metadata":{"labels":{"m~n":"3"}}})"},
        PatchCase{"EmptyPatchIsNoOp", R"({"a":1})", R"([])", R"({"a":1})"}),
    CaseName);

struct JsonPatchErrorCase {
  std::string name;
  std::string original;
  std::string patch;
  Code code;
  std::string message;  // a substring of the error
};

class JsonPatchErrorTest : public ::testing::TestWithParam<JsonPatchErrorCase> {};

TEST_P(JsonPatchErrorTest, Fails) {
  const JsonPatchErrorCase& c = GetParam();
  Status s = PatchError("Pod", c.original, c.patch, PatchType::kJsonPatch);
  EXPECT_EQ(s.code(), c.code) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(c.message));
}

INSTANTIATE_TEST_SUITE_P(
    Errors, JsonPatchErrorTest,
    ::testing::Values(
        // Malformed bodies: 400, as Kubernetes decodes them.
        JsonPatchErrorCase{"NotJson", "{}", "[{", Code::kBadRequest, "not valid JSON"},
        JsonPatchErrorCase{"NotAnArray", "{}", R"({"op":"add"})", Code::kBadRequest,
                           "must be an array of operations"},
        JsonPatchErrorCase{"OperationNotObject", "{}", R"(["add"])", Code::kBadRequest,
                           "operation 0 is not an object"},
        JsonPatchErrorCase{"MissingOp", "{}", R"([{"path":"/a"}])", Code::kBadRequest,
                           "no string member \"op\""},
        JsonPatchErrorCase{"UnknownOp", "{}", R"([{"op":"merge","path":"/a"}])", Code::kBadRequest,
                           "unknown operation \"merge\""},
        JsonPatchErrorCase{"MissingPath", "{}", R"([{"op":"remove"}])", Code::kBadRequest,
                           "no string member \"path\""},
        JsonPatchErrorCase{"MissingValue", "{}", R"([{"op":"add","path":"/a"}])", Code::kBadRequest,
                           "no member \"value\""},
        JsonPatchErrorCase{"MissingFrom", "{}", R"([{"op":"move","path":"/a"}])", Code::kBadRequest,
                           "no string member \"from\""},
        JsonPatchErrorCase{"PointerWithoutSlash", R"({"a":1})", R"([{"op":"remove","path":"a"}])",
                           Code::kBadRequest, "must be empty or start with \"/\""},
        JsonPatchErrorCase{"BadPointerEscape", R"({"a":1})", R"([{"op":"remove","path":"/~2"}])",
                           Code::kBadRequest, "\"~\" not followed by"},
        JsonPatchErrorCase{"MalformedOpAfterFailingOpIsStillBadRequest", R"({"a":1})",
                           R"([{"op":"remove","path":"/nope"},{"op":"bogus","path":"/a"}])",
                           Code::kBadRequest, "operation 1"},
        // Operations that do not fit the object: 422, as Kubernetes answers.
        JsonPatchErrorCase{"TestFails", R"({"spec":{"replicas":2}})",
                           R"([{"op":"test","path":"/spec/replicas","value":3}])", Code::kInvalid,
                           "failed: the value at \"/spec/replicas\" is 2"},
        JsonPatchErrorCase{"TestOfMissingPath", R"({})", R"([{"op":"test","path":"/a","value":1}])",
                           Code::kInvalid, "path \"/a\" does not exist"},
        JsonPatchErrorCase{"RemoveMissingMember", R"({"a":1})", R"([{"op":"remove","path":"/b"}])",
                           Code::kInvalid, "path \"/b\" does not exist"},
        JsonPatchErrorCase{"ReplaceMissingMember", R"({"a":1})",
                           R"([{"op":"replace","path":"/spec/nodeName","value":"n"}])",
                           Code::kInvalid, "does not exist"},
        JsonPatchErrorCase{"AddUnderMissingParent", R"({"a":1})",
                           R"([{"op":"add","path":"/b/c","value":1}])", Code::kInvalid,
                           "parent of \"/b/c\" does not exist"},
        JsonPatchErrorCase{"AddUnderPrimitiveParent", R"({"spec":{"replicas":1}})",
                           R"([{"op":"add","path":"/spec/replicas/x","value":1}])", Code::kInvalid,
                           "neither an object nor an array"},
        JsonPatchErrorCase{"ArrayIndexOutOfRange", R"({"a":[1]})",
                           R"([{"op":"add","path":"/a/5","value":1}])", Code::kInvalid,
                           "out of range"},
        JsonPatchErrorCase{"ArrayIndexWithLeadingZero", R"({"a":[1,2]})",
                           R"([{"op":"remove","path":"/a/01"}])", Code::kInvalid, "does not exist"},
        JsonPatchErrorCase{"MoveIntoOwnChild", R"({"a":{"b":{}}})",
                           R"([{"op":"move","from":"/a","path":"/a/b/c"}])", Code::kInvalid,
                           "into its own child"},
        JsonPatchErrorCase{"CopyFromMissingPath", R"({"a":1})",
                           R"([{"op":"copy","from":"/x","path":"/y"}])", Code::kInvalid,
                           "path \"/x\" does not exist"},
        JsonPatchErrorCase{"RemoveWholeDocument", R"({"a":1})", R"([{"op":"remove","path":""}])",
                           Code::kInvalid, "cannot remove the whole document"}),
    [](const ::testing::TestParamInfo<JsonPatchErrorCase>& info) { return info.param.name; });

TEST(JsonPatchErrorTest, TooManyOperationsIsTooLarge) {
  std::string ops = "[";
  for (int i = 0; i <= 10000; ++i) {
    ops += std::string(i ? "," : "") + R"({"op":"test","path":"/a","value":1})";
  }
  ops += "]";
  Status s = PatchError("Pod", R"({"a":1})", ops, PatchType::kJsonPatch);
  EXPECT_EQ(s.code(), Code::kTooLarge);
}

// ---------------------------------------------------------------------------------------
// Strategic merge patch: merge keys, list strategies and directives.

class StrategicMergePatchTest : public ::testing::TestWithParam<PatchCase> {};

TEST_P(StrategicMergePatchTest, Applies) {
  ExpectPatched(GetParam(), PatchType::kStrategicMergePatch);
}

INSTANTIATE_TEST_SUITE_P(
    MapsAndNulls, StrategicMergePatchTest,
    ::testing::Values(
        PatchCase{"MapsMergeRecursively",
                  R"({"metadata":{"name":"p","labels":{"app":"web"}},"spec":{"nodeName":"n1"}})",
                  R"({"metadata":{"labels":{"tier":"db"}}})",
                  R"({"metadata":{"name":"p","labels":{"app":"web","tier":"db"}},
                      "spec":{"nodeName":"n1"}})"},
        PatchCase{"NullDeletesKey", R"({"metadata":{"labels":{"app":"web","tier":"db"}}})",
                  R"({"metadata":{"labels":{"tier":null}}})",
                  R"({"metadata":{"labels":{"app":"web"}}})"},
        PatchCase{"NullForMissingKeyIsIgnored", R"({"metadata":{"name":"p"}})",
                  R"({"metadata":{"annotations":null,"labels":{"a":null,"b":"x"}}})",
                  R"({"metadata":{"name":"p","labels":{"b":"x"}}})"},
        PatchCase{"ScalarReplacedByMap", R"({"spec":{"x":"y"}})", R"({"spec":{"x":{"a":1}}})",
                  R"({"spec":{"x":{"a":1}}})"}),
    CaseName);

INSTANTIATE_TEST_SUITE_P(
    MergeKeys, StrategicMergePatchTest,
    ::testing::Values(
        PatchCase{"ContainersMergeByName",
                  R"({"spec":{"containers":[{"name":"app","image":"a:1","args":["x"]},
                                            {"name":"side","image":"s:1"}]}})",
                  R"({"spec":{"containers":[{"name":"side","image":"s:2"}]}})",
                  R"({"spec":{"containers":[{"name":"app","image":"a:1","args":["x"]},
                                            {"name":"side","image":"s:2"}]}})"},
        // Kubernetes' order without $setElementOrder: items new to the list go before the
        // live items that are not in the patch.
        PatchCase{"NewContainerGoesFirstWithoutOrderDirective",
                  R"({"spec":{"containers":[{"name":"a","image":"a"},{"name":"b","image":"b"}]}})",
                  R"({"spec":{"containers":[{"name":"c","image":"c"}]}})",
                  R"({"spec":{"containers":[{"name":"c","image":"c"},{"name":"a","image":"a"},
                                            {"name":"b","image":"b"}]}})"},
        PatchCase{"InitContainersMergeByName",
                  R"({"spec":{"initContainers":[{"name":"init","image":"i:1","command":["a"]}]}})",
                  R"({"spec":{"initContainers":[{"name":"init","image":"i:2"}]}})",
                  R"({"spec":{"initContainers":[{"name":"init","image":"i:2","command":["a"]}]}})"},
        PatchCase{"ContainerPortsMergeByContainerPort",
                  R"({"spec":{"containers":[{"name":"c","ports":[
                      {"containerPort":80,"protocol":"TCP"},{"containerPort":443}]}]}})",
                  R"({"spec":{"containers":[{"name":"c","ports":[
                      {"containerPort":80,"hostPort":8080}]}]}})",
                  R"({"spec":{"containers":[{"name":"c","ports":[
                      {"containerPort":80,"protocol":"TCP","hostPort":8080},
                      {"containerPort":443}]}]}})"},
        PatchCase{"EnvMergesByName",
                  R"({"spec":{"containers":[{"name":"c","env":[
                      {"name":"A","value":"1"},{"name":"B","value":"2"}]}]}})",
                  R"({"spec":{"containers":[{"name":"c","env":[{"name":"B","value":"3"}]}]}})",
                  R"({"spec":{"containers":[{"name":"c","env":[
                      {"name":"A","value":"1"},{"name":"B","value":"3"}]}]}})"},
        PatchCase{"VolumeMountsMergeByMountPath",
                  R"({"spec":{"containers":[{"name":"c","volumeMounts":[
                      {"name":"data","mountPath":"/data"},{"name":"logs","mountPath":"/logs"}]}]}})",
                  R"({"spec":{"containers":[{"name":"c","volumeMounts":[
                      {"mountPath":"/data","readOnly":true}]}]}})",
                  R"({"spec":{"containers":[{"name":"c","volumeMounts":[
                      {"name":"data","mountPath":"/data","readOnly":true},
                      {"name":"logs","mountPath":"/logs"}]}]}})"},
        PatchCase{"VolumesMergeByName",
                  R"({"spec":{"volumes":[{"name":"a","emptyDir":{}},{"name":"b","emptyDir":{}}]}})",
                  R"({"spec":{"volumes":[{"name":"b","emptyDir":{"medium":"Memory"}}]}})",
                  R"({"spec":{"volumes":[{"name":"a","emptyDir":{}},
                                         {"name":"b","emptyDir":{"medium":"Memory"}}]}})"},
        PatchCase{"ImagePullSecretsMergeByName", R"({"spec":{"imagePullSecrets":[{"name":"a"}]}})",
                  R"({"spec":{"imagePullSecrets":[{"name":"a"},{"name":"b"}]}})",
                  R"({"spec":{"imagePullSecrets":[{"name":"a"},{"name":"b"}]}})"},
        PatchCase{"PodConditionsMergeByType",
                  R"({"status":{"conditions":[{"type":"PodScheduled","status":"True"},
                                              {"type":"Ready","status":"False"}]}})",
                  R"({"status":{"conditions":[{"type":"Ready","status":"True"}]}})",
                  R"({"status":{"conditions":[{"type":"PodScheduled","status":"True"},
                                              {"type":"Ready","status":"True"}]}})"},
        PatchCase{"ContainerStatusesMergeByName",
                  R"({"status":{"containerStatuses":[{"name":"a","ready":false,"restartCount":1},
                                                     {"name":"b","ready":true}]}})",
                  R"({"status":{"containerStatuses":[{"name":"a","ready":true}]}})",
                  R"({"status":{"containerStatuses":[{"name":"a","ready":true,"restartCount":1},
                                                     {"name":"b","ready":true}]}})"},
        PatchCase{"OwnerReferencesMergeByUid",
                  R"({"metadata":{"ownerReferences":[{"uid":"u1","kind":"ReplicationController",
                      "name":"web","controller":true}]}})",
                  R"({"metadata":{"ownerReferences":[{"uid":"u1","blockOwnerDeletion":true}]}})",
                  R"({"metadata":{"ownerReferences":[{"uid":"u1","kind":"ReplicationController",
                      "name":"web","controller":true,"blockOwnerDeletion":true}]}})"},
        PatchCase{"ServicePortsMergeByPort",
                  R"({"spec":{"ports":[{"port":80,"targetPort":8080},{"port":443}]}})",
                  R"({"spec":{"ports":[{"port":80,"nodePort":30080}]}})",
                  R"({"spec":{"ports":[{"port":80,"targetPort":8080,"nodePort":30080},
                                       {"port":443}]}})",
                  "Service"},
        PatchCase{"NodeConditionsMergeByType",
                  R"({"status":{"conditions":[{"type":"Ready","status":"True"},
                                              {"type":"MemoryPressure","status":"False"}]}})",
                  R"({"status":{"conditions":[{"type":"Ready","status":"Unknown"}]}})",
                  R"({"status":{"conditions":[{"type":"Ready","status":"Unknown"},
                                              {"type":"MemoryPressure","status":"False"}]}})",
                  "Node"},
        PatchCase{"NodeAddressesMergeByType",
                  R"({"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.1"},
                                             {"type":"Hostname","address":"n1"}]}})",
                  R"({"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.2"}]}})",
                  R"({"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.2"},
                                             {"type":"Hostname","address":"n1"}]}})",
                  "Node"},
        PatchCase{"RcTemplateContainersMergeByName",
                  R"({"spec":{"replicas":1,"template":{"spec":{"containers":[
                      {"name":"web","image":"nginx","env":[{"name":"A","value":"1"}]}]}}}})",
                  R"({"spec":{"template":{"spec":{"containers":[
                      {"name":"web","env":[{"name":"B","value":"2"}]}]}}}})",
                  R"({"spec":{"replicas":1,"template":{"spec":{"containers":[
                      {"name":"web","image":"nginx","env":[
                        {"name":"B","value":"2"},{"name":"A","value":"1"}]}]}}}})",
                  "ReplicationController"},
        PatchCase{"ResourceNameSelectsTheSchemaToo",
                  R"({"spec":{"ports":[{"port":80},{"port":443}]}})",
                  R"({"spec":{"ports":[{"port":443,"name":"https"}]}})",
                  R"({"spec":{"ports":[{"port":80},{"port":443,"name":"https"}]}})", "services"}),
    CaseName);

INSTANTIATE_TEST_SUITE_P(
    ListStrategies, StrategicMergePatchTest,
    ::testing::Values(
        PatchCase{
            "PrimitiveListsAreReplaced",
            R"({"spec":{"containers":[{"name":"c","command":["sh","-c"],"args":["a","b"]}]}})",
            R"({"spec":{"containers":[{"name":"c","args":["z"]}]}})",
            R"({"spec":{"containers":[{"name":"c","command":["sh","-c"],"args":["z"]}]}})"},
        PatchCase{"TolerationsAreReplaced",
                  R"({"spec":{"tolerations":[{"key":"a","operator":"Exists"},{"key":"b"}]}})",
                  R"({"spec":{"tolerations":[{"key":"c","operator":"Exists"}]}})",
                  R"({"spec":{"tolerations":[{"key":"c","operator":"Exists"}]}})"},
        PatchCase{"EndpointsSubsetsAreReplaced",
                  R"({"subsets":[{"addresses":[{"ip":"10.1.0.1"}],"ports":[{"port":80}]}]})",
                  R"({"subsets":[{"addresses":[{"ip":"10.1.0.2"}],"ports":[{"port":80}]}]})",
                  R"({"subsets":[{"addresses":[{"ip":"10.1.0.2"}],"ports":[{"port":80}]}]})",
                  "Endpoints"},
        PatchCase{"NodeTaintsAreReplaced",
                  R"({"spec":{"taints":[{"key":"a","effect":"NoSchedule"}]}})",
                  R"({"spec":{"taints":[]}})", R"({"spec":{"taints":[]}})", "Node"},
        PatchCase{"FinalizersMergeAsASet", R"({"metadata":{"finalizers":["a","b"]}})",
                  R"({"metadata":{"finalizers":["b","c"]}})",
                  R"({"metadata":{"finalizers":["a","b","c"]}})"},
        PatchCase{"NewFinalizerGoesFirst", R"({"metadata":{"finalizers":["a","b"]}})",
                  R"({"metadata":{"finalizers":["c"]}})",
                  R"({"metadata":{"finalizers":["c","a","b"]}})"},
        PatchCase{"NodePodCidrsMergeAsASet", R"({"spec":{"podCIDRs":["10.1.0.0/24"]}})",
                  R"({"spec":{"podCIDRs":["10.1.0.0/24","fd00::/64"]}})",
                  R"({"spec":{"podCIDRs":["10.1.0.0/24","fd00::/64"]}})", "Node"},
        PatchCase{"KeyedListAddedWhereNoneExisted", R"({"spec":{"containers":[{"name":"c"}]}})",
                  R"({"spec":{"containers":[{"name":"c","env":[{"name":"A","value":"1"}]}]}})",
                  R"({"spec":{"containers":[{"name":"c","env":[{"name":"A","value":"1"}]}]}})"}),
    CaseName);

INSTANTIATE_TEST_SUITE_P(
    Directives, StrategicMergePatchTest,
    ::testing::Values(
        PatchCase{"PatchDeleteRemovesListElementByKey",
                  R"({"spec":{"containers":[{"name":"app"},{"name":"side"}]}})",
                  R"({"spec":{"containers":[{"name":"side","$patch":"delete"}]}})",
                  R"({"spec":{"containers":[{"name":"app"}]}})"},
        PatchCase{"PatchDeleteRemovesContainerPort",
                  R"({"spec":{"containers":[{"name":"c","ports":[{"containerPort":80},
                                                                 {"containerPort":443}]}]}})",
                  R"({"spec":{"containers":[{"name":"c",
                      "$setElementOrder/ports":[{"containerPort":80}],
                      "ports":[{"$patch":"delete","containerPort":443}]}]}})",
                  R"({"spec":{"containers":[{"name":"c","ports":[{"containerPort":80}]}]}})"},
        PatchCase{"PatchReplaceInListReplacesTheList",
                  R"({"spec":{"containers":[{"name":"a","image":"a"},{"name":"b","image":"b"}]}})",
                  R"({"spec":{"containers":[{"$patch":"replace"},{"name":"z","image":"z"}]}})",
                  R"({"spec":{"containers":[{"name":"z","image":"z"}]}})"},
        PatchCase{"PatchReplaceInMapReplacesTheMap",
                  R"({"spec":{"nodeSelector":{"disk":"ssd","zone":"a"}}})",
                  R"({"spec":{"nodeSelector":{"$patch":"replace","disk":"hdd"}}})",
                  R"({"spec":{"nodeSelector":{"disk":"hdd"}}})"},
        PatchCase{"PatchDeleteInMapDeletesTheMap",
                  R"({"metadata":{"name":"p","labels":{"app":"web"}}})",
                  R"({"metadata":{"labels":{"$patch":"delete"}}})", R"({"metadata":{"name":"p"}})"},
        PatchCase{"PatchMergeInMapMerges", R"({"metadata":{"labels":{"app":"web"}}})",
                  R"({"metadata":{"labels":{"$patch":"merge","tier":"db"}}})",
                  R"({"metadata":{"labels":{"app":"web","tier":"db"}}})"},
        PatchCase{"PatchMergeInListMerges", R"({"spec":{"containers":[{"name":"a","image":"1"}]}})",
                  R"({"spec":{"containers":[{"$patch":"merge"},{"name":"a","image":"2"}]}})",
                  R"({"spec":{"containers":[{"name":"a","image":"2"}]}})"},
        PatchCase{"TopLevelPatchReplace", R"({"kind":"Pod","metadata":{"name":"a"}})",
                  R"({"$patch":"replace","kind":"Pod","metadata":{"name":"b"}})",
                  R"({"kind":"Pod","metadata":{"name":"b"}})"},
        PatchCase{"SetElementOrderReorders",
                  R"({"spec":{"containers":[{"name":"a"},{"name":"b"}]}})",
                  R"({"spec":{"$setElementOrder/containers":[{"name":"b"},{"name":"a"}]}})",
                  R"({"spec":{"containers":[{"name":"b"},{"name":"a"}]}})"},
        PatchCase{
            "SetElementOrderPlacesNewElement",
            R"({"spec":{"containers":[{"name":"a"},{"name":"b"}]}})",
            R"({"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"c"},{"name":"b"}],
                              "containers":[{"name":"c","image":"c"}]}})",
            R"({"spec":{"containers":[{"name":"a"},{"name":"c","image":"c"},{"name":"b"}]}})"},
        // Items only the server has keep their place relative to the live list.
        PatchCase{"SetElementOrderKeepsServerOnlyItemsInPlace",
                  R"({"spec":{"containers":[{"name":"a"},{"name":"x"},{"name":"b"}]}})",
                  R"({"spec":{"$setElementOrder/containers":[{"name":"b"},{"name":"a"}]}})",
                  R"({"spec":{"containers":[{"name":"x"},{"name":"b"},{"name":"a"}]}})"},
        PatchCase{"SetElementOrderForPrimitiveList", R"({"metadata":{"finalizers":["a","b"]}})",
                  R"({"metadata":{"$setElementOrder/finalizers":["b","c","a"],
                                  "finalizers":["c"]}})",
                  R"({"metadata":{"finalizers":["b","c","a"]}})"},
        PatchCase{"SetElementOrderForListNotInOriginal", R"({"spec":{}})",
                  R"({"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"b"}],
                              "containers":[{"name":"a"},{"name":"b"}]}})",
                  R"({"spec":{"containers":[{"name":"a"},{"name":"b"}]}})"},
        PatchCase{"RetainKeysClearsUnlistedFields",
                  R"({"spec":{"volumes":[{"name":"data","emptyDir":{}}]}})",
                  R"({"spec":{"volumes":[{"name":"data","$retainKeys":["name","hostPath"],
                                          "hostPath":{"path":"/srv"}}]}})",
                  R"({"spec":{"volumes":[{"name":"data","hostPath":{"path":"/srv"}}]}})"},
        PatchCase{"DeleteFromPrimitiveList", R"({"metadata":{"finalizers":["a","b","c"]}})",
                  R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["b","zz"]}})",
                  R"({"metadata":{"finalizers":["a","c"]}})"},
        PatchCase{"DeleteFromMissingPrimitiveListIsNoOp", R"({"metadata":{"name":"p"}})",
                  R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["b"]}})",
                  R"({"metadata":{"name":"p"}})"},
        PatchCase{"DirectivesInNewValuesAreApplied", R"({"spec":{}})",
                  R"({"spec":{"nodeSelector":{"$patch":"replace","a":"b","c":null},
                              "containers":[{"name":"x","$setElementOrder/env":[{"name":"E"}],
                                             "env":[{"name":"E","value":"v"}]}]}})",
                  R"({"spec":{"nodeSelector":{"a":"b"},
                              "containers":[{"name":"x","env":[{"name":"E","value":"v"}]}]}})"}),
    CaseName);

struct SmpErrorCase {
  std::string name;
  std::string kind;
  std::string original;
  std::string patch;
  Code code;
  std::string message;
};

class StrategicMergePatchErrorTest : public ::testing::TestWithParam<SmpErrorCase> {};

TEST_P(StrategicMergePatchErrorTest, Fails) {
  const SmpErrorCase& c = GetParam();
  Status s = PatchError(c.kind, c.original, c.patch, PatchType::kStrategicMergePatch);
  EXPECT_EQ(s.code(), c.code) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(c.message));
}

INSTANTIATE_TEST_SUITE_P(
    Errors, StrategicMergePatchErrorTest,
    ::testing::Values(
        SmpErrorCase{"NotJson", "Pod", "{}", "{", Code::kBadRequest, "not valid JSON"},
        SmpErrorCase{"NotAnObject", "Pod", "{}", "[]", Code::kBadRequest, "must be a JSON object"},
        SmpErrorCase{"UnknownKind", "Widget", "{}", "{}", Code::kUnsupportedMediaType,
                     "not supported for kind \"Widget\""},
        SmpErrorCase{"ElementWithoutMergeKey", "Pod", R"({"spec":{"containers":[{"name":"a"}]}})",
                     R"({"spec":{"containers":[{"image":"x"}]}})", Code::kBadRequest,
                     "does not contain its merge key \"name\""},
        SmpErrorCase{"DeleteWithoutMergeKey", "Pod", R"({"spec":{"containers":[{"name":"a"}]}})",
                     R"({"spec":{"containers":[{"$patch":"delete"}]}})", Code::kBadRequest,
                     "merge key"},
        SmpErrorCase{"ElementNotAnObject", "Pod", R"({"spec":{"containers":[{"name":"a"}]}})",
                     R"({"spec":{"containers":["a"]}})", Code::kBadRequest, "is not an object"},
        SmpErrorCase{"BadPatchDirectiveValue", "Pod", R"({"metadata":{}})",
                     R"({"metadata":{"$patch":"explode"}})", Code::kBadRequest,
                     "invalid $patch directive \"explode\""},
        SmpErrorCase{"UnknownDirective", "Pod", R"({"metadata":{}})",
                     R"({"metadata":{"$frobnicate":1}})", Code::kBadRequest,
                     "unknown strategic merge patch directive"},
        SmpErrorCase{"RetainKeysNotAList", "Pod", R"({"spec":{}})",
                     R"({"spec":{"$retainKeys":"name"}})", Code::kBadRequest,
                     "$retainKeys must be a list"},
        SmpErrorCase{"RetainKeysMissingPatchedField", "Pod", R"({"spec":{}})",
                     R"({"spec":{"$retainKeys":["a"],"b":1}})", Code::kBadRequest, "does not name"},
        SmpErrorCase{"SetElementOrderNotAList", "Pod", R"({"spec":{}})",
                     R"({"spec":{"$setElementOrder/containers":{"name":"a"}}})", Code::kBadRequest,
                     "$setElementOrder must be a list"},
        SmpErrorCase{"SetElementOrderDisagreesWithPatch", "Pod",
                     R"({"spec":{"containers":[{"name":"a"},{"name":"b"}]}})",
                     R"({"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"b"}],
                                 "containers":[{"name":"b"},{"name":"a"}]}})",
                     Code::kBadRequest, "does not match its $setElementOrder list"},
        SmpErrorCase{"DeleteFromPrimitiveListNotAList", "Pod", R"({"metadata":{}})",
                     R"({"metadata":{"$deleteFromPrimitiveList/finalizers":"a"}})",
                     Code::kBadRequest, "must be a list of values"},
        SmpErrorCase{"ObjectInPrimitiveSet", "Pod", R"({"metadata":{"finalizers":["a"]}})",
                     R"({"metadata":{"finalizers":[{"a":1}]}})", Code::kBadRequest,
                     "holds values"}),
    [](const ::testing::TestParamInfo<SmpErrorCase>& info) { return info.param.name; });

TEST(StrategicMergePatchTest, ErrorNamesThePath) {
  Status s = PatchError("Pod", R"({"spec":{"containers":[{"name":"a","env":[]}]}})",
                        R"({"spec":{"containers":[{"name":"a","env":[{"value":"x"}]}]}})",
                        PatchType::kStrategicMergePatch);
  EXPECT_THAT(s.message(), HasSubstr("spec.containers[name=\"a\"].env"));
}

TEST(StrategicMergePatchTest, TopLevelPatchDeleteEmptiesTheObject) {
  Result<std::string> got = ApplyPatch("Pod", R"({"kind":"Pod","metadata":{"name":"a"}})",
                                       R"({"$patch":"delete"})", PatchType::kStrategicMergePatch);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "{}");
}

// ---------------------------------------------------------------------------------------
// The patches kubectl sent in /work/shared/kubectl/wire, applied to the objects it patched.

// The RC as the server held it before `kubectl apply` changed its containers
// (wire/apply_patch_replicas.json, response).
constexpr const char* kMysqlRc = R"json({
  "apiVersion": "v1", "kind": "ReplicationController",
  "metadata": {
    "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"old\":true}\n"},
    "name": "mysql", "namespace": "default", "uid": "1f05eb60-57a7-41bd-a923-b695ae798ced",
    "creationTimestamp": "2026-11-28T00:08:35Z", "generation": 2,
    "labels": {"app": "mysql"}, "resourceVersion": "110"},
  "spec": {
    "replicas": 2, "selector": {"app": "mysql"},
    "template": {
      "metadata": {"labels": {"app": "mysql"}},
      "spec": {"containers": [{
        "env": [{"name": "MYSQL_ROOT_PASSWORD", "value": "secret"}],
        "image": "mysql", "name": "mysql",
        "ports": [{"containerPort": 3306, "protocol": "TCP"}],
        "terminationMessagePath": "/dev/termination-log"}],
        "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"}}},
  "status": {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2,
             "fullyLabeledReplicas": 2, "observedGeneration": 2}
})json";

// wire/apply_patch_containers.json, request body.
constexpr const char* kApplyContainersPatch = R"json({
  "metadata": {
    "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"new\":true}\n"},
    "labels": {"tier": "db"}},
  "spec": {"template": {"spec": {
    "$setElementOrder/containers": [{"name": "mysql"}],
    "containers": [{
      "$setElementOrder/ports": [{"containerPort": 3306}, {"containerPort": 33060}],
      "env": null, "image": "mysql:8", "name": "mysql",
      "ports": [{"containerPort": 33060}]}]}}}
})json";

TEST(KubectlWireTest, ApplyChangesContainersImageEnvAndPorts) {
  Result<std::string> got = ApplyPatch("ReplicationController", kMysqlRc, kApplyContainersPatch,
                                       PatchType::kStrategicMergePatch);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  Json rc = Json::parse(*got);
  EXPECT_EQ(rc["metadata"]["labels"], Json::parse(R"({"app":"mysql","tier":"db"})"));
  EXPECT_EQ(rc["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"],
            "{\"new\":true}\n");
  EXPECT_EQ(rc["spec"]["template"]["spec"]["containers"], Json::parse(R"json([{
      "image": "mysql:8", "name": "mysql",
      "ports": [{"containerPort": 3306, "protocol": "TCP"}, {"containerPort": 33060}],
      "terminationMessagePath": "/dev/termination-log"}])json"));
  // Everything the patch does not name is untouched.
  Json before = Json::parse(kMysqlRc);
  EXPECT_EQ(rc["status"], before["status"]);
  EXPECT_EQ(rc["spec"]["replicas"], 2);
  EXPECT_EQ(rc["spec"]["template"]["spec"]["restartPolicy"], "Always");
  EXPECT_EQ(rc["metadata"]["uid"], before["metadata"]["uid"]);
  EXPECT_THAT(*got, Not(HasSubstr("$setElementOrder")));
}

TEST(KubectlWireTest, ApplyChangesReplicas) {
  // wire/apply_patch_replicas.json, request body.
  const char* patch = R"json({
    "metadata": {"annotations": {
      "kubectl.kubernetes.io/last-applied-configuration": "{\"replicas\":2}\n"}},
    "spec": {"replicas": 5}})json";
  Result<std::string> got =
      ApplyPatch("ReplicationController", kMysqlRc, patch, PatchType::kStrategicMergePatch);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  Json rc = Json::parse(*got);
  Json expected = Json::parse(kMysqlRc);
  expected["spec"]["replicas"] = 5;
  expected["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] =
      "{\"replicas\":2}\n";
  EXPECT_EQ(rc, expected);
}

TEST(KubectlWireTest, LabelMergePatchAddsLabel) {
  // wire/label_patch.json: `kubectl label pod web-abcde foo=bar`.
  const char* pod = R"json({"apiVersion":"v1","kind":"Pod",
    "metadata":{"name":"web-abcde","labels":{"app":"web"},"namespace":"default",
                "uid":"71027386-9099-4dce-8430-6c00f75067c8","resourceVersion":"108"},
    "spec":{"nodeName":"node1","containers":[{"name":"web","image":"nginx",
            "ports":[{"containerPort":80,"protocol":"TCP"}]}]},
    "status":{"phase":"Running","podIP":"10.1.0.5"}})json";
  Result<std::string> got =
      ApplyPatch("Pod", pod, R"({"metadata":{"labels":{"foo":"bar"}}})", PatchType::kMergePatch);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  Json expected = Json::parse(pod);
  expected["metadata"]["labels"]["foo"] = "bar";
  EXPECT_EQ(Json::parse(*got), expected);
}

TEST(KubectlWireTest, ScaleMergePatchSetsReplicas) {
  // wire/scale_patch.json: `kubectl scale rc mysql --replicas=3`, applied to the Scale.
  const char* scale = R"json({"kind":"Scale","apiVersion":"autoscaling/v1",
    "metadata":{"name":"mysql","namespace":"default","resourceVersion":"111"},
    "spec":{"replicas":2},"status":{"replicas":2,"selector":"app=mysql"}})json";
  Result<std::string> got = ApplyPatch("ReplicationController", scale, R"({"spec":{"replicas":3}})",
                                       PatchType::kMergePatch);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  Json expected = Json::parse(scale);
  expected["spec"]["replicas"] = 3;
  EXPECT_EQ(Json::parse(*got), expected);
}

TEST(KubectlWireTest, ScaleAcceptsStrategicMergePatch) {
  // `kubectl patch rc mysql --subresource=scale -p '{"spec":{"replicas":4}}'` is strategic.
  const char* scale = R"json({"kind":"Scale","apiVersion":"autoscaling/v1",
    "metadata":{"name":"mysql"},"spec":{"replicas":2},"status":{"replicas":2}})json";
  Result<std::string> got =
      ApplyPatch("Scale", scale, R"({"spec":{"replicas":4}})", PatchType::kStrategicMergePatch);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(Json::parse(*got)["spec"]["replicas"], 4);
}

TEST(KubectlWireTest, StrategicLabelPatchMatchesMergePatch) {
  // kubectl 1.20 `label`/`annotate` on older paths send the same body as a strategic patch.
  const char* pod = R"json({"metadata":{"name":"p","labels":{"app":"web"}}})json";
  const char* patch = R"json({"metadata":{"labels":{"foo":"bar","app":null}}})json";
  Result<std::string> smp = ApplyPatch("Pod", pod, patch, PatchType::kStrategicMergePatch);
  Result<std::string> merge = ApplyPatch("Pod", pod, patch, PatchType::kMergePatch);
  ASSERT_TRUE(smp.ok() && merge.ok());
  EXPECT_EQ(Json::parse(*smp), Json::parse(*merge));
}

}  // namespace
}  // namespace korc::apiserver
