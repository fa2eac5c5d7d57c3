// vindex_http_service: a small HTTP search service over one saved index.
//
//   vindex_http_service --index FILE [--host 127.0.0.1] [--port 8080]
//                       [--threads N (default 16)]
//
//   GET  /health  -> {"status":"ok","index":"HNSW32","dim":128,"size":...}
//   POST /search  {"vector":[...],"k":10,"nprobe":32,"ef":64}
//                 -> {"ids":[...],"distances":[...]}   (closest first)
//
// Bad requests (malformed JSON, wrong dimension, k out of range) get HTTP 400
// with {"error":"..."}. The index is loaded with LoadOptions::memory_map:
// Flat vectors, IVF lists and the HNSW level-0 graph blocks (with their
// vectors) are then served from the file mapping (quick start-up, memory
// shared with the page cache and other processes); only the small parts,
// such as HNSW upper levels and id tables, are read into memory. Replace the
// file by writing a new one and renaming it over the old (never by copying
// over it in place). Each request is one query, searched on its
// connection's worker thread; --threads sets how many connections are served
// at once. --port 0 picks a free port; the chosen one is printed as
// "listening on HOST:PORT". SIGINT/SIGTERM stop it cleanly.
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "search_request.h"
#include "vindex/vindex.h"

namespace {

// Set from the signal handler; lock-free atomics are async-signal-safe.
std::atomic<bool> stop_requested{false};
std::atomic<bool> serving_done{false};
void RequestStop(int) { stop_requested = true; }

struct Flags {
  std::string index;
  std::string host = "127.0.0.1";  // Loopback unless asked otherwise.
  int port = 8080;
  int threads = 0;  // 0: 16 (see main).
};

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", arg.c_str());
      return false;
    }
    const char* value = argv[++i];
    if (arg == "--index") {
      flags->index = value;
    } else if (arg == "--host") {
      flags->host = value;
    } else if (arg == "--port") {
      flags->port = std::atoi(value);
    } else if (arg == "--threads") {
      flags->threads = std::atoi(value);
    } else {
      std::fprintf(stderr, "unknown flag %s\n", arg.c_str());
      return false;
    }
  }
  if (flags->index.empty() || flags->port < 0 || flags->port > 65535 ||
      flags->threads < 0) {
    std::fprintf(stderr,
                 "usage: vindex_http_service --index FILE [--host ADDR] "
                 "[--port 8080] [--threads N (default 16)]\n");
    return false;
  }
  return true;
}

// Escapes a message for a JSON string (messages are ASCII from vindex).
std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

void Reply(httplib::Response& res, int status, const std::string& json) {
  res.status = status;
  res.set_content(json, "application/json");
}

void ReplyError(httplib::Response& res, int status, absl::string_view message) {
  Reply(res, status, absl::StrCat("{\"error\":", JsonString(message), "}"));
}

// POST /search: parse, validate the shape against the index, search, answer.
void HandleSearch(const vindex::Index& index, int dim,
                  const httplib::Request& req, httplib::Response& res) {
  absl::StatusOr<vindex_http::SearchRequest> request =
      vindex_http::ParseSearchRequest(req.body);
  if (!request.ok()) {
    ReplyError(res, 400, request.status().message());
    return;
  }
  if (static_cast<int>(request->vector.size()) != dim) {
    ReplyError(res, 400,
               absl::StrCat("\"vector\" has ", request->vector.size(),
                            " values; the index has dim ", dim));
    return;
  }
  const int k = request->k;
  std::vector<int64_t> ids(k);
  std::vector<float> distances(k);
  vindex::SearchOutput out{vindex::MatrixView<int64_t>(ids.data(), 1, k),
                           vindex::MatrixView<float>(distances.data(), 1, k)};
  const vindex::SearchParams params{.k = k,
                                    .nprobe = request->nprobe,
                                    .ef = request->ef,
                                    .rerank_factor = request->rerank_factor};
  // No executor: one query per request, on this connection's thread; the
  // server's thread pool is the parallelism.
  absl::Status s = index.Search(
      vindex::MatrixView<const float>(request->vector.data(), 1, dim), params,
      out);
  if (!s.ok()) {
    // InvalidArgument is the caller's fault (e.g. NaN in the vector).
    ReplyError(res, s.code() == absl::StatusCode::kInvalidArgument ? 400 : 500,
               s.ToString());
    return;
  }
  // Missing results (fewer than k stored) are padding: left out.
  std::string ids_json = "[", dist_json = "[";
  for (int j = 0; j < k && ids[j] != -1; ++j) {
    if (j > 0) {
      ids_json += ',';
      dist_json += ',';
    }
    absl::StrAppend(&ids_json, ids[j]);
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.9g", distances[j]);
    dist_json += buf;
  }
  Reply(
      res, 200,
      absl::StrCat("{\"ids\":", ids_json, "],\"distances\":", dist_json, "]}"));
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;

  // SIGINT/SIGTERM only raise a flag (all a signal handler may safely do);
  // a watcher thread sees it and stops the server. (Masking the signals and
  // sigwait-ing is not enough: libraries such as OpenBLAS start threads
  // before main, and those would still take the signal.)
  std::signal(SIGINT, RequestStop);
  std::signal(SIGTERM, RequestStop);
  // A peer that goes away (a client, or whoever reads our stdout) must not
  // kill the service: writes then fail with EPIPE instead.
  std::signal(SIGPIPE, SIG_IGN);

  // 1. Load the index by mapping the file: no copy of the large sections.
  absl::StatusOr<std::unique_ptr<vindex::Index>> loaded =
      vindex::LoadIndexFromFile(flags.index, {.memory_map = true});
  if (!loaded.ok()) {
    std::fprintf(stderr, "loading %s: %s\n", flags.index.c_str(),
                 loaded.status().ToString().c_str());
    return 1;
  }
  const vindex::Index& index = **loaded;
  const vindex::IndexInfo info = index.info();

  // 2. Routes. Index::Search may be called from many threads at once.
  httplib::Server server;
  // httplib gives each open (keep-alive) connection a worker thread for as
  // long as it stays open, so --threads bounds the concurrent *connections*,
  // not only the concurrent searches: size it to the clients, not the cores.
  const int threads = flags.threads > 0 ? flags.threads : 16;
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(threads);
  };
  // Small JSON answers written in two pieces (headers, body) would otherwise
  // wait for the client's delayed ACK (Nagle): ~40 ms per request.
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(1000);   // Default 5 reconnects too often.
  server.set_payload_max_length(4 << 20);  // Larger bodies get 413.
  server.Get("/health", [&](const httplib::Request&, httplib::Response& res) {
    Reply(
        res, 200,
        absl::StrCat(
            "{\"status\":\"ok\",\"index\":", JsonString(info.description),
            ",\"dim\":", info.dim, ",\"size\":", info.size,
            ",\"memory_mapped\":", info.memory_mapped ? "true" : "false", "}"));
  });
  server.Post("/search",
              [&](const httplib::Request& req, httplib::Response& res) {
                HandleSearch(index, info.dim, req, res);
              });

  // 3. Bind (port 0: any free port), say where, then serve until a signal.
  const int port =
      flags.port == 0
          ? server.bind_to_any_port(flags.host)
          : (server.bind_to_port(flags.host, flags.port) ? flags.port : -1);
  if (port < 0) {
    std::fprintf(stderr, "cannot listen on %s:%d\n", flags.host.c_str(),
                 flags.port);
    return 1;
  }
  std::printf("listening on %s:%d (%s, %" PRId64
              " vectors, dim %d, memory_mapped=%s, %d threads)\n",
              flags.host.c_str(), port, info.description.c_str(), info.size,
              info.dim, info.memory_mapped ? "true" : "false", threads);
  std::fflush(stdout);
  std::thread watcher([&] {
    // stop() is repeated until listening ends, in case the signal came
    // before the server was running.
    while (!serving_done.load()) {
      if (stop_requested.load()) server.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  const bool served = server.listen_after_bind();
  serving_done = true;  // Also ends the watcher when serving failed.
  watcher.join();
  std::printf("stopped\n");
  return served ? 0 : 1;
}
