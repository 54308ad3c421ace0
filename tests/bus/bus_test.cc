// The bus end to end: a real RocksDB EventLog in a temp dir, a Publisher, a CatchUpServer
// and Subscribers in one process, over inproc://, ipc:// and tcp://.
//
// Every test commits the way the API server's sequencer will: log->Append, then
// publisher->Publish of the same events, in the same order.
#include "bus/bus.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "bus/command.h"
#include "storage/event_log.h"
#include "tests/storage/storage_test_util.h"

namespace korc::bus {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using storage::testutil::MakeEvent;
using storage::testutil::PodJson;
using storage::testutil::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;

// Generous: the machine may be loaded; a passing run takes a fraction of it.
constexpr auto kReadLimit = seconds(60);

Event MakeObjectEvent(uint64_t seq, const std::string& kind, const std::string& ns,
                      size_t pad = 0) {
  const std::string name = "obj-" + std::to_string(seq);
  return MakeEvent(seq, EventType::kAdded, kind, ns, name, PodJson(ns, name, seq, pad));
}

std::vector<uint64_t> Range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> out;
  for (uint64_t s = from; s <= to; ++s) out.push_back(s);
  return out;
}

// What a subscriber delivered while it was read up to some position.
struct Delivered {
  std::vector<uint64_t> seqs;
  std::vector<Event> events;
  Status error;
};

// Reads until the subscriber's position reaches `seq` (or an error, or kReadLimit).
Delivered ReadThrough(Subscriber& sub, uint64_t seq) {
  Delivered out;
  const auto deadline = Clock::now() + kReadLimit;
  while (sub.position() < seq && Clock::now() < deadline) {
    Result<std::optional<Event>> next = sub.Next(milliseconds(100));
    if (!next.ok()) {
      out.error = next.status();
      break;
    }
    if (next->has_value()) {
      out.seqs.push_back((*next)->seq);
      out.events.push_back(std::move(**next));
    }
  }
  return out;
}

// Calls Next until it fails or `limit` passes; the error, or OK on timeout.
Status NextError(Subscriber& sub, Clock::duration limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    Result<std::optional<Event>> next = sub.Next(milliseconds(50));
    if (!next.ok()) return next.status();
  }
  return Status::Ok();
}

class BusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = storage::OpenRocksDbEventLog(dir_.Sub("log"));
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
  }

  std::string Ipc(const std::string& name) const { return "ipc://" + dir_.Sub(name); }

  // Starts the publisher and the catch-up server.
  void StartBus(const std::string& publisher_endpoint, const std::string& catch_up_endpoint,
                int send_hwm = 100000) {
    PublisherOptions po;
    po.endpoint = publisher_endpoint;
    po.send_hwm = send_hwm;
    po.heartbeat_interval = milliseconds(20);
    auto pub = MakePublisher(ctx_, po);
    ASSERT_TRUE(pub.ok()) << pub.status().ToString();
    publisher_ = std::move(pub).value();
    auto server = StartCatchUpServer(ctx_, *log_, catch_up_endpoint);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }

  void StartInprocBus(int send_hwm = 100000) {
    StartBus("inproc://events", "inproc://catch-up", send_hwm);
  }

  SubscriberOptions Options(uint64_t after_seq = 0) const {
    SubscriberOptions o;
    o.publisher_endpoint = publisher_->endpoint();
    o.catch_up_endpoint = server_->endpoint();
    o.after_seq = after_seq;
    return o;
  }

  std::unique_ptr<Subscriber> MustSubscribe(const SubscriberOptions& options) {
    auto sub = Subscribe(ctx_, options);
    EXPECT_TRUE(sub.ok()) << sub.status().ToString();
    return sub.ok() ? std::move(sub).value() : nullptr;
  }

  Status Commit(const std::vector<Event>& batch) {
    KORC_RETURN_IF_ERROR(log_->Append(batch));
    return publisher_->Publish(batch);
  }

  // Commits `n` Pod events in default, `batch` per Append.
  Status CommitPods(uint64_t n, uint64_t batch = 100, size_t pad = 0) {
    uint64_t next = log_->Head() + 1;
    const uint64_t last = next + n - 1;
    while (next <= last) {
      std::vector<Event> events;
      for (; next <= last && events.size() < batch; ++next) {
        events.push_back(MakeObjectEvent(next, "Pod", "default", pad));
      }
      KORC_RETURN_IF_ERROR(Commit(events));
    }
    return Status::Ok();
  }

  // Declaration order is destruction order in reverse: sockets before the context, the
  // server before the log, the log before its directory.
  TempDir dir_;
  zmq::context_t ctx_;
  std::unique_ptr<storage::EventLog> log_;
  std::unique_ptr<Publisher> publisher_;
  std::unique_ptr<CatchUpServer> server_;
};

TEST_F(BusTest, FromZeroDeliversHistoryThenLiveInOrder) {
  StartInprocBus();
  ASSERT_TRUE(CommitPods(50).ok());
  auto sub = MustSubscribe(Options(0));
  ASSERT_NE(sub, nullptr);
  EXPECT_FALSE(sub->initial_head().has_value());  // nothing heard yet

  Delivered history = ReadThrough(*sub, 50);
  ASSERT_TRUE(history.error.ok()) << history.error.ToString();
  EXPECT_EQ(history.seqs, Range(1, 50));

  ASSERT_TRUE(CommitPods(50, 1).ok());
  Delivered live = ReadThrough(*sub, 100);
  ASSERT_TRUE(live.error.ok()) << live.error.ToString();
  EXPECT_EQ(live.seqs, Range(51, 100));

  // The events are the committed ones, and nothing more comes.
  EXPECT_EQ(live.events.back(), MakeObjectEvent(100, "Pod", "default"));
  Result<std::optional<Event>> more = sub->Next(milliseconds(100));
  ASSERT_TRUE(more.ok()) << more.status().ToString();
  EXPECT_FALSE(more->has_value());
  EXPECT_EQ(sub->position(), 100u);
  EXPECT_EQ(sub->initial_head(), std::optional<uint64_t>(50));  // fixed at the first catch-up
}

TEST_F(BusTest, ResumesAfterGivenSeq) {
  StartInprocBus();
  ASSERT_TRUE(CommitPods(30).ok());
  auto sub = MustSubscribe(Options(20));
  ASSERT_NE(sub, nullptr);
  ASSERT_TRUE(CommitPods(5, 1).ok());
  Delivered got = ReadThrough(*sub, 35);
  ASSERT_TRUE(got.error.ok()) << got.error.ToString();
  EXPECT_EQ(got.seqs, Range(21, 35));
}

TEST_F(BusTest, EventsCommittedDuringCatchUpAreNeitherLostNorDuplicated) {
  StartInprocBus();
  // More history than one catch-up reply holds, so the catch-up takes several round trips.
  constexpr uint64_t kHistory = 20000, kLive = 3000;
  ASSERT_TRUE(CommitPods(kHistory, 1000).ok());
  auto sub = MustSubscribe(Options(0));
  ASSERT_NE(sub, nullptr);

  // The first event proves the catch-up has started; most of it is still ahead.
  Result<std::optional<Event>> first = sub->Next(seconds(10));
  ASSERT_TRUE(first.ok() && first->has_value()) << first.status().ToString();
  ASSERT_EQ((*first)->seq, 1u);

  Status writer_status;
  std::thread writer([&] {
    for (uint64_t i = 0; i < kLive && writer_status.ok(); i += 3) {
      writer_status = CommitPods(3, 3);
    }
  });
  Delivered rest = ReadThrough(*sub, kHistory + kLive);
  writer.join();
  ASSERT_TRUE(writer_status.ok()) << writer_status.ToString();
  ASSERT_TRUE(rest.error.ok()) << rest.error.ToString();
  EXPECT_EQ(rest.seqs, Range(2, kHistory + kLive));
}

TEST_F(BusTest, DroppedLiveEventsAreHealedFromTheLog) {
  StartInprocBus(/*send_hwm=*/10);
  SubscriberOptions options = Options(0);
  options.receive_hwm = 10;
  auto sub = MustSubscribe(options);
  ASSERT_NE(sub, nullptr);
  // Finish the (empty) initial catch-up so the subscriber is live.
  Result<std::optional<Event>> idle = sub->Next(milliseconds(100));
  ASSERT_TRUE(idle.ok()) << idle.status().ToString();

  // A burst while nobody reads: about 20 messages fit in the inproc pipe (both HWMs), so
  // PUB must drop most of the others.
  constexpr uint64_t kBurst = 5000;
  ASSERT_TRUE(CommitPods(kBurst, 100).ok());

  Delivered got = ReadThrough(*sub, kBurst);
  ASSERT_TRUE(got.error.ok()) << got.error.ToString();
  EXPECT_EQ(got.seqs, Range(1, kBurst));
  EXPECT_GT(sub->gaps_healed(), 0u);
}

TEST_F(BusTest, DroppedTailIsHealedWithoutAnotherEvent) {
  StartInprocBus(/*send_hwm=*/10);
  SubscriberOptions options = Options(0);
  options.receive_hwm = 10;
  auto sub = MustSubscribe(options);
  ASSERT_NE(sub, nullptr);
  ASSERT_TRUE(sub->Next(milliseconds(100)).ok());

  // One batch whose tail cannot fit; nothing is committed after it, so only the publisher's
  // heartbeat can reveal the missing tail.
  ASSERT_TRUE(CommitPods(500, 500).ok());
  Delivered got = ReadThrough(*sub, 500);
  ASSERT_TRUE(got.error.ok()) << got.error.ToString();
  EXPECT_EQ(got.seqs, Range(1, 500));
  EXPECT_GT(sub->gaps_healed(), 0u);
}

TEST_F(BusTest, TopicFilterDeliversOnlyMatchingEventsButAdvancesPosition) {
  StartInprocBus();
  auto commit = [&](const std::string& kind, const std::string& ns) {
    return Commit({MakeObjectEvent(log_->Head() + 1, kind, ns)});
  };
  // Six topics; the filter wants the first and the fourth.
  auto commit_round = [&] {
    for (auto [kind, ns] : {std::pair{"Pod", "default"},
                            {"Pod", "default-2"},
                            {"Service", "default"},
                            {"Node", ""},
                            {"Pod", "kube-system"},
                            {"PodTemplate", "default"}}) {
      KORC_RETURN_IF_ERROR(commit(kind, ns));
    }
    return Status::Ok();
  };
  ASSERT_TRUE(commit_round().ok());  // seqs 1..6: history
  SubscriberOptions options = Options(0);
  options.topic_prefixes = {"Pod/default", "Node/"};
  auto sub = MustSubscribe(options);
  ASSERT_NE(sub, nullptr);
  ASSERT_TRUE(commit_round().ok());  // seqs 7..12: live

  Delivered got = ReadThrough(*sub, 12);
  ASSERT_TRUE(got.error.ok()) << got.error.ToString();
  EXPECT_EQ(got.seqs, (std::vector<uint64_t>{1, 4, 7, 10}));
  EXPECT_EQ(sub->position(), 12u);

  // A filtered-out live event advances the position as well.
  ASSERT_TRUE(commit("Service", "default").ok());
  got = ReadThrough(*sub, 13);
  ASSERT_TRUE(got.error.ok()) << got.error.ToString();
  EXPECT_TRUE(got.seqs.empty());
  EXPECT_EQ(sub->position(), 13u);
}

TEST_F(BusTest, CompactedHistoryIsExpiredWithTheLogsMessage) {
  StartInprocBus();
  ASSERT_TRUE(CommitPods(100).ok());
  ASSERT_TRUE(log_->CreateSnapshot(60).ok());
  ASSERT_TRUE(log_->Compact(60).ok());
  const Status from_log = log_->ReadEvents(11, 0, [](Event&) { return true; });
  ASSERT_EQ(from_log.code(), Code::kExpired);

  auto sub = MustSubscribe(Options(10));
  ASSERT_NE(sub, nullptr);
  Status s = NextError(*sub, seconds(10));
  EXPECT_EQ(s.code(), Code::kExpired) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(from_log.message()));
  // Final: the owner must rebuild, so asking again answers the same.
  Result<std::optional<Event>> again = sub->Next(milliseconds(10));
  EXPECT_EQ(again.status().code(), Code::kExpired);
}

TEST_F(BusTest, SubscribingAtTheCompactionPointWorks) {
  StartInprocBus();
  ASSERT_TRUE(CommitPods(100).ok());
  ASSERT_TRUE(log_->CreateSnapshot(60).ok());
  ASSERT_TRUE(log_->Compact(60).ok());
  auto sub = MustSubscribe(Options(60));
  ASSERT_NE(sub, nullptr);
  Delivered got = ReadThrough(*sub, 100);
  ASSERT_TRUE(got.error.ok()) << got.error.ToString();
  EXPECT_EQ(got.seqs, Range(61, 100));
}

TEST_F(BusTest, AbsentCatchUpServerIsUnavailableWithinTheTimeout) {
  PublisherOptions po;
  po.endpoint = Ipc("events");
  auto pub = MakePublisher(ctx_, po);
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  SubscriberOptions options;
  options.publisher_endpoint = (*pub)->endpoint();
  options.catch_up_endpoint = Ipc("nobody-home");
  options.catch_up_timeout = milliseconds(300);
  auto sub = Subscribe(ctx_, options);
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();

  const auto start = Clock::now();
  Status s = NextError(**sub, seconds(10));
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(options.catch_up_endpoint));
  EXPECT_LT(elapsed, seconds(5));
}

TEST_F(BusTest, UnavailableIsRetriedOnTheNextCall) {
  const std::string catch_up_endpoint = Ipc("catch-up");
  PublisherOptions po;
  po.endpoint = Ipc("events");
  po.heartbeat_interval = milliseconds(20);
  auto pub = MakePublisher(ctx_, po);
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  publisher_ = std::move(pub).value();
  ASSERT_TRUE(CommitPods(10).ok());

  SubscriberOptions options;
  options.publisher_endpoint = publisher_->endpoint();
  options.catch_up_endpoint = catch_up_endpoint;
  options.catch_up_timeout = milliseconds(200);
  auto sub = MustSubscribe(options);
  ASSERT_NE(sub, nullptr);
  Status s = NextError(*sub, seconds(10));
  ASSERT_EQ(s.code(), Code::kUnavailable) << s.ToString();

  auto server = StartCatchUpServer(ctx_, *log_, catch_up_endpoint);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  server_ = std::move(server).value();
  Delivered got = ReadThrough(*sub, 10);
  ASSERT_TRUE(got.error.ok()) << got.error.ToString();
  EXPECT_EQ(got.seqs, Range(1, 10));
}

TEST_F(BusTest, WorksOverTcpPortZero) {
  StartBus("tcp://127.0.0.1:0", "tcp://127.0.0.1:0");
  EXPECT_THAT(publisher_->endpoint(), Not(HasSubstr(":0")));
  EXPECT_THAT(server_->endpoint(), Not(HasSubstr(":0")));
  EXPECT_NE(publisher_->endpoint(), server_->endpoint());
  ASSERT_TRUE(CommitPods(40).ok());
  auto sub = MustSubscribe(Options(0));
  ASSERT_NE(sub, nullptr);
  ASSERT_TRUE(CommitPods(40, 1).ok());
  Delivered got = ReadThrough(*sub, 80);
  ASSERT_TRUE(got.error.ok()) << got.error.ToString();
  EXPECT_EQ(got.seqs, Range(1, 80));
}

TEST_F(BusTest, WorksOverIpc) {
  StartBus(Ipc("events"), Ipc("catch-up"));
  ASSERT_TRUE(CommitPods(40).ok());
  auto sub = MustSubscribe(Options(0));
  ASSERT_NE(sub, nullptr);
  ASSERT_TRUE(CommitPods(40, 1).ok());
  Delivered got = ReadThrough(*sub, 80);
  ASSERT_TRUE(got.error.ok()) << got.error.ToString();
  EXPECT_EQ(got.seqs, Range(1, 80));
}

TEST_F(BusTest, ManySubscribersEachSeeEverything) {
  StartInprocBus();
  ASSERT_TRUE(CommitPods(100).ok());
  std::vector<std::unique_ptr<Subscriber>> subs;
  for (int i = 0; i < 4; ++i) subs.push_back(MustSubscribe(Options(i * 25)));
  ASSERT_TRUE(CommitPods(50, 5).ok());
  for (int i = 0; i < 4; ++i) {
    Delivered got = ReadThrough(*subs[i], 150);
    ASSERT_TRUE(got.error.ok()) << got.error.ToString();
    EXPECT_EQ(got.seqs, Range(i * 25 + 1, 150)) << "subscriber " << i;
  }
}

TEST_F(BusTest, DestroyingTheServersDoesNotWaitForClients) {
  StartInprocBus();
  ASSERT_TRUE(CommitPods(10).ok());
  auto sub = MustSubscribe(Options(0));
  ASSERT_NE(sub, nullptr);
  ASSERT_TRUE(ReadThrough(*sub, 10).error.ok());
  // The subscriber stays connected (and would ask again) while both go away.
  const auto start = Clock::now();
  server_.reset();
  publisher_.reset();
  EXPECT_LT(Clock::now() - start, seconds(2));
}

TEST_F(BusTest, PublisherRejectsOutOfOrderSeqs) {
  StartInprocBus();
  ASSERT_TRUE(publisher_->Publish(std::vector<Event>{MakeObjectEvent(5, "Pod", "a")}).ok());
  Status skip = publisher_->Publish(std::vector<Event>{MakeObjectEvent(7, "Pod", "a")});
  EXPECT_EQ(skip.code(), Code::kInvalid) << skip.ToString();
  Status inside = publisher_->Publish(
      std::vector<Event>{MakeObjectEvent(6, "Pod", "a"), MakeObjectEvent(6, "Pod", "a")});
  EXPECT_EQ(inside.code(), Code::kInvalid) << inside.ToString();
  EXPECT_TRUE(publisher_->Publish(std::vector<Event>{MakeObjectEvent(6, "Pod", "a")}).ok());
}

TEST_F(BusTest, BindingAnAddressInUseIsAnError) {
  StartBus(Ipc("events"), "tcp://127.0.0.1:0");
  PublisherOptions po;
  po.endpoint = "inproc://dup";
  auto first = MakePublisher(ctx_, po);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = MakePublisher(ctx_, po);
  EXPECT_EQ(second.status().code(), Code::kUnavailable) << second.status().ToString();
  auto bad = StartCatchUpServer(ctx_, *log_, "nonsense://x");
  EXPECT_EQ(bad.status().code(), Code::kInvalid) << bad.status().ToString();
}

// A requester that leaves before its answer must not stop the server answering others.
TEST(CommandChannelTest, ARequesterThatLeftDoesNotStopTheServer) {
  zmq::context_t ctx;
  auto server = StartCommandServer(
      ctx, "inproc://commands",
      [](const CommandRequest& r) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return CommandReply{r.tag, 201, r.id == "a" ? 7u : 8u, false, "{}"};
      },
      4);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  {
    auto gone = ConnectCommandClient(ctx, "inproc://commands");
    ASSERT_TRUE(gone.ok());
    CommandRequest a;
    a.tag = 1;
    a.id = "a";
    ASSERT_TRUE((*gone)->Send(a).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let it reach the server
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // its answer finds no one
  auto client = ConnectCommandClient(ctx, "inproc://commands");
  ASSERT_TRUE(client.ok());
  CommandRequest b;
  b.tag = 2;
  b.id = "b";
  ASSERT_TRUE((*client)->Send(b).ok());
  auto reply = (*client)->Receive(std::chrono::seconds(3));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  ASSERT_TRUE(reply->has_value()) << "the server stopped answering";
  EXPECT_EQ((*reply)->tag, 2u);
  EXPECT_EQ((*reply)->code, 201);
  EXPECT_EQ((*reply)->seq, 8u);
}

TEST(TopicTest, TopicOfIsKindSlashNamespace) {
  EXPECT_EQ(TopicOf(MakeObjectEvent(1, "Pod", "default")), "Pod/default");
  EXPECT_EQ(TopicOf(MakeObjectEvent(1, "Node", "")), "Node/");
}

TEST(TopicTest, FiltersMatchOnSegmentBoundaries) {
  EXPECT_TRUE(TopicMatches("Pod/default", ""));
  EXPECT_TRUE(TopicMatches("Pod/default", "Pod/"));
  EXPECT_TRUE(TopicMatches("Pod/default", "Pod/default"));
  EXPECT_FALSE(TopicMatches("Pod/default-2", "Pod/default"));
  EXPECT_FALSE(TopicMatches("PodTemplate/default", "Pod/"));
  EXPECT_FALSE(TopicMatches("PodTemplate/default", "Pod"));
  EXPECT_TRUE(TopicMatches("Node/", "Node/"));
  EXPECT_FALSE(TopicMatches("Pod/", "Pod/default"));
}

}  // namespace
}  // namespace korc::bus
