// The HTTP shapes the API server's handlers see, independent of the transport: a parsed
// request, a response, and the metav1.Status error body. One place maps korc's Codes to
// HTTP statuses.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/field_error.h"
#include "core/status.h"

namespace korc::apiserver {

// Who asked for a change and why, as the log records it (DESIGN.md, "The event record").
// Requests from people carry none of it (the server fills actor from the client and the
// decision's basis from its own state); component commands (bus/command.h) carry all of it.
struct Provenance {
  std::string actor;
  uint64_t cause = 0;  // seq of the event that woke the decision
  uint64_t basis = 0;  // seq of the view it was made on (0: the server's own state)
  int64_t basis_time_ns = 0;
  std::string command;  // the command's id: a change is applied once per id
  std::string reason;   // the component's reason for the change
};

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // "/api/v1/namespaces/default/pods" (percent-decoded)
  std::map<std::string, std::string> query;
  std::string content_type;
  std::string accept;
  std::string user_agent;
  std::string body;
  Provenance provenance;

  // The query value, or "" when absent.
  std::string Query(std::string_view key) const;
  // Kubernetes reads booleans case-insensitively ("true", "True", "1").
  bool QueryBool(std::string_view key) const;
};

struct HttpResponse {
  int code = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::string> warnings;  // sent as `Warning: 299 - "..."` headers
  // For writes: the seq of the (first) change the request committed, 0 when it wrote
  // nothing; `duplicate` when its command id had been applied before (at `seq`). Component
  // commands are answered with these so their runtime knows what to wait for.
  uint64_t seq = 0;
  bool duplicate = false;
};

// The HTTP status for a Code (400, 404, 409, 410, 413, 415, 422, 500, 503, ...).
int HttpCode(Code code);

// A metav1.Status failure body for `status`; `resource`/`name` fill details (kubectl prints
// `The Pod "bad" is invalid: ...` from them), `causes` the field errors of an Invalid.
HttpResponse ErrorResponse(const Status& status, std::string_view resource = {},
                           std::string_view name = {}, std::string_view kind = {},
                           const FieldErrors& causes = {});

// Splits "path?query" and percent-decodes both.
void ParseTarget(std::string_view target, std::string* path,
                 std::map<std::string, std::string>* query);

}  // namespace korc::apiserver
