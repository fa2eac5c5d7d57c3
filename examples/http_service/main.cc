// vindex_http_service: a small HTTP search service over one saved index.
//
//   vindex_http_service --index FILE [--host 127.0.0.1] [--port 8080]
//                       [--threads N (default 16)] [--writable]
//                       [--max-k 1000] [--max-ef 1024] [--max-nprobe 1024]
//                       [--max-rerank-factor 64]
//                       [--read-timeout-s 5] [--idle-timeout-s 2]
//
//   GET  /health  -> {"status":"ok","index":"HNSW32","dim":128,"size":...}
//   POST /search  {"vector":[...],"k":10,"nprobe":32,"ef":64}
//                 -> {"ids":[...],"distances":[...]}   (closest first)
//   POST /get     {"id":7} -> {"id":7,"vector":[...]}  (404 if absent)
//   With --writable only:
//   POST /add     {"id":7,"vector":[...]} -> {"size":...}
//   POST /remove  {"id":7}                -> {"size":...}  (404 if absent)
//   POST /save    -> {"size":...}: the index replaces FILE atomically (a new
//                 file renamed over it), so a crash mid-save keeps the old one.
//
// Bad requests (malformed JSON, wrong dimension, k or a knob above its cap)
// get HTTP 400 with {"error":"..."}. The index is loaded with LoadOptions::memory_map:
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
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "item_request.h"
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
  bool writable = false;
  vindex_http::SearchLimits limits;
  // A request must arrive within read_timeout_s of silence per read; an idle
  // keep-alive connection is closed after idle_timeout_s, freeing its worker.
  int read_timeout_s = 5;
  int idle_timeout_s = 2;
};

// A whole decimal in [min, max], or false.
bool ParseInt(const char* text, int min, int max, int* out) {
  const char* end = text + std::strlen(text);
  int value = 0;
  auto [ptr, ec] = std::from_chars(text, end, value);
  if (ec != std::errc() || ptr != end || value < min || value > max) {
    return false;
  }
  *out = value;
  return true;
}

bool ParseFlags(int argc, char** argv, Flags* flags) {
  const struct {
    const char* name;
    int* value;
    int min, max;
  } ints[] = {
      {"--port", &flags->port, 0, 65535},
      {"--threads", &flags->threads, 1, 4096},
      {"--max-k", &flags->limits.max_k, 1, 1000},
      {"--max-ef", &flags->limits.max_ef, 1, 1 << 20},
      {"--max-nprobe", &flags->limits.max_nprobe, 1, 1 << 20},
      {"--max-rerank-factor", &flags->limits.max_rerank_factor, 1, 1 << 20},
      {"--read-timeout-s", &flags->read_timeout_s, 1, 3600},
      {"--idle-timeout-s", &flags->idle_timeout_s, 1, 3600},
  };
  bool ok = true;
  for (int i = 1; i < argc && ok; ++i) {
    const std::string arg = argv[i];
    if (arg == "--writable") {
      flags->writable = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", arg.c_str());
      return false;
    }
    const char* value = argv[++i];
    if (arg == "--index") {
      flags->index = value;
    } else if (arg == "--host") {
      flags->host = value;
    } else {
      ok = false;
      for (const auto& f : ints) {
        if (arg != f.name) continue;
        ok = ParseInt(value, f.min, f.max, f.value);
        if (!ok) {
          std::fprintf(stderr, "%s must be an integer in [%d, %d]\n", f.name,
                       f.min, f.max);
        }
        break;
      }
      if (!ok) std::fprintf(stderr, "bad flag %s %s\n", arg.c_str(), value);
    }
  }
  if (!ok || flags->index.empty()) {
    std::fprintf(stderr,
                 "usage: vindex_http_service --index FILE [--host ADDR] "
                 "[--port 8080] [--threads N (default 16)] [--writable]\n"
                 "  [--max-k 1000] [--max-ef 1024] [--max-nprobe 1024] "
                 "[--max-rerank-factor 64]\n"
                 "  [--read-timeout-s 5] [--idle-timeout-s 2]\n");
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

// The HTTP status for a failed library call: the caller's fault is 4xx.
int HttpStatus(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kResourceExhausted:
      return 503;
    default:
      return 500;
  }
}

std::string FloatsJson(const float* v, int n) {
  std::string out = "[";
  for (int j = 0; j < n; ++j) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%s%.9g", j > 0 ? "," : "", v[j]);
    out += buf;
  }
  return out + "]";
}

// POST /search: parse, validate the shape against the index, search, answer.
void HandleSearch(const vindex::Index& index, int dim,
                  const vindex_http::SearchLimits& limits,
                  const httplib::Request& req, httplib::Response& res) {
  absl::StatusOr<vindex_http::SearchRequest> request =
      vindex_http::ParseSearchRequest(req.body);
  if (!request.ok()) {
    ReplyError(res, 400, request.status().message());
    return;
  }
  if (absl::Status s = vindex_http::CheckSearchLimits(*request, limits);
      !s.ok()) {
    ReplyError(res, 400, s.message());
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
    ReplyError(res, HttpStatus(s), s.ToString());
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

// POST /get, /add, /remove: one stored vector by id. Mutations and saves
// are serialised by `write_mu`, so a save holds exactly the mutations
// answered before it began; searches run beside them.
class ItemRoutes {
 public:
  ItemRoutes(vindex::Index& index, std::string path)
      : index_(index), dim_(index.info().dim), path_(std::move(path)) {}

  void Get(const httplib::Request& req, httplib::Response& res) const {
    absl::StatusOr<vindex_http::ItemRequest> item = Parse(req, false, res);
    if (!item.ok()) return;
    std::vector<float> v(dim_);
    const absl::Status s = index_.GetVectors(
        {&item->id, 1}, vindex::MatrixView<float>(v.data(), 1, dim_));
    if (!s.ok()) {
      ReplyError(res, HttpStatus(s), s.ToString());
      return;
    }
    Reply(res, 200,
          absl::StrCat("{\"id\":", item->id,
                       ",\"vector\":", FloatsJson(v.data(), dim_), "}"));
  }

  void Add(const httplib::Request& req, httplib::Response& res) {
    absl::StatusOr<vindex_http::ItemRequest> item = Parse(req, true, res);
    if (!item.ok()) return;
    std::lock_guard<std::mutex> lock(write_mu_);
    Answer(index_.Add(
               vindex::MatrixView<const float>(item->vector.data(), 1, dim_),
               {&item->id, 1}),
           res);
  }

  void Remove(const httplib::Request& req, httplib::Response& res) {
    absl::StatusOr<vindex_http::ItemRequest> item = Parse(req, false, res);
    if (!item.ok()) return;
    std::lock_guard<std::mutex> lock(write_mu_);
    Answer(index_.Remove({&item->id, 1}), res);
  }

  void Save(httplib::Response& res) {
    std::lock_guard<std::mutex> lock(write_mu_);
    Answer(vindex::SaveIndexToFile(index_, path_), res);
  }

 private:
  // Parses the body; with `with_vector` it must hold dim values, without it
  // none. Replies 400 itself when the request is bad.
  absl::StatusOr<vindex_http::ItemRequest> Parse(const httplib::Request& req,
                                                 bool with_vector,
                                                 httplib::Response& res) const {
    absl::StatusOr<vindex_http::ItemRequest> item =
        vindex_http::ParseItemRequest(req.body);
    if (item.ok() && with_vector &&
        static_cast<int>(item->vector.size()) != dim_) {
      item = absl::InvalidArgumentError(
          absl::StrCat("\"vector\" has ", item->vector.size(),
                       " values; the index has dim ", dim_));
    } else if (item.ok() && !with_vector && !item->vector.empty()) {
      item = absl::InvalidArgumentError("this route takes no \"vector\"");
    }
    if (!item.ok()) ReplyError(res, 400, item.status().message());
    return item;
  }

  void Answer(const absl::Status& s, httplib::Response& res) const {
    if (!s.ok()) {
      ReplyError(res, HttpStatus(s), s.ToString());
      return;
    }
    Reply(res, 200, absl::StrCat("{\"size\":", index_.info().size, "}"));
  }

  vindex::Index& index_;
  const int dim_;
  const std::string path_;
  std::mutex write_mu_;
};

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
  vindex::Index& index = **loaded;
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
  // A client that goes quiet must not hold a worker: each read or write
  // waits at most read_timeout_s, and an idle keep-alive connection is
  // closed after idle_timeout_s.
  server.set_read_timeout(flags.read_timeout_s);
  server.set_write_timeout(flags.read_timeout_s);
  server.set_keep_alive_timeout(flags.idle_timeout_s);
  server.Get("/health", [&](const httplib::Request&, httplib::Response& res) {
    const vindex::IndexInfo info = index.info();  // Size changes with writes.
    Reply(
        res, 200,
        absl::StrCat(
            "{\"status\":\"ok\",\"index\":", JsonString(info.description),
            ",\"dim\":", info.dim, ",\"size\":", info.size,
            ",\"memory_mapped\":", info.memory_mapped ? "true" : "false", "}"));
  });
  server.Post("/search",
              [&](const httplib::Request& req, httplib::Response& res) {
                HandleSearch(index, info.dim, flags.limits, req, res);
              });
  ItemRoutes items(index, flags.index);
  server.Post("/get", [&](const httplib::Request& req, httplib::Response& res) {
    items.Get(req, res);
  });
  if (flags.writable) {
    server.Post("/add", [&](const httplib::Request& req,
                            httplib::Response& res) { items.Add(req, res); });
    server.Post("/remove",
                [&](const httplib::Request& req, httplib::Response& res) {
                  items.Remove(req, res);
                });
    server.Post("/save", [&](const httplib::Request&, httplib::Response& res) {
      items.Save(res);
    });
  }

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
              " vectors, dim %d, memory_mapped=%s, %d threads%s)\n",
              flags.host.c_str(), port, info.description.c_str(), info.size,
              info.dim, info.memory_mapped ? "true" : "false", threads,
              flags.writable ? ", writable" : "");
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
