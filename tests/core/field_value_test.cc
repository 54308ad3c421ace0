#include "core/field_value.h"

#include <gtest/gtest.h>

#include "tests/core/builders.h"

namespace korc {
namespace {

TEST(FieldValueTest, ReadsScalarsThroughTheSchema) {
  api::Object pod = testing::MakePod();
  EXPECT_EQ(FieldValue(pod, "metadata.name"), "web-1");
  EXPECT_EQ(FieldValue(pod, "spec.nodeName"), "node-1");
  EXPECT_EQ(FieldValue(pod, "status.phase"), "Running");
  EXPECT_EQ(FieldValue(pod, "spec.hostNetwork"), "false");
  EXPECT_EQ(FieldValue(pod, "spec.terminationGracePeriodSeconds"), "30");
  EXPECT_EQ(FieldValue(pod, "spec.nope"), std::nullopt);
  EXPECT_EQ(FieldValue(pod, "spec"), std::nullopt);  // not a scalar
  api::Object ev = testing::MakeKubeEvent();
  EXPECT_EQ(FieldValue(ev, "involvedObject.name"), "web");
  EXPECT_EQ(FieldValue(ev, "source"), "replication-controller");
}

TEST(FieldValueTest, SelectorsOverObjects) {
  api::Object pod = testing::MakePod();
  auto labels = LabelSelector::Parse("app=web,tier in (front,back)");
  ASSERT_TRUE(labels.ok());
  auto fields = FieldSelector::Parse("spec.nodeName=node-1,status.phase!=Failed");
  ASSERT_TRUE(fields.ok());
  EXPECT_TRUE(MatchesSelectors(pod, *labels, *fields));
  auto other = FieldSelector::Parse("spec.nodeName=node-2");
  EXPECT_FALSE(MatchesSelectors(pod, *labels, *other));
  EXPECT_TRUE(MatchesSelectors(pod, LabelSelector(), FieldSelector()));
}

TEST(FieldValueTest, UnsupportedFieldLabelsAreRefused) {
  auto sel = FieldSelector::Parse("spec.containers=x");
  ASSERT_TRUE(sel.ok());
  Status st = CheckFieldSelector(*FindKind("Pod"), *sel);
  EXPECT_EQ(st.code(), Code::kBadRequest);
  EXPECT_EQ(st.message(), "field label not supported: spec.containers");
  auto ok = FieldSelector::Parse("involvedObject.kind=Pod,metadata.namespace=default");
  EXPECT_TRUE(CheckFieldSelector(*FindKind("Event"), *ok).ok());
  EXPECT_FALSE(CheckFieldSelector(*FindKind("Node"), *ok).ok());
}

}  // namespace
}  // namespace korc
