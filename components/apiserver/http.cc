#include "components/apiserver/http.h"

#include "core/codec.h"
#include "core/objects.h"

namespace korc::apiserver {

std::string HttpRequest::Query(std::string_view key) const {
  auto it = query.find(std::string(key));
  return it == query.end() ? std::string() : it->second;
}

bool HttpRequest::QueryBool(std::string_view key) const {
  std::string v = Query(key);
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v == "true" || v == "1";
}

int HttpCode(Code code) {
  switch (code) {
    case Code::kOk:
      return 200;
    case Code::kBadRequest:
      return 400;
    case Code::kUnauthorized:
      return 401;
    case Code::kForbidden:
      return 403;
    case Code::kNotFound:
      return 404;
    case Code::kAlreadyExists:
      return 409;
    case Code::kConflict:
      return 409;
    case Code::kExpired:
      return 410;
    case Code::kTooLarge:
      return 413;
    case Code::kUnsupportedMediaType:
      return 415;
    case Code::kInvalid:
      return 422;
    case Code::kUnavailable:
      return 503;
    case Code::kCorruption:
      return 500;
    case Code::kInternal:
      return 500;
  }
  return 500;
}

HttpResponse ErrorResponse(const Status& status, std::string_view resource, std::string_view name,
                           std::string_view kind, const FieldErrors& causes) {
  api::StatusObject s;
  s.api_version = "v1";
  s.kind = "Status";
  s.status = "Failure";
  s.message = status.message();
  s.reason = std::string(StatusReason(status.code()));
  s.code = HttpCode(status.code());
  if (!resource.empty() || !name.empty() || !causes.empty()) {
    api::StatusDetails d;
    d.name = name;
    // Kubernetes names the resource for most errors and the kind for Invalid.
    d.kind = status.code() == Code::kInvalid && !kind.empty() ? kind : resource;
    for (const auto& c : causes) {
      d.causes.push_back(
          {std::string(c.Reason()), c.ToString().substr(c.field.size() + 2), c.field});
    }
    s.details = std::move(d);
  }
  return {s.code, "application/json", EncodeJsonAs(s), {}};
}

namespace {
int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Unescape(std::string_view s, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
      out += static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2]));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}
}  // namespace

void ParseTarget(std::string_view target, std::string* path,
                 std::map<std::string, std::string>* query) {
  auto q = target.find('?');
  *path = Unescape(target.substr(0, q), false);
  if (q == std::string_view::npos) return;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    auto eq = kv.find('=');
    std::string key = Unescape(kv.substr(0, eq), true);
    std::string value = eq == std::string_view::npos ? "" : Unescape(kv.substr(eq + 1), true);
    if (!key.empty()) (*query)[key] = value;
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
}

}  // namespace korc::apiserver
