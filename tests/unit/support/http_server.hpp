// SPDX-License-Identifier: MIT
#pragma once

// A tiny HTTP/1.1 server on 127.0.0.1 for the network tests: one connection at a time, or each
// on a thread of its own (`concurrent`), `Connection: close` after every answer. Handlers decide
// each reply, and can cut the connection after N body bytes to simulate a dropped download.

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <thread>
#include <utility>
#include <vector>

namespace hfmodels::test {

struct HttpRequest {
  std::string method;
  std::string target;                         // path and query, as sent
  std::map<std::string, std::string> headers; // names lower-cased

  std::optional<std::string> header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
};

struct HttpReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Close the connection after this many body bytes, though Content-Length announced them all.
  std::optional<std::size_t> cut_after;
};

class HttpServer {
public:
  using Handler = std::function<HttpReply(const HttpRequest&)>;

  explicit HttpServer(Handler handler, bool concurrent = false)
      : m_handler(std::move(handler)), m_concurrent(concurrent) {
    m_listen = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0; // any free port
    socklen_t length = sizeof(address);
    if (m_listen < 0 || ::bind(m_listen, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(m_listen, 16) != 0 ||
        ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
        ::pipe(m_wake) != 0) {
      throw std::runtime_error("test server: cannot listen on 127.0.0.1");
    }
    m_port = ntohs(address.sin_port);
    m_thread = std::thread([this] { serve(); });
  }

  ~HttpServer() {
    const char byte = 0;
    static_cast<void>(::write(m_wake[1], &byte, 1));
    m_thread.join();
    for (std::thread& thread : m_connections) {
      thread.join();
    }
    ::close(m_listen);
    ::close(m_wake[0]);
    ::close(m_wake[1]);
  }

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return m_port; }
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  std::string url(std::string_view target) const { return origin() + std::string(target); }

  std::vector<HttpRequest> requests() const {
    const std::lock_guard lock(m_mutex);
    return m_requests;
  }

private:
  void serve() {
    for (;;) {
      pollfd fds[2] = {{m_listen, POLLIN, 0}, {m_wake[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 || (fds[1].revents & POLLIN) != 0) {
        return;
      }
      const int connection = ::accept(m_listen, nullptr, nullptr);
      if (connection < 0) {
        continue;
      }
      if (m_concurrent) {
        m_connections.emplace_back([this, connection] {
          handle(connection);
          ::close(connection);
        });
      } else {
        handle(connection);
        ::close(connection);
      }
    }
  }

  void handle(int connection) {
    std::string data;
    while (data.find("\r\n\r\n") == std::string::npos) {
      pollfd fd{connection, POLLIN, 0};
      char buffer[4096];
      if (::poll(&fd, 1, 5000) <= 0) {
        return;
      }
      const ssize_t n = ::read(connection, buffer, sizeof(buffer));
      if (n <= 0) {
        return;
      }
      data.append(buffer, static_cast<std::size_t>(n));
    }
    const HttpRequest request = parse(data.substr(0, data.find("\r\n\r\n")));
    {
      const std::lock_guard lock(m_mutex);
      m_requests.push_back(request);
    }
    HttpReply reply;
    try {
      reply = m_handler(request);
    } catch (const std::exception& error) {
      reply = HttpReply{500, {}, std::string("handler failed: ") + error.what(), std::nullopt};
    }
    std::string head = "HTTP/1.1 " + std::to_string(reply.status) + " Status\r\n";
    head += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
    head += "Connection: close\r\n";
    for (const auto& [name, value] : reply.headers) {
      head += name + ": " + value + "\r\n";
    }
    head += "\r\n";
    const std::size_t body_bytes = std::min(reply.body.size(), reply.cut_after.value_or(SIZE_MAX));
    if (send_all(connection, head) && body_bytes > 0) {
      send_all(connection, std::string_view(reply.body).substr(0, body_bytes));
    }
  }

  static bool send_all(int connection, std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(connection, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  static HttpRequest parse(std::string_view head) {
    HttpRequest request;
    auto next_line = [&head]() {
      const auto end = head.find("\r\n");
      std::string_view line = head.substr(0, end);
      head = end == std::string_view::npos ? std::string_view{} : head.substr(end + 2);
      return line;
    };
    const std::string_view request_line = next_line();
    const auto first_space = request_line.find(' ');
    const auto second_space = request_line.find(' ', first_space + 1);
    request.method = std::string(request_line.substr(0, first_space));
    request.target =
        std::string(request_line.substr(first_space + 1, second_space - first_space - 1));
    while (!head.empty()) {
      const std::string_view line = next_line();
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) {
        continue;
      }
      std::string name(line.substr(0, colon));
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
      }
      request.headers[name] = std::string(value);
    }
    return request;
  }

  Handler m_handler;
  int m_listen = -1;
  int m_wake[2] = {-1, -1};
  int m_port = 0;
  bool m_concurrent = false;
  std::thread m_thread;
  std::vector<std::thread> m_connections;
  mutable std::mutex m_mutex;
  std::vector<HttpRequest> m_requests;
};

} // namespace hfmodels::test
