// Codec throughput: JSON decode and encode of Pod objects on one core (goal: decode
// >= 1M pods/s), plus YAML for comparison. Prints figures; never fails on timing.
//   build-release/bench/core/codec_bench [--quick]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/codec.h"
#include "tests/core/builders.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// The shape of a Pod a controller created from the seed's RC and a kubelet reported on.
std::string TypicalPod(int i) {
  using namespace korc;
  api::Pod p;
  p.metadata.name = "mysql-" + std::to_string(100000 + i);
  p.metadata.generate_name = "mysql-";
  p.metadata.namespace_ = "default";
  p.metadata.uid = "cf25cc93-77ba-4f98-9a9a-" + std::to_string(100000000000 + i);
  p.metadata.resource_version = std::to_string(1000 + i);
  p.metadata.creation_timestamp.unix_ns = 1'795'824'529'000'000'000;
  p.metadata.labels = {{"app", "mysql"}};
  p.metadata.owner_references = {{"v1", "ReplicationController", "mysql", "08ded56d", true, true}};
  api::Container c;
  c.name = "mysql";
  c.image = "mysql";
  c.ports = {{"", 0, 3306, "TCP", ""}};
  c.env = {{"MYSQL_ROOT_PASSWORD", "123456"}};
  c.termination_message_path = "/dev/termination-log";
  c.termination_message_policy = "File";
  c.image_pull_policy = "Always";
  p.spec.containers = {c};
  p.spec.restart_policy = "Always";
  p.spec.termination_grace_period_seconds = 30;
  p.spec.dns_policy = "ClusterFirst";
  p.spec.scheduler_name = "default-scheduler";
  p.spec.node_name = "node-" + std::to_string(i % 100);
  p.status.phase = "Running";
  p.status.host_ip = "10.0.0.1";
  p.status.pod_ip = "10.1.0." + std::to_string(i % 250);
  p.status.start_time.unix_ns = 1'795'824'530'000'000'000;
  p.status.conditions = {{"Ready", "True", {}, {1'795'824'531'000'000'000}, "", ""},
                         {"PodScheduled", "True", {}, {1'795'824'529'000'000'000}, "", ""}};
  api::ContainerStatus cs;
  cs.name = "mysql";
  cs.ready = true;
  cs.image = "mysql";
  cs.image_id = "sha256:5f2e";
  cs.container_id = "korc://" + std::to_string(i);
  cs.state.running = api::ContainerStateRunning{{1'795'824'530'000'000'000}};
  p.status.container_statuses = {cs};
  return korc::EncodeJson(p);
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && !std::strcmp(argv[1], "--quick");
  const int n = quick ? 20'000 : 1'000'000;
  const int distinct = 1000;
  std::vector<std::string> docs;
  for (int i = 0; i < distinct; ++i) docs.push_back(TypicalPod(i));
  size_t bytes = 0;
  for (int i = 0; i < n; ++i) bytes += docs[i % distinct].size();

  // Decode
  auto t0 = Clock::now();
  size_t sink = 0;
  for (int i = 0; i < n; ++i) {
    auto pod = korc::DecodeJsonAs<korc::api::Pod>(docs[i % distinct], nullptr);
    sink += pod->metadata.name.size();
  }
  auto t1 = Clock::now();
  double dec = Seconds(t0, t1);

  // Encode
  std::vector<korc::api::Pod> pods;
  for (const auto& d : docs) pods.push_back(*korc::DecodeJsonAs<korc::api::Pod>(d, nullptr));
  t0 = Clock::now();
  for (int i = 0; i < n; ++i) sink += korc::EncodeJsonAs(pods[i % distinct]).size();
  t1 = Clock::now();
  double enc = Seconds(t0, t1);

  // YAML decode (manifests are small and few; this is for scale only)
  const int ny = n / 50;
  std::vector<std::string> yamls;
  for (int i = 0; i < 100; ++i) yamls.push_back(korc::EncodeYaml(pods[i]));
  t0 = Clock::now();
  for (int i = 0; i < ny; ++i) sink += korc::DecodeYamlStream(yamls[i % 100])->size();
  t1 = Clock::now();
  double yd = Seconds(t0, t1);

  std::printf("codec_bench: %d Pods of %zu bytes average (single thread)\n", n, bytes / n);
  std::printf("  %-22s %12.0f pods/s  %8.1f MB/s\n", "JSON decode (simdjson)", n / dec,
              bytes / dec / 1e6);
  std::printf("  %-22s %12.0f pods/s  %8.1f MB/s\n", "JSON encode", n / enc, bytes / enc / 1e6);
  std::printf("  %-22s %12.0f pods/s\n", "YAML decode (yaml-cpp)", ny / yd);
  return sink == 0;
}
