#include "progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace vindex::cli {

double NowSeconds() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(NowSeconds()) {}

std::string Progress::Duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "?";
  long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%ld:%02ld:%02ld", s / 3600, s / 60 % 60,
                  s % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

std::string Progress::Count(double value) {
  char buf[32];
  if (value >= 1e9) {
    std::snprintf(buf, sizeof(buf), "%.1fG", value / 1e9);
  } else if (value >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.1fM", value / 1e6);
  } else if (value >= 1e4) {
    std::snprintf(buf, sizeof(buf), "%.1fk", value / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f", value);
  }
  return buf;
}

void Progress::Update(int64_t done) {
  const double now = NowSeconds();
  const double elapsed = now - start_;
  const double rate = elapsed > 0 ? done / elapsed : 0;
  const double left = rate > 0 ? (total_ - done) / rate : -1;
  const double frac = total_ > 0 ? static_cast<double>(done) / total_ : 1;
  if (tty_) {
    if (done < total_ && last_draw_ >= 0 && now - last_draw_ < 0.1) return;
    last_draw_ = now;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(frac * kWidth);
    std::string bar(filled, '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r%s [%s] %5.1f%% %lld/%lld %s  %s %s/s  ETA %s   ",
                 label_.c_str(), bar.c_str(), 100 * frac,
                 static_cast<long long>(done), static_cast<long long>(total_),
                 unit_.c_str(), Count(rate).c_str(), unit_.c_str(),
                 Duration(left).c_str());
    std::fflush(stderr);
    return;
  }
  const int decile = static_cast<int>(frac * 10);
  if (decile == last_decile_ && done < total_) return;
  if (done >= total_ && last_decile_ == 10) return;
  last_decile_ = decile;
  std::fprintf(stderr, "%s: %lld/%lld %s (%.0f%%), %s %s/s, %s left\n",
               label_.c_str(), static_cast<long long>(done),
               static_cast<long long>(total_), unit_.c_str(), 100 * frac,
               Count(rate).c_str(), unit_.c_str(), Duration(left).c_str());
}

void Progress::Finish() {
  const double elapsed = NowSeconds() - start_;
  if (tty_) std::fprintf(stderr, "\n");
  std::fprintf(stderr, "%s: done, %lld %s in %.2f s\n", label_.c_str(),
               static_cast<long long>(total_), unit_.c_str(), elapsed);
}

}  // namespace vindex::cli
