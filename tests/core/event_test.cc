#include "core/event.h"

#include <gtest/gtest.h>

#include "core/coding.h"

namespace korc {
namespace {

Event MakeEvent() {
  Event e;
  e.seq = 123456789;
  e.time_ns = 1'795'824'529'123'456'789;
  e.type = EventType::kModified;
  e.kind = "Pod";
  e.ns = "default";
  e.name = "mysql-x7k2p";
  e.uid = "cf25cc93-77ba-4f98-9a9a-a36dfe119dea";
  e.object = R"({"apiVersion":"v1","kind":"Pod"})";
  e.actor = "system:controller:replication";
  e.cause = 123456700;
  e.basis = 123456788;
  e.basis_time_ns = -5;  // any value round-trips, even odd ones
  e.reason = "scale up: 1 of 3 replicas missing";
  e.command = "system:controller:replication/123456700/0";
  return e;
}

TEST(EventTest, RoundTrips) {
  Event e = MakeEvent();
  auto back = DecodeEvent(EncodeEvent(e));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, e);
}

TEST(EventTest, EmptyEventRoundTrips) {
  Event e;
  auto back = DecodeEvent(EncodeEvent(e));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, e);
}

TEST(EventTest, EveryFlippedByteIsCorruption) {
  std::string bytes = EncodeEvent(MakeEvent());
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    auto r = DecodeEvent(bad);
    ASSERT_FALSE(r.ok()) << "byte " << i;
    EXPECT_EQ(r.status().code(), Code::kCorruption);
  }
}

TEST(EventTest, TruncationIsCorruption) {
  std::string bytes = EncodeEvent(MakeEvent());
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(DecodeEvent(bytes.substr(0, n)).status().code(), Code::kCorruption) << n;
  }
}

TEST(EventTest, NewerVersionIsRefusedClearly) {
  std::string bytes = EncodeEvent(MakeEvent());
  bytes[1] = static_cast<char>(kEventFormatVersion + 1);
  auto r = DecodeEvent(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("newer"), std::string::npos);
}

// Logs written before command ids existed (format version 1) still read, with no command.
TEST(EventTest, VersionOneRecordsStillDecode) {
  Event e = MakeEvent();
  e.command.clear();
  std::string v2 = EncodeEvent(e);
  // Version 1 is version 2 without the (here empty, one zero byte) command field, which sits
  // just before the object's length prefix.
  std::string body = v2.substr(0, v2.size() - 4);
  size_t object_at = body.size() - e.object.size() - 1;
  ASSERT_EQ(body[object_at - 1], '\0');
  std::string v1 = body.substr(0, object_at - 1) + body.substr(object_at);
  v1[1] = 1;
  uint32_t crc = coding::Crc32c(v1);
  for (int i = 0; i < 4; ++i) v1.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  auto back = DecodeEvent(v1);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, e);
}

TEST(EventTest, TypeNames) {
  EventType t;
  ASSERT_TRUE(ParseEventType("deleted", &t));
  EXPECT_EQ(t, EventType::kDeleted);
  EXPECT_EQ(EventTypeName(EventType::kAdded), "ADDED");
  EXPECT_FALSE(ParseEventType("BOOKMARK", &t));
}

TEST(CodingTest, VarintsAndKeys) {
  std::string s;
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, ~0ull}) coding::PutVarint64(&s, v);
  std::string_view in = s;
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, ~0ull}) {
    uint64_t got = 0;
    ASSERT_TRUE(coding::GetVarint64(&in, &got));
    EXPECT_EQ(got, v);
  }
  EXPECT_TRUE(in.empty());
  EXPECT_LT(coding::BigEndian64(255), coding::BigEndian64(256));
  EXPECT_EQ(coding::DecodeBigEndian64(coding::BigEndian64(0x0102030405060708).data()),
            0x0102030405060708u);
  // The standard CRC-32C check value.
  EXPECT_EQ(coding::Crc32c("123456789"), 0xe3069283u);
  for (int64_t v : std::initializer_list<int64_t>{0, -1, 1, INT64_MIN, INT64_MAX}) {
    EXPECT_EQ(coding::UnZigZag(coding::ZigZag(v)), v);
  }
  EXPECT_EQ(ObjectKey("Node", "", "n1"), "Node//n1");
}

}  // namespace
}  // namespace korc
