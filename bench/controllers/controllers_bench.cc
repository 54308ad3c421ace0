// Benchmarks for the controllers and their runtime (issue: controller runtime):
//   1. time from creating an RC with N replicas (10,000) to N Pod objects committed, with
//      the API server, the bus and the replication controller in one process over inproc://
//      and a durable (fsync'd) RocksDB log;
//   2. the commands per second the runtime sustained during it;
//   3. the view's memory per Pod: heap growth of a View folding N Pod events.
// It prints figures; it never passes or fails on a timing.
//
//   controllers_bench [--quick] [--dir PARENT]
#include <malloc.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "bus/bus.h"
#include "bus/command.h"
#include "components/apiserver/api_server.h"
#include "components/controllers/replication.h"
#include "components/reactor/runtime.h"
#include "core/codec.h"
#include "storage/event_log.h"

namespace korc {
namespace {

using Clock = std::chrono::steady_clock;

size_t HeapInUse() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

std::string PodJson(int i) {
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-)" + std::to_string(i) +
         R"(","namespace":"default","uid":"7d3f4a55-2b1c-4f0e-9c55-)" + std::to_string(100000 + i) +
         R"(","resourceVersion":")" + std::to_string(i + 1) +
         R"(","creationTimestamp":"2026-11-28T10:00:00Z","generateName":"web-",)"
         R"("labels":{"app":"web"},"ownerReferences":[{"apiVersion":"v1","kind":)"
         R"("ReplicationController","name":"web","uid":"rc-uid","controller":true,)"
         R"("blockOwnerDeletion":true}]},"spec":{"containers":[{"name":"web","image":"busybox",)"
         R"("ports":[{"containerPort":8080,"protocol":"TCP"}],"resources":{},)"
         R"("terminationMessagePath":"/dev/termination-log","imagePullPolicy":"Always"}],)"
         R"("restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst"},)"
         R"("status":{"phase":"Pending","qosClass":"BestEffort"}})";
}

void ViewMemory(int n) {
  size_t before = HeapInUse();
  reactor::View view;
  Event e;
  e.type = EventType::kAdded;
  e.kind = "Pod";
  e.ns = "default";
  for (int i = 0; i < n; ++i) {
    e.seq = i + 1;
    e.name = "web-" + std::to_string(i);
    e.object = PodJson(i);
    if (!view.Apply(e).ok()) {
      std::printf("view fold failed\n");
      return;
    }
  }
  size_t after = HeapInUse();
  std::printf(
      "view memory: %d pods, %.0f bytes per pod (heap growth; the pod's JSON is %zu bytes)\n", n,
      double(after - before) / n, PodJson(0).size());
}

int RcToPods(const std::string& parent, int replicas) {
  char tmpl[4096];
  std::snprintf(tmpl, sizeof tmpl, "%s/korc-controllers-bench-XXXXXX", parent.c_str());
  std::string dir = mkdtemp(tmpl);
  int rc = 0;
  {
    auto log = storage::OpenRocksDbEventLog(dir + "/log");
    if (!log.ok()) {
      std::printf("open: %s\n", log.status().ToString().c_str());
      return 1;
    }
    zmq::context_t ctx;
    auto publisher = bus::MakePublisher(ctx, {"inproc://events"});
    auto catch_up = bus::StartCatchUpServer(ctx, **log, "inproc://catch-up");
    apiserver::ApiServerOptions o;
    o.port = 0;
    o.bus_context = &ctx;
    o.command_endpoint = "inproc://commands";
    auto server = apiserver::ApiServer::Start(**log, publisher->get(), o);
    if (!server.ok()) {
      std::printf("server: %s\n", server.status().ToString().c_str());
      return 1;
    }
    controllers::ReplicationReducer reducer;
    reactor::RuntimeOptions ro;
    ro.publisher_endpoint = "inproc://events";
    ro.catch_up_endpoint = "inproc://catch-up";
    ro.command_endpoint = (*server)->command_endpoint();
    reactor::Runtime runtime(ctx, reducer, ro);
    std::atomic<bool> stop{false};
    std::thread loop([&] { (void)runtime.Run(stop); });
    while (!runtime.stats().synced.load())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));

    // The RC goes in through a subscriber-free path: a command, like any component's.
    auto client = bus::ConnectCommandClient(ctx, (*server)->command_endpoint());
    bus::CommandRequest create;
    create.tag = 1;
    create.actor = "bench";
    create.method = "POST";
    create.path = "/api/v1/namespaces/default/replicationcontrollers";
    create.content_type = "application/json";
    create.body = R"({"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"web"},)"
                  R"("spec":{"replicas":)" +
                  std::to_string(replicas) +
                  R"(,"selector":{"app":"web"},"template":{"metadata":{"labels":{"app":"web"}},)"
                  R"("spec":{"containers":[{"name":"web","image":"busybox"}]}}}})";
    const uint64_t head0 = (*log)->Head();
    auto t0 = Clock::now();
    (void)(*client)->Send(create);
    auto reply = (*client)->Receive(std::chrono::seconds(10));
    if (!reply.ok() || !reply->has_value() || (*reply)->code != 201) {
      std::printf("create RC failed\n");
      rc = 1;
    }
    // Count Pod ADDED events in the log until all replicas exist.
    size_t pods = 0;
    uint64_t read_to = head0;
    auto deadline = Clock::now() + std::chrono::seconds(300);
    while (rc == 0 && pods < size_t(replicas) && Clock::now() < deadline) {
      uint64_t head = (*log)->Head();
      if (head > read_to) {
        (void)(*log)->ReadEvents(read_to + 1, head, [&](Event& e) {
          if (e.kind == "Pod" && e.type == EventType::kAdded) ++pods;
          return true;
        });
        read_to = head;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    const auto& st = runtime.stats();
    std::printf(
        "RC create -> %d Pod objects committed: %.2f s (%zu seen); runtime: %llu commands "
        "accepted, %.0f commands/s; %llu reconciles\n",
        replicas, s, pods, (unsigned long long)st.commands_accepted.load(),
        st.commands_accepted.load() / s, (unsigned long long)st.reconciles.load());
    stop.store(true);
    loop.join();
    (*server)->Stop();
  }
  std::filesystem::remove_all(dir);
  return rc;
}

}  // namespace
}  // namespace korc

int main(int argc, char** argv) {
  bool quick = false;
  std::string parent = std::filesystem::temp_directory_path().string();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else if (a == "--dir" && i + 1 < argc) {
      parent = argv[++i];
    } else {
      std::fprintf(stderr, "usage: controllers_bench [--quick] [--dir PARENT]\n");
      return 2;
    }
  }
  korc::ViewMemory(quick ? 10000 : 100000);
  return korc::RcToPods(parent, quick ? 1000 : 10000);
}
