// End-to-end test of vindex_http_service: builds a small index, starts the
// service on 127.0.0.1 with a free port, sends requests with the httplib
// client, checks the answers (including 400s for bad input and for knobs
// above their caps), adds, removes and saves through it, and stops it.
// Every step is bounded in time; nothing leaves the loopback interface.
//
// Usage: http_service_test SERVICE_BINARY INDEX_PATH
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "vindex/vindex.h"

namespace {

constexpr int kDim = 8;
constexpr int64_t kNumVectors = 1000;
pid_t service_pid = -1;

// Stops the service: SIGTERM, then SIGKILL after 10 s. Returns its exit code
// (or -1 if it had to be killed or exited abnormally).
int StopService() {
  if (service_pid <= 0) return -1;
  kill(service_pid, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    int status = 0;
    if (waitpid(service_pid, &status, WNOHANG) == service_pid) {
      service_pid = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(service_pid, SIGKILL);
  waitpid(service_pid, nullptr, 0);
  service_pid = -1;
  return -1;
}

int Fail(const std::string& why) {
  std::fprintf(stderr, "FAIL: %s\n", why.c_str());
  StopService();
  return 1;
}

// Starts `binary` on a free loopback port and returns the port it printed,
// or -1. Its stdout comes back through a pipe; stderr is inherited.
int StartService(const std::string& binary, const std::string& index_path) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  service_pid = fork();
  if (service_pid < 0) return -1;
  if (service_pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl(binary.c_str(), binary.c_str(), "--index", index_path.c_str(),
          "--host", "127.0.0.1", "--port", "0", "--threads", "2", "--writable",
          "--max-ef", "256", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  // Read the "listening on 127.0.0.1:PORT ..." line, for at most 30 s.
  std::string line;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (line.find('\n') == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fds[0], POLLIN, 0};
    if (poll(&pfd, 1, 500) <= 0) continue;
    char buf[256];
    const ssize_t got = read(fds[0], buf, sizeof(buf));
    if (got <= 0) break;  // The service exited.
    line.append(buf, got);
  }
  close(fds[0]);  // The service's later prints go to a closed pipe: ignored.
  std::printf("service: %s", line.c_str());
  int port = -1;
  if (std::sscanf(line.c_str(), "listening on 127.0.0.1:%d", &port) != 1) {
    return -1;
  }
  return port;
}

std::string VectorJson(const float* v) {
  std::string s = "[";
  for (int d = 0; d < kDim; ++d) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%s%.9g", d ? "," : "", v[d]);
    s += buf;
  }
  return s + "]";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: http_service_test SERVICE INDEX_PATH\n");
    return 2;
  }
  // SIGPIPE from a dead service must not kill the test.
  signal(SIGPIPE, SIG_IGN);

  // 1. A small Flat index with ids 0..999.
  std::mt19937 rng(5);
  std::normal_distribution<float> gauss;
  std::vector<float> vectors(kNumVectors * kDim);
  for (float& x : vectors) x = gauss(rng);
  std::vector<int64_t> ids(kNumVectors);
  for (int64_t i = 0; i < kNumVectors; ++i) ids[i] = i;
  auto made = vindex::MakeIndex("Flat", kDim);
  if (!made.ok()) return Fail(made.status().ToString());
  if (absl::Status s = (*made)->Add(
          vindex::MatrixView<const float>(vectors.data(), kNumVectors, kDim),
          ids);
      !s.ok()) {
    return Fail(s.ToString());
  }
  if (absl::Status s = vindex::SaveIndexToFile(**made, argv[2]); !s.ok()) {
    return Fail(s.ToString());
  }

  // 2. Start the service and connect with bounded timeouts.
  const int port = StartService(argv[1], argv[2]);
  if (port <= 0) return Fail("the service did not report a port");
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  client.set_write_timeout(10);

  // 3. Health.
  auto health = client.Get("/health");
  if (!health || health->status != 200 ||
      health->body.find("\"size\":1000") == std::string::npos) {
    return Fail("GET /health");
  }
  std::printf("GET /health -> %s\n", health->body.c_str());

  // 4. A search for vector #17 must return id 17 first, at distance 0.
  const std::string body = absl::StrCat(
      "{\"vector\":", VectorJson(vectors.data() + 17 * kDim), ",\"k\":3}");
  auto found = client.Post("/search", body, "application/json");
  if (!found || found->status != 200 ||
      found->body.rfind("{\"ids\":[17,", 0) != 0) {
    return Fail(
        absl::StrCat("POST /search: ", found ? found->body : "no response"));
  }
  std::printf("POST /search -> %s\n", found->body.c_str());

  // 5. Bad input is 400 with a message, and the service keeps serving.
  const std::string bad_requests[] = {
      "{\"vector\":[1,2,",                           // Truncated JSON.
      "{\"vector\":[1,2,3]}",                        // Wrong dimension.
      "{\"vector\":[1,2,3,4,5,6,7,8],\"k\":0}",      // k out of range.
      "{\"vector\":[1,2,3,4,5,6,7,8],\"color\":1}",  // Unknown key.
      "not json"};
  for (const std::string& bad : bad_requests) {
    auto res = client.Post("/search", bad, "application/json");
    if (!res || res->status != 400) {
      return Fail(absl::StrCat("expected 400 for ", bad));
    }
    std::printf("POST %s -> 400 %s\n", bad.c_str(), res->body.c_str());
  }
  auto again = client.Get("/health");
  if (!again || again->status != 200) return Fail("not serving after 400s");

  // 6. Knobs above their caps are refused (400 naming the cap), not run:
  // one such request would otherwise walk the whole graph or list set.
  const std::string v0 = VectorJson(vectors.data());
  const std::string over_cap[] = {
      absl::StrCat("{\"vector\":", v0, ",\"ef\":1048576}"),
      absl::StrCat("{\"vector\":", v0, ",\"ef\":257}"),  // --max-ef 256
      absl::StrCat("{\"vector\":", v0, ",\"nprobe\":1048576}"),
      absl::StrCat("{\"vector\":", v0, ",\"rerank_factor\":1048576}")};
  for (const std::string& body : over_cap) {
    auto res = client.Post("/search", body, "application/json");
    if (!res || res->status != 400 ||
        res->body.find("allows at most") == std::string::npos) {
      return Fail(absl::StrCat("expected 400 (cap) for ", body, ", got ",
                               res ? res->body : "no response"));
    }
  }
  auto at_cap =
      client.Post("/search", absl::StrCat("{\"vector\":", v0, ",\"ef\":256}"),
                  "application/json");
  if (!at_cap || at_cap->status != 200) return Fail("ef at the cap refused");

  // 7. Writes: add id 5000, find it, read it back, remove it, save.
  std::vector<float> extra(kDim, 7.0f);
  const std::string extra_json = VectorJson(extra.data());
  auto added = client.Post(
      "/add", absl::StrCat("{\"id\":5000,\"vector\":", extra_json, "}"),
      "application/json");
  if (!added || added->status != 200 || added->body != "{\"size\":1001}") {
    return Fail(absl::StrCat("POST /add: ", added ? added->body : "none"));
  }
  auto near = client.Post("/search",
                          absl::StrCat("{\"vector\":", extra_json, ",\"k\":1}"),
                          "application/json");
  if (!near || near->body.rfind("{\"ids\":[5000]", 0) != 0) {
    return Fail("the added vector is not found");
  }
  auto got = client.Post("/get", "{\"id\":5000}", "application/json");
  if (!got || got->status != 200 ||
      got->body != absl::StrCat("{\"id\":5000,\"vector\":", extra_json, "}")) {
    return Fail(absl::StrCat("POST /get: ", got ? got->body : "none"));
  }
  auto duplicate = client.Post(
      "/add", absl::StrCat("{\"id\":5000,\"vector\":", extra_json, "}"),
      "application/json");
  if (!duplicate || duplicate->status != 400) return Fail("duplicate add");
  auto removed = client.Post("/remove", "{\"id\":17}", "application/json");
  if (!removed || removed->status != 200) return Fail("POST /remove");
  auto gone = client.Post("/remove", "{\"id\":17}", "application/json");
  if (!gone || gone->status != 404) return Fail("remove of a missing id");
  auto missing = client.Post("/get", "{\"id\":17}", "application/json");
  if (!missing || missing->status != 404) return Fail("get of a removed id");
  auto saved = client.Post("/save", "", "application/json");
  if (!saved || saved->status != 200) {
    return Fail(absl::StrCat("POST /save: ", saved ? saved->body : "none"));
  }
  auto reloaded = vindex::LoadIndexFromFile(argv[2]);
  if (!reloaded.ok() || (*reloaded)->info().size != 1000) {
    return Fail("the saved file does not hold the writes");
  }
  std::vector<float> back(kDim);
  const int64_t id5000 = 5000;
  if (!(*reloaded)
           ->GetVectors({&id5000, 1},
                        vindex::MatrixView<float>(back.data(), 1, kDim))
           .ok() ||
      back != extra) {
    return Fail("the saved file lost the added vector");
  }

  // 8. Stop it; it must exit cleanly on SIGTERM.
  if (const int code = StopService(); code != 0) {
    return Fail(absl::StrCat("service exit code ", code));
  }
  std::remove(argv[2]);
  std::printf("http service test passed\n");
  return 0;
}
