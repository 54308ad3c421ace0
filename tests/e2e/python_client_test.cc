// The real Python kubernetes client (Debian python3-kubernetes) against a real `korc
// apiserver`: python_client.py walks through namespaces, Pods and RCs built from the
// client's models, patches, selectors, a watch and the error statuses, printing "ok: <step>"
// per step; this test runs it and checks the steps.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/e2e/harness.h"

namespace korc::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The client imports only under the system interpreter, not a pyenv python on PATH.
constexpr const char* kPython = "/usr/bin/python3";

class PythonClientTest : public ::testing::Test, public ServerFixture {
 protected:
  void SetUp() override {
    KORC_E2E_REQUIRE(IsExecutable(kPython), std::string("no ") + kPython);
    Outcome import = RunCommand({kPython, "-c", "import kubernetes"}, ChildEnv({}), 60s);
    KORC_E2E_REQUIRE(import.code == 0,
                     "the kubernetes client does not import under /usr/bin/python3 "
                     "(apt-get install python3-kubernetes; scripts/setup does): " +
                         import.out);
    StartServer("korc-e2e-python");
  }
  void TearDown() override { StopServer(); }
};

TEST_F(PythonClientTest, WalksThroughTheCoreApi) {
  Outcome r = RunCommand({kPython, KORC_SOURCE "/tests/e2e/python_client.py", server_.url()},
                         ChildEnv({"HOME=" + dir_, "PYTHONDONTWRITEBYTECODE=1"}, {"KUBECONFIG"}),
                         std::chrono::seconds(180));
  EXPECT_EQ(r.code, 0) << r << "\nserver output:\n" << server_.output();
  EXPECT_THAT(r.out, Not(HasSubstr("FAIL:")));
  for (const char* step : {
           "ok: list namespaces default,",
           "ok: create pod\n",
           "ok: create rc\n",
           "ok: read pod phase=Pending\n",
           "ok: read rc\n",
           "ok: patch rc replicas 3\n",
           "ok: patch rc label tier=db\n",
           "ok: json patch rc 2\n",
           "ok: read scale\n",
           "ok: list with label selector\n",
           "ok: service and node\n",
           "ok: list all namespaces\n",
           "ok: watch ADDED py-watched, stream ended\n",
           "ok: 404 NotFound\n",
           "ok: 409 AlreadyExists\n",
           "ok: 422 Invalid spec.replicas\n",
           "ok: delete pods\n",
           "ok: delete rc\n",
           "ok: delete service and node\n",
           "python client: all steps passed\n",
       }) {
    EXPECT_THAT(r.out, HasSubstr(step));
  }
}

}  // namespace
}  // namespace korc::e2e
