// ApiClient: the CLI's connection to a korc (or Kubernetes) API server over plain HTTP.
//
// The server address comes from --server, else $KORC_SERVER, else the current context of a
// kubeconfig ($KUBECONFIG or ~/.kube/config) — the file `korc up` writes and kubectl reads.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace korc::cli {

struct ApiResponse {
  int code = 0;
  std::string body;
};

class ApiClient {
 public:
  // Resolves the server address; a clear error says how to give one.
  static Result<ApiClient> Connect(const std::string& server_flag);

  // One request. `content_type` may be empty (no body).
  Result<ApiResponse> Call(std::string_view method, std::string_view target,
                           std::string_view body = {}, std::string_view content_type = {},
                           std::string_view accept = "application/json") const;

  // A streamed GET (watch, the audit log): on_line gets each line of the body until the
  // server ends it or on_line returns false. A non-200 answer is returned as an error.
  Status Stream(std::string_view target, std::string_view accept,
                const std::function<bool(std::string_view line)>& on_line) const;

  const std::string& server() const { return server_; }

  // The message of a metav1.Status error body, else the body itself.
  static std::string ErrorMessage(const ApiResponse& r);
  // The line kubectl prints for a failed request: "Error from server (NotFound): pods "x" not
  // found", with `context` ("error when creating \"f.yaml\"") before the message when given;
  // for a request that never got an answer, "error: " and why.
  static std::string ServerError(const Result<ApiResponse>& r, std::string_view context = {});

 private:
  std::string server_;  // "http://127.0.0.1:6443"
  std::string host_;
  std::string port_;
};

// Percent-encodes a query value.
std::string UrlEncode(std::string_view s);

}  // namespace korc::cli
