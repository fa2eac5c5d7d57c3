# plot.py OUT.svg TITLE LABEL=CSV[:SPEC] ... : recall@10 (x) vs log QPS (y).
import math, sys
from tables import rows
out, title = sys.argv[1], sys.argv[2]
series = []
for arg in sys.argv[3:]:
    label, src = arg.split("=", 1)
    path, _, spec = src.partition(":")
    pts = [(r["recall"], r["qps"]) for r in rows(path) if not spec or r["spec"] == spec]
    series.append((label, pts))
W, H, L, R, T, B = 860, 500, 80, 620, 50, 440
allp = [p for _, s in series for p in s]
x0 = math.floor(min(r for r, _ in allp) * 10) / 10; x1 = 1.0
y0 = math.floor(math.log10(min(q for _, q in allp))); y1 = math.ceil(math.log10(max(q for _, q in allp)))
X = lambda r: L + (r - x0) / (x1 - x0) * (R - L)
Y = lambda q: B - (math.log10(q) - y0) / (y1 - y0) * (B - T)
colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]
s = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">' % (W, H, W, H),
     '<rect width="100%" height="100%" fill="white"/>',
     '<text x="%d" y="28" font-size="16" text-anchor="middle">%s</text>' % ((L + R) // 2, title)]
r = x0
while r <= x1 + 1e-9:
    s.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e3e3e3"/><text x="%.1f" y="%d" font-size="12" text-anchor="middle">%.1f</text>' % (X(r), T, X(r), B, X(r), B + 18, r))
    r += 0.1
for e in range(y0, y1 + 1):
    q = 10 ** e
    s.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e3e3e3"/><text x="%d" y="%.1f" font-size="12" text-anchor="end">%g</text>' % (L, Y(q), R, Y(q), L - 6, Y(q) + 4, q))
s.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>' % (L, T, R - L, B - T))
s.append('<text x="%d" y="%d" font-size="13" text-anchor="middle">recall@10</text>' % ((L + R) // 2, B + 40))
s.append('<text x="20" y="%d" font-size="13" text-anchor="middle" transform="rotate(-90 20 %d)">queries per second (log)</text>' % ((T + B) // 2, (T + B) // 2))
for i, (label, pts) in enumerate(series):
    c = colors[i % len(colors)]
    s.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (c, " ".join("%.1f,%.1f" % (X(a), Y(b)) for a, b in pts)))
    s += ['<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (X(a), Y(b), c) for a, b in pts]
    s.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/><text x="%d" y="%d" font-size="12">%s</text>' % (R + 15, T + 10 + 22 * i, R + 40, T + 10 + 22 * i, c, R + 46, T + 14 + 22 * i, label))
s.append('</svg>')
open(out, "w").write("\n".join(s))
