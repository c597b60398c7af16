#pragma once

// Servers for the llm tests: the loopback fault server (tests/llm/fault_server.py), started by
// the tests themselves, and the real servers of scripts/llm_servers.sh, found through
// GATREC_EMBEDDINGS_URL / GATREC_CHAT_URL.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include <gatrec/llm/http_client.hpp>
#include <nlohmann/json.hpp>

namespace gatrec::test {

/// A running tests/llm/fault_server.py, stopped (SIGTERM to its own pid) on destruction.
class fault_server {
 public:
  /// Starts the server; nullptr with `why_not` set when it cannot (no python3).
  static std::unique_ptr<fault_server> start(std::string& why_not) {
    const std::string python = GATREC_PYTHON;
    const std::string script = std::string(GATREC_LLM_TEST_DIR) + "/fault_server.py";
    if (python.empty() || !std::filesystem::exists(python)) {
      why_not = "no Python 3 interpreter was found at configure time";
      return nullptr;
    }
    int out[2], in[2];
    if (pipe(out) != 0 || pipe(in) != 0) {
      why_not = "pipe() failed";
      return nullptr;
    }
    const pid_t pid = fork();
    if (pid < 0) {
      why_not = "fork() failed";
      return nullptr;
    }
    if (pid == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[0]);
      close(in[1]);
      close(out[0]);
      close(out[1]);
      execl(python.c_str(), python.c_str(), script.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    auto s = std::unique_ptr<fault_server>(new fault_server(pid, in[1]));
    // The first line is "PORT <n>"; give the interpreter 20 s to start.
    std::string line;
    pollfd p{out[0], POLLIN, 0};
    while (line.find('\n') == std::string::npos && poll(&p, 1, 20000) > 0) {
      char buf[64];
      const ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    close(out[0]);
    if (line.rfind("PORT ", 0) != 0) {
      why_not = "fault_server.py did not start (printed '" + line + "')";
      return nullptr;
    }
    s->port_ = std::stoi(line.substr(5));
    return s;
  }

  ~fault_server() {
    close(stdin_);  // the server exits when its standard input closes ...
    kill(pid_, SIGTERM);  // ... and on SIGTERM, whichever comes first
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  fault_server(const fault_server&) = delete;
  fault_server& operator=(const fault_server&) = delete;

  /// "http://127.0.0.1:<port>/<path>" (path without a leading slash).
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + "/" + path; }

  /// API requests the server has received for `token`.
  std::size_t count(const std::string& token) const {
    http_options o;
    o.max_retries = 0;
    o.api_key = "";
    http_client c(o);
    const http_response r = c.post_json(url("count/" + token), "{}");
    return nlohmann::json::parse(r.body).at("requests").get<std::size_t>();
  }

 private:
  fault_server(pid_t pid, int stdin_fd) : pid_(pid), stdin_(stdin_fd) {}
  pid_t pid_;
  int stdin_;
  int port_ = 0;
};

/// A loopback port nothing listens on (bound, read, closed: a race with other programs is
/// possible but harmless, the test then sees another error kind and says so).
inline int unused_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

/// A fresh, empty folder under the system temporary folder, removed on destruction.
class temp_dir {
 public:
  temp_dir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("gatrec-llm-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// The value of an environment variable, or "" when unset.
inline std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

}  // namespace gatrec::test

/// Skips the test unless scripts/llm_servers.sh exported the variable `name`.
#define GATREC_REQUIRE_SERVER(var, name)                                                              \
  const std::string var = ::gatrec::test::env_or_empty(name);                                        \
  if (var.empty())                                                                                    \
  GTEST_SKIP() << name << " is not set: start the servers with `eval \"$(scripts/llm_servers.sh start)\"`" \
               << " (after `scripts/llm_servers.sh install`) to run this test"
