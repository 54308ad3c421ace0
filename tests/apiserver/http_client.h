// A minimal blocking HTTP/1.1 client for tests (Boost.Beast), one connection per call.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <string>

namespace korc::testing {

struct HttpResult {
  int code = 0;
  std::string content_type;
  std::string body;
  std::string warning;
};

inline HttpResult Http(uint16_t port, const std::string& method, const std::string& target,
                       const std::string& body = {},
                       const std::string& content_type = "application/json",
                       const std::string& accept = "application/json") {
  namespace beast = boost::beast;
  namespace http = beast::http;
  namespace net = boost::asio;
  net::io_context io;
  net::ip::tcp::socket socket(io);
  socket.connect({net::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!content_type.empty()) req.set(http::field::content_type, content_type);
  if (!accept.empty()) req.set(http::field::accept, accept);
  req.body() = body;
  req.prepare_payload();
  beast::error_code write_ec;
  http::write(socket, req, write_ec);  // a server may answer (413) before reading it all
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256 * 1024 * 1024);
  beast::error_code ec;
  http::read(socket, buffer, parser, ec);
  HttpResult out;
  if (ec && ec != http::error::end_of_stream) {
    out.code = -1;
    out.body = ec.message();
    return out;
  }
  const auto& res = parser.get();
  out.code = static_cast<int>(res.result_int());
  out.body = res.body();
  if (auto it = res.find(http::field::content_type); it != res.end()) {
    out.content_type = std::string(it->value());
  }
  if (auto it = res.find(http::field::warning); it != res.end())
    out.warning = std::string(it->value());
  beast::error_code ignored;
  socket.shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  return out;
}

}  // namespace korc::testing
