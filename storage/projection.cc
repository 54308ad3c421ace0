#include "storage/projection.h"

#include <algorithm>
#include <type_traits>
#include <utility>

namespace korc::storage {

size_t StateProjection::EntryHash::operator()(const Key& k) const {
  std::hash<std::string_view> h;
  size_t x = h(k.kind);
  x ^= h(k.ns) + 0x9e3779b97f4a7c15ULL + (x << 6) + (x >> 2);
  x ^= h(k.name) + 0x9e3779b97f4a7c15ULL + (x << 6) + (x >> 2);
  return x;
}

namespace {

// Moves `src` into `dst`, or copies it. A copy into a string too small for it allocates the
// exact size plus 1/8, not the doubled capacity std::string's assign would leave, so a state
// whose objects grow by a few bytes per update does not end up holding twice its size.
void AssignObject(std::string& dst, std::string&& src) { dst = std::move(src); }
void AssignObject(std::string& dst, const std::string& src) {
  if (dst.capacity() >= src.size()) {
    dst.assign(src);
    return;
  }
  std::string fresh;
  fresh.reserve(src.size() + src.size() / 8);
  fresh.assign(src);
  dst.swap(fresh);
}

}  // namespace

template <class E>
Status StateProjection::ApplyImpl(E&& e) {
  if (e.seq != seq_ + 1) {
    return Status::Corruption("state projection at seq " + std::to_string(seq_) +
                              " cannot apply event seq " + std::to_string(e.seq) +
                              ": events must be applied densely, in seq order");
  }
  // With an rvalue event the object string is moved, not copied; with a const event a
  // MODIFIED reuses the existing string's capacity when it can.
  auto&& object = std::forward<E>(e).object;
  const Key key{e.kind, e.ns, e.name};
  switch (e.type) {
    case EventType::kAdded:
    case EventType::kModified: {
      auto it = objects_.find(key);
      if (it != objects_.end()) {
        it->object.seq = e.seq;
        AssignObject(it->object.object, std::forward<decltype(object)>(object));
      } else {
        objects_.insert(Entry{StoredObject{.kind = e.kind,
                                           .ns = e.ns,
                                           .name = e.name,
                                           .seq = e.seq,
                                           .object = std::forward<decltype(object)>(object)}});
      }
      break;
    }
    case EventType::kDeleted: {
      auto it = objects_.find(key);
      if (it != objects_.end()) objects_.erase(it);
      break;
    }
    default:
      return Status::Corruption("event seq " + std::to_string(e.seq) + " has unknown type " +
                                std::to_string(static_cast<int>(e.type)));
  }
  seq_ = e.seq;
  return Status::Ok();
}

Status StateProjection::Apply(const Event& e) { return ApplyImpl(e); }

Status StateProjection::Apply(Event&& e) { return ApplyImpl(std::move(e)); }

void StateProjection::Load(StoredObject&& object) {
  auto it = objects_.find(Key{object.kind, object.ns, object.name});
  if (it != objects_.end()) {
    it->object = std::move(object);
  } else {
    objects_.insert(Entry{std::move(object)});
  }
}

const StoredObject* StateProjection::Find(std::string_view kind, std::string_view ns,
                                          std::string_view name) const {
  auto it = objects_.find(Key{kind, ns, name});
  return it == objects_.end() ? nullptr : &it->object;
}

std::vector<const StoredObject*> StateProjection::Sorted(std::string_view kind) const {
  // ObjectKey byte order is not (kind, ns, name) tuple order ('-' sorts before '/'), so sort
  // by the real key.
  std::vector<std::pair<std::string, const StoredObject*>> keyed;
  keyed.reserve(kind.empty() ? objects_.size() : 0);
  for (const Entry& entry : objects_) {
    const StoredObject& o = entry.object;
    if (kind.empty() || o.kind == kind) keyed.emplace_back(ObjectKey(o.kind, o.ns, o.name), &o);
  }
  std::sort(keyed.begin(), keyed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<const StoredObject*> out;
  out.reserve(keyed.size());
  for (const auto& [key, o] : keyed) out.push_back(o);
  return out;
}

}  // namespace korc::storage
