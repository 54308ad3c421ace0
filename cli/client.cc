#include "cli/client.h"

#include <yaml-cpp/yaml.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace korc::cli {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Beast (Boost 1.74) speaks boost::string_view.
beast::string_view B(std::string_view s) { return {s.data(), s.size()}; }

Result<std::string> FromKubeconfig() {
  std::string path;
  if (const char* k = std::getenv("KUBECONFIG"); k && *k) {
    path = k;
    path = path.substr(0, path.find(':'));
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    path = std::string(home) + "/.kube/config";
  }
  if (path.empty()) return Status::NotFound("no kubeconfig");
  try {
    YAML::Node cfg = YAML::LoadFile(path);
    std::string context = cfg["current-context"] ? cfg["current-context"].as<std::string>() : "";
    std::string cluster;
    for (const auto& c : cfg["contexts"]) {
      if (c["name"].as<std::string>() == context)
        cluster = c["context"]["cluster"].as<std::string>();
    }
    for (const auto& c : cfg["clusters"]) {
      if (c["name"].as<std::string>() == cluster) return c["cluster"]["server"].as<std::string>();
    }
    return Status::NotFound("kubeconfig " + path + " has no cluster for its current context \"" +
                            context + "\"");
  } catch (const YAML::BadFile&) {
    return Status::NotFound("no kubeconfig at " + path);
  } catch (const YAML::Exception& e) {
    return Status::Invalid("kubeconfig " + path + ": " + e.what());
  }
}

}  // namespace

Result<ApiClient> ApiClient::Connect(const std::string& server_flag) {
  std::string server = server_flag;
  if (server.empty()) {
    if (const char* env = std::getenv("KORC_SERVER"); env && *env) server = env;
  }
  if (server.empty()) {
    auto k = FromKubeconfig();
    if (!k.ok()) {
      return Status::NotFound(
          "no API server to talk to: pass --server http://127.0.0.1:6443, set "
          "KORC_SERVER, or point KUBECONFIG at the file `korc up` writes (" +
          k.status().message() + ")");
    }
    server = *k;
  }
  if (server.starts_with("https://")) {
    return Status::Invalid("the server " + server +
                           " speaks https; korc's client speaks plain http only (so far)");
  }
  if (!server.starts_with("http://")) server = "http://" + server;
  std::string hostport = server.substr(7);
  hostport = hostport.substr(0, hostport.find('/'));
  ApiClient c;
  c.server_ = "http://" + hostport;
  auto colon = hostport.rfind(':');
  c.host_ = colon == std::string::npos ? hostport : hostport.substr(0, colon);
  c.port_ = colon == std::string::npos ? "80" : hostport.substr(colon + 1);
  return c;
}

Result<ApiResponse> ApiClient::Call(std::string_view method, std::string_view target,
                                    std::string_view body, std::string_view content_type,
                                    std::string_view accept) const {
  ApiResponse out;
  Status st = Status::Ok();
  try {
    net::io_context io;
    tcp::resolver resolver(io);
    tcp::socket socket(io);
    net::connect(socket, resolver.resolve(host_, port_));
    http::request<http::string_body> req{http::string_to_verb(B(method)), B(target), 11};
    req.set(http::field::host, host_);
    req.set(http::field::user_agent, "korc/" KORC_VERSION);
    req.set(http::field::accept, B(accept));
    if (!content_type.empty()) req.set(http::field::content_type, B(content_type));
    req.body() = std::string(body);
    req.prepare_payload();
    http::write(socket, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ull << 31);
    http::read(socket, buffer, parser);
    out.code = static_cast<int>(parser.get().result_int());
    out.body = parser.get().body();
    beast::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
  } catch (const std::exception& e) {
    return Status::Unavailable("cannot reach the API server at " + server_ + ": " + e.what());
  }
  return out;
}

Status ApiClient::Stream(std::string_view target, std::string_view accept,
                         const std::function<bool(std::string_view)>& on_line) const {
  try {
    net::io_context io;
    tcp::resolver resolver(io);
    tcp::socket socket(io);
    net::connect(socket, resolver.resolve(host_, port_));
    http::request<http::empty_body> req{http::verb::get, B(target), 11};
    req.set(http::field::host, host_);
    req.set(http::field::user_agent, "korc/" KORC_VERSION);
    req.set(http::field::accept, B(accept));
    http::write(socket, req);
    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    http::read_header(socket, buffer, parser);
    const int code = static_cast<int>(parser.get().result_int());
    std::string pending, all;
    char chunk[8192];
    bool go = true;
    while (go && !parser.is_done()) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof chunk;
      beast::error_code ec;
      http::read(socket, buffer, parser, ec);
      if (ec && ec != http::error::need_buffer) break;
      size_t n = sizeof chunk - parser.get().body().size;
      if (code != 200) {
        all.append(chunk, n);
        continue;
      }
      pending.append(chunk, n);
      size_t nl;
      while (go && (nl = pending.find('\n')) != std::string::npos) {
        go = on_line(std::string_view(pending).substr(0, nl));
        pending.erase(0, nl + 1);
      }
    }
    if (code != 200) {
      return Status(code == 404   ? Code::kNotFound
                    : code == 410 ? Code::kExpired
                                  : Code::kBadRequest,
                    ErrorMessage({code, all}));
    }
  } catch (const std::exception& e) {
    return Status::Unavailable("cannot reach the API server at " + server_ + ": " + e.what());
  }
  return Status::Ok();
}

std::string ApiClient::ErrorMessage(const ApiResponse& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    std::string reason =
        j.contains("reason") && j["reason"].is_string() ? j["reason"].get<std::string>() : "";
    return (reason.empty() ? "" : "(" + reason + ") ") + j["message"].get<std::string>();
  }
  return "HTTP " + std::to_string(r.code) + ": " + r.body.substr(0, 200);
}

std::string ApiClient::ServerError(const Result<ApiResponse>& r, std::string_view context) {
  if (!r.ok()) return "error: " + r.status().message();
  std::string ctx = context.empty() ? "" : std::string(context) + ": ";
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    std::string reason =
        j.contains("reason") && j["reason"].is_string() ? j["reason"].get<std::string>() : "";
    return "Error from server" + (reason.empty() ? "" : " (" + reason + ")") + ": " + ctx +
           j["message"].get<std::string>();
  }
  return "Error from server: " + ctx + "HTTP " + std::to_string(r->code) + ": " +
         r->body.substr(0, 200);
}

std::string UrlEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace korc::cli
