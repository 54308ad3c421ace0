// The reactor View: folding, and its pods-by-node index kept in step with every event.
#include <gtest/gtest.h>

#include "components/reactor/reducer.h"
#include "components/reactor/runtime.h"
#include "core/codec.h"

namespace korc::reactor {
namespace {

Event PodEvent(uint64_t seq, EventType type, const std::string& name, const std::string& node) {
  api::Pod p;
  p.metadata.name = name;
  p.metadata.namespace_ = "default";
  p.spec.node_name = node;
  Event e;
  e.seq = seq;
  e.type = type;
  e.kind = "Pod";
  e.ns = "default";
  e.name = name;
  e.object = EncodeJson(api::Object(p));
  return e;
}

std::vector<std::string> Names(const std::vector<const api::Pod*>& pods) {
  std::vector<std::string> out;
  for (const auto* p : pods) out.push_back(p->metadata.name);
  return out;
}

TEST(ViewTest, PodsOnNodeFollowsBindingMovesAndDeletes) {
  View view;
  ASSERT_TRUE(view.Apply(PodEvent(1, EventType::kAdded, "b", "")).ok());
  ASSERT_TRUE(view.Apply(PodEvent(2, EventType::kAdded, "a", "n1")).ok());
  EXPECT_TRUE(view.PodsOnNode("n1").size() == 1);
  std::optional<api::Object> before;
  ASSERT_TRUE(view.Apply(PodEvent(3, EventType::kModified, "b", "n1"), &before).ok());
  ASSERT_TRUE(before.has_value());
  EXPECT_TRUE(std::get<api::Pod>(*before).spec.node_name.empty());
  EXPECT_EQ(Names(view.PodsOnNode("n1")), (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(view.Apply(PodEvent(4, EventType::kModified, "a", "n2")).ok());
  EXPECT_EQ(Names(view.PodsOnNode("n1")), (std::vector<std::string>{"b"}));
  EXPECT_EQ(Names(view.PodsOnNode("n2")), (std::vector<std::string>{"a"}));
  ASSERT_TRUE(view.Apply(PodEvent(5, EventType::kDeleted, "b", "n1")).ok());
  EXPECT_TRUE(view.PodsOnNode("n1").empty());
  EXPECT_EQ(view.seq(), 5u);
  EXPECT_EQ(view.size(), 1u);
}

TEST(ViewTest, KindsNotKeptOnlyAdvanceTheSeq) {
  View view;
  view.KeepKinds({"Node"});
  ASSERT_TRUE(view.Apply(PodEvent(1, EventType::kAdded, "a", "n1")).ok());
  EXPECT_EQ(view.size(), 0u);
  EXPECT_EQ(view.seq(), 1u);
  EXPECT_TRUE(view.PodsOnNode("n1").empty());
}

TEST(CommandIdTest, RoundTripsKeysWithSlashes) {
  std::string id = Runtime::CommandId("system:controller:gc", 42, 3, "Pod/default/web-1");
  EXPECT_EQ(id, "system:controller:gc/42/3/Pod/default/web-1");
  std::string reducer, key;
  uint64_t cause = 0;
  size_t index = 0;
  ASSERT_TRUE(Runtime::ParseCommandId(id, &reducer, &cause, &index, &key));
  EXPECT_EQ(reducer, "system:controller:gc");
  EXPECT_EQ(cause, 42u);
  EXPECT_EQ(index, 3u);
  EXPECT_EQ(key, "Pod/default/web-1");
  EXPECT_FALSE(Runtime::ParseCommandId("nope/x/1/k", &reducer, &cause, &index, &key));
  EXPECT_FALSE(Runtime::ParseCommandId("only/1", &reducer, &cause, &index, &key));
}

}  // namespace
}  // namespace korc::reactor
