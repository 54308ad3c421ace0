// Test helper for reducers: folds objects into a reactor::View one event at a time, the way
// the runtime does, and plays a reducer's commands back as the events the API server would
// commit for them.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "components/reactor/reducer.h"
#include "core/codec.h"
#include "core/event.h"
#include "core/kinds.h"

namespace korc::testing {

class Fold {
 public:
  explicit Fold(std::vector<std::string> kinds = {}) { view_.KeepKinds(std::move(kinds)); }

  // Puts `o` (ADDED, or MODIFIED when the view has it) and returns the event. before() is
  // then the object as the view held it before the event.
  Event Put(const api::Object& o, std::string actor = "alice") {
    Event e = Base(o, std::move(actor));
    const api::ObjectMeta& m = api::Meta(o);
    e.type = view_.Find(e.kind, m.namespace_, m.name) ? EventType::kModified : EventType::kAdded;
    Remember(e);
    EXPECT_TRUE(view_.Apply(e).ok());
    return e;
  }
  Event Remove(const api::Object& o, std::string actor = "alice") {
    Event e = Base(o, std::move(actor));
    e.type = EventType::kDeleted;
    Remember(e);
    EXPECT_TRUE(view_.Apply(e).ok());
    return e;
  }
  // What the API server would commit for `c` (create, update, status, delete), simplified:
  // no admission, deletes are immediate, patches are not supported.
  void Apply(const reactor::Command& c, std::string actor) {
    if (c.verb == reactor::Verb::kDelete) {
      const reactor::ViewItem* item = view_.Find(c.kind, c.ns, c.name);
      ASSERT_NE(item, nullptr) << c.kind << "/" << c.ns << "/" << c.name;
      Remove(item->object, std::move(actor));
      return;
    }
    ASSERT_NE(c.verb, reactor::Verb::kPatch);
    auto decoded = DecodeJson(c.body);
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    api::ObjectMeta& m = api::Meta(decoded->object);
    if (m.uid.empty()) m.uid = "uid-" + m.name;
    m.resource_version = std::to_string(view_.seq() + 1);
    Put(decoded->object, std::move(actor));
  }

  const reactor::View& view() const { return view_; }
  const api::Object* before() const { return before_ ? &*before_ : nullptr; }

 private:
  Event Base(const api::Object& o, std::string actor) {
    const api::ObjectMeta& m = api::Meta(o);
    Event e;
    e.seq = view_.seq() + 1;
    e.time_ns = 1'790'000'000'000'000'000 + static_cast<int64_t>(e.seq) * 1'000'000'000;
    e.kind = std::string(KindOf(o).kind);
    e.ns = m.namespace_;
    e.name = m.name;
    e.uid = m.uid;
    e.object = EncodeJson(o);
    e.actor = std::move(actor);
    return e;
  }
  void Remember(const Event& e) {
    const reactor::ViewItem* item = view_.Find(e.kind, e.ns, e.name);
    before_ = item ? std::optional<api::Object>(item->object) : std::nullopt;
  }

  reactor::View view_;
  std::optional<api::Object> before_;
};

}  // namespace korc::testing
