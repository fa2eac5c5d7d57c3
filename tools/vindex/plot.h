#ifndef VINDEX_TOOLS_VINDEX_PLOT_H_
#define VINDEX_TOOLS_VINDEX_PLOT_H_

// Recall-vs-QPS plots: PNG through gnuplot when it is on PATH and a .png is
// asked for, otherwise an SVG written directly (linear recall axis,
// logarithmic QPS axis, one polyline and legend entry per series).

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace vindex::cli {

struct PlotSeries {
  std::string label;
  std::vector<std::pair<double, double>> points;  // (recall, qps)
};

struct PlotSpec {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<PlotSeries> series;
};

// The SVG document for `plot`.
std::string RenderSvg(const PlotSpec& plot);

// Writes the plot to `path`; returns the path actually written (a .png
// request without gnuplot writes an .svg next to it instead).
absl::StatusOr<std::string> WritePlot(const std::string& path,
                                      const PlotSpec& plot);

}  // namespace vindex::cli

#endif  // VINDEX_TOOLS_VINDEX_PLOT_H_
