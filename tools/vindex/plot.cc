#include "plot.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace vindex::cli {
namespace {

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                   "#9467bd", "#8c564b", "#e377c2", "#17becf"};
constexpr int kNumColors = sizeof(kColors) / sizeof(kColors[0]);

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Num(double v, int precision = 2) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*f", precision, v);
  return buf;
}

// "100", "2k", "50k", "1M".
std::string QpsLabel(double v) {
  char buf[32];
  if (v >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%gM", v / 1e6);
  } else if (v >= 1e3) {
    std::snprintf(buf, sizeof(buf), "%gk", v / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%g", v);
  }
  return buf;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool OnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    std::string full = dir + "/" + program;
    if (::access(full.c_str(), X_OK) == 0) return true;
  }
  return false;
}

absl::Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::UnavailableError(path + ": cannot write");
  return absl::OkStatus();
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

absl::StatusOr<std::string> WriteGnuplotPng(const std::string& path,
                                            const PlotSpec& plot) {
  const std::string data = path + ".dat";
  const std::string script = path + ".gp";
  std::ostringstream d, g;
  for (const PlotSeries& s : plot.series) {
    for (const auto& [x, y] : s.points) d << x << " " << y << "\n";
    d << "\n\n";
  }
  auto quote = [](const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  };
  g << "set terminal pngcairo noenhanced size 1000,600 font \"sans,11\"\n"
    << "set output " << quote(path) << "\n"
    << "set title " << quote(plot.title) << "\n"
    << "set xlabel " << quote(plot.x_label) << "\n"
    << "set ylabel " << quote(plot.y_label) << "\n"
    << "set logscale y\nset grid\nset key outside right top\n"
    << "plot ";
  for (size_t i = 0; i < plot.series.size(); ++i) {
    if (i > 0) g << ", ";
    g << quote(data) << " index " << i << " using 1:2 with linespoints pt 7 "
      << "title " << quote(plot.series[i].label);
  }
  g << "\n";
  if (auto s = WriteText(data, d.str()); !s.ok()) return s;
  if (auto s = WriteText(script, g.str()); !s.ok()) return s;
  const std::string cmd = "gnuplot " + ShellQuote(script);
  if (std::system(cmd.c_str()) != 0) {
    return absl::InternalError(path + ": gnuplot failed (script kept in " +
                               script + ")");
  }
  std::remove(data.c_str());
  std::remove(script.c_str());
  return path;
}

}  // namespace

std::string RenderSvg(const PlotSpec& plot) {
  constexpr double kH = 560;
  constexpr double kLeft = 90, kTop = 50, kRight = 700, kBottom = kH - 70;
  // The legend sits right of the plot; the image widens to fit its longest
  // label (about 7.6 px per character at font size 13).
  size_t longest = 0;
  for (const PlotSeries& s : plot.series) {
    longest = std::max(longest, s.label.size());
  }
  const double kW = std::max(960.0, kRight + 54 + 7.6 * longest + 16);
  // Ranges: recall on a linear axis, QPS in whole decades.
  double xmin = 1, xmax = 0, ymin = 1e300, ymax = 0;
  for (const PlotSeries& s : plot.series) {
    for (const auto& [x, y] : s.points) {
      xmin = std::min(xmin, x);
      xmax = std::max(xmax, x);
      if (y > 0) {
        ymin = std::min(ymin, y);
        ymax = std::max(ymax, y);
      }
    }
  }
  if (xmin > xmax) xmin = 0, xmax = 1;
  double xstep = 0.1;
  xmin = std::floor(xmin * 10 - 1e-9) / 10;
  xmax = std::min(1.0, std::ceil(xmax * 10 - 1e-9) / 10);
  if (xmax <= xmin) xmax = xmin + 0.1;
  if (xmax - xmin <= 0.2 + 1e-9)
    xstep = 0.02;
  else if (xmax - xmin <= 0.5 + 1e-9)
    xstep = 0.05;
  if (ymax <= 0) ymin = 1, ymax = 10;
  double lo = std::floor(std::log10(ymin));
  double hi = std::ceil(std::log10(ymax));
  if (hi <= lo) hi = lo + 1;
  auto px = [&](double x) {
    return kLeft + (x - xmin) / (xmax - xmin) * (kRight - kLeft);
  };
  auto py = [&](double y) {
    return kBottom - (std::log10(y) - lo) / (hi - lo) * (kBottom - kTop);
  };

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kW
    << "\" height=\"" << kH << "\" viewBox=\"0 0 " << kW << " " << kH
    << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << (kLeft + kRight) / 2 << "\" y=\"28\" font-size=\"17\" "
    << "text-anchor=\"middle\">" << Escape(plot.title) << "</text>\n";
  // Grid and ticks.
  o << "<g font-size=\"12\" fill=\"#333\">\n";
  for (int i = 0;; ++i) {
    double x = xmin + i * xstep;
    if (x > xmax + 1e-9) break;
    double X = px(x);
    o << "<line x1=\"" << Num(X) << "\" y1=\"" << kTop << "\" x2=\"" << Num(X)
      << "\" y2=\"" << kBottom << "\" stroke=\"#e3e3e3\"/>\n"
      << "<text x=\"" << Num(X) << "\" y=\"" << kBottom + 18
      << "\" text-anchor=\"middle\">" << Num(x, xstep < 0.1 ? 2 : 1)
      << "</text>\n";
  }
  const bool label_minor = hi - lo <= 2;
  for (int e = static_cast<int>(lo); e <= static_cast<int>(hi); ++e) {
    for (int m = 1; m <= 9; ++m) {
      if (e == static_cast<int>(hi) && m > 1) break;
      double y = m * std::pow(10.0, e);
      double Y = py(y);
      const bool major = m == 1;
      o << "<line x1=\"" << kLeft << "\" y1=\"" << Num(Y) << "\" x2=\""
        << kRight << "\" y2=\"" << Num(Y) << "\" stroke=\""
        << (major ? "#cfcfcf" : "#f0f0f0") << "\"/>\n";
      if (major || (label_minor && (m == 2 || m == 5))) {
        o << "<text x=\"" << kLeft - 8 << "\" y=\"" << Num(Y + 4)
          << "\" text-anchor=\"end\">" << QpsLabel(y) << "</text>\n";
      }
    }
  }
  o << "</g>\n"
    << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\""
    << kRight - kLeft << "\" height=\"" << kBottom - kTop
    << "\" fill=\"none\" stroke=\"#333\"/>\n"
    << "<text x=\"" << (kLeft + kRight) / 2 << "\" y=\"" << kH - 25
    << "\" font-size=\"14\" text-anchor=\"middle\">" << Escape(plot.x_label)
    << "</text>\n"
    << "<text transform=\"translate(24," << (kTop + kBottom) / 2
    << ") rotate(-90)\" font-size=\"14\" text-anchor=\"middle\">"
    << Escape(plot.y_label) << "</text>\n";
  // Series and legend.
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const PlotSeries& s = plot.series[i];
    const char* color = kColors[i % kNumColors];
    o << "<g stroke=\"" << color << "\" fill=\"" << color << "\">\n";
    if (s.points.size() > 1) {
      o << "<polyline fill=\"none\" stroke-width=\"2\" points=\"";
      for (const auto& [x, y] : s.points) {
        if (y > 0) o << Num(px(x)) << "," << Num(py(y)) << " ";
      }
      o << "\"/>\n";
    }
    for (const auto& [x, y] : s.points) {
      if (y > 0) {
        o << "<circle cx=\"" << Num(px(x)) << "\" cy=\"" << Num(py(y))
          << "\" r=\"3.5\"/>\n";
      }
    }
    const double ly = kTop + 16 + 24 * i;
    o << "<line x1=\"" << kRight + 16 << "\" y1=\"" << ly << "\" x2=\""
      << kRight + 46 << "\" y2=\"" << ly << "\" stroke-width=\"2\"/>\n"
      << "<circle cx=\"" << kRight + 31 << "\" cy=\"" << ly
      << "\" r=\"3.5\"/>\n"
      << "<text x=\"" << kRight + 54 << "\" y=\"" << ly + 4
      << "\" stroke=\"none\" fill=\"#222\" font-size=\"13\">" << Escape(s.label)
      << "</text>\n</g>\n";
  }
  o << "</svg>\n";
  return o.str();
}

absl::StatusOr<std::string> WritePlot(const std::string& path,
                                      const PlotSpec& plot) {
  if (EndsWith(path, ".png")) {
    if (OnPath("gnuplot")) return WriteGnuplotPng(path, plot);
    const std::string svg = path.substr(0, path.size() - 4) + ".svg";
    if (auto s = WriteText(svg, RenderSvg(plot)); !s.ok()) return s;
    return svg;
  }
  if (auto s = WriteText(path, RenderSvg(plot)); !s.ok()) return s;
  return path;
}

}  // namespace vindex::cli
