#ifndef VINDEX_TOOLS_VINDEX_PROGRESS_H_
#define VINDEX_TOOLS_VINDEX_PROGRESS_H_

// Progress reporting on stderr: on a terminal a bar redrawn in place with
// "\r" (count, rate, time left); otherwise a plain line every 10% or so.

#include <cstdint>
#include <string>

namespace vindex::cli {

class Progress {
 public:
  // `unit` names what is counted, e.g. "vectors".
  Progress(std::string label, int64_t total, std::string unit);
  // Reports that `done` of total are finished.
  void Update(int64_t done);
  // Ends the line and prints the total time.
  void Finish();

  // Formats seconds as "1:05" or "1:02:03".
  static std::string Duration(double seconds);
  // Formats a rate such as 12345.6 as "12.3k".
  static std::string Count(double value);

 private:
  std::string label_;
  std::string unit_;
  int64_t total_;
  bool tty_;
  double start_;
  double last_draw_ = -1;
  int last_decile_ = -1;
};

double NowSeconds();

}  // namespace vindex::cli

#endif  // VINDEX_TOOLS_VINDEX_PROGRESS_H_
