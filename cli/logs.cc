// korc logs: a container's log, through the API server (which proxies to the node's kubelet),
// printed as it arrives — the same request and the same errors as `kubectl logs`.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <limits>

#include "cli/client.h"
#include "cli/flags.h"
#include "cli/verbs.h"

namespace korc::cli {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace po = boost::program_options;
using tcp = net::ip::tcp;

// GETs `target` and copies a 200's body to stdout piece by piece (ApiClient::Stream hands
// out whole lines, which would hold back a partial line of a followed log). Any other
// answer comes back whole, for ApiClient::ServerError.
Result<ApiResponse> CopyLog(const ApiClient& client, const std::string& target) {
  std::string hostport = client.server().substr(std::string_view("http://").size());
  auto colon = hostport.rfind(':');
  std::string host = colon == std::string::npos ? hostport : hostport.substr(0, colon);
  std::string port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);
  ApiResponse out;
  try {
    net::io_context io;
    tcp::resolver resolver(io);
    tcp::socket socket(io);
    net::connect(socket, resolver.resolve(host, port));
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, host);
    req.set(http::field::user_agent, "korc/" KORC_VERSION);
    req.set(http::field::accept, "application/json, */*");
    http::write(socket, req);
    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    http::read_header(socket, buffer, parser);
    out.code = static_cast<int>(parser.get().result_int());
    char chunk[16 * 1024];
    while (!parser.is_done()) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof chunk;
      beast::error_code ec;
      http::read_some(socket, buffer, parser, ec);
      size_t n = sizeof chunk - parser.get().body().size;
      if (out.code == 200) {
        std::fwrite(chunk, 1, n, stdout);
        std::fflush(stdout);
      } else {
        out.body.append(chunk, n);
      }
      if (ec && ec != http::error::need_buffer) break;
    }
  } catch (const std::exception& e) {
    return Status::Unavailable("cannot reach the API server at " + client.server() + ": " +
                               e.what());
  }
  return out;
}

}  // namespace

int Logs(const Args& args) {
  po::options_description opts(
      "Usage: korc logs POD [CONTAINER] [-c CONTAINER] [-f] [--tail N] [-p] [--timestamps]\n"
      "                 [--limit-bytes N] [--since-seconds N] [-n NAMESPACE]\n\n"
      "Prints a container's log. The API server asks the kubelet of the Pod's node for it;\n"
      "-f keeps printing as the container writes, until it exits or you stop it.\n\nFlags");
  std::string server, ns, container;
  int64_t tail = -1, limit_bytes = 0, since_seconds = 0;
  opts.add_options()("help,h", "show this help")(
      "server,s", po::value(&server), "API server address (default: $KORC_SERVER, kubeconfig)")(
      "namespace,n", po::value(&ns)->default_value("default"), "the Pod's namespace")(
      "container,c", po::value(&container), "the container (required when the Pod has several)")(
      "follow,f", "stream the log as it grows")("tail", po::value(&tail)->default_value(-1),
                                                "only the last N lines (-1: all)")(
      "previous,p", "the log of the container's previous, terminated attempt")(
      "timestamps", "prefix each line with its RFC 3339 timestamp")(
      "limit-bytes", po::value(&limit_bytes), "stop after this many bytes")(
      "since-seconds", po::value(&since_seconds), "only lines newer than this many seconds")(
      "args", po::value<std::vector<std::string>>(), "POD [CONTAINER]");
  po::variables_map vm;
  if (auto code = ParseFlags("logs", args, opts, vm)) return *code;
  std::vector<std::string> words;
  if (vm.count("args")) words = vm["args"].as<std::vector<std::string>>();
  if (words.empty() || words.size() > 2) {
    std::cerr << "korc logs: give one POD, optionally followed by its CONTAINER (see korc logs "
                 "--help)\n";
    return 2;
  }
  std::string pod = words[0];
  // kubectl accepts "pod/NAME" too.
  for (std::string_view prefix : {"pod/", "pods/", "po/"}) {
    if (pod.starts_with(prefix)) pod = pod.substr(prefix.size());
  }
  if (words.size() == 2) {
    if (!container.empty() && container != words[1]) {
      std::cerr << "korc logs: the container is given twice: -c " << container << " and "
                << words[1] << "\n";
      return 2;
    }
    container = words[1];
  }
  auto client = ApiClient::Connect(server);
  if (!client.ok()) {
    std::cerr << "error: " << client.status().message() << "\n";
    return 1;
  }
  std::string target = "/api/v1/namespaces/" + UrlEncode(ns) + "/pods/" + UrlEncode(pod) + "/log";
  std::string query;
  auto add = [&](const std::string& kv) { query += (query.empty() ? "?" : "&") + kv; };
  if (!container.empty()) add("container=" + UrlEncode(container));
  if (vm.count("follow")) add("follow=true");
  if (vm.count("previous")) add("previous=true");
  if (vm.count("timestamps")) add("timestamps=true");
  // As kubectl does, a negative --tail means all and is not sent; the server checks the rest.
  if (tail >= 0) add("tailLines=" + std::to_string(tail));
  if (vm.count("limit-bytes")) add("limitBytes=" + std::to_string(limit_bytes));
  if (vm.count("since-seconds")) add("sinceSeconds=" + std::to_string(since_seconds));
  auto r = CopyLog(*client, target + query);
  if (!r.ok() || r->code != 200) {
    std::cerr << ApiClient::ServerError(r) << "\n";
    return 1;
  }
  return 0;
}

}  // namespace korc::cli
