// The loss curve as a self-contained SVG (no dependencies): training loss per logged step and eval loss per eval.

export interface CurvePoint {
  step: number;
  value: number;
}

export function lossCurveSvg(series: { name: string; color: string; points: CurvePoint[] }[], title = "loss"): string {
  const width = 720;
  const height = 360;
  const pad = { left: 56, right: 16, top: 32, bottom: 40 };
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.value));
  const maxStep = Math.max(1, ...all.map((p) => p.step));
  const minStep = Math.min(maxStep - 1, ...all.map((p) => p.step));
  const hi = Math.max(...all.map((p) => p.value), 1e-9);
  const lo = Math.min(0, ...all.map((p) => p.value));
  const x = (step: number) => pad.left + ((step - minStep) / (maxStep - minStep || 1)) * (width - pad.left - pad.right);
  const y = (v: number) => pad.top + (1 - (v - lo) / (hi - lo || 1)) * (height - pad.top - pad.bottom);
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const ticks = Array.from({ length: 5 }, (_, i) => lo + ((hi - lo) * i) / 4);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#333"/>`,
    `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#333"/>`,
    `<text x="${width / 2}" y="${height - 8}" text-anchor="middle">step</text>`,
    ...ticks.map(
      (t) =>
        `<text x="${pad.left - 6}" y="${y(t) + 4}" text-anchor="end">${t.toFixed(2)}</text><line x1="${pad.left}" y1="${y(t)}" x2="${width - pad.right}" y2="${y(t)}" stroke="#eee"/>`,
    ),
    `<text x="${pad.left}" y="${height - pad.bottom + 16}" text-anchor="middle">${minStep}</text>`,
    `<text x="${width - pad.right}" y="${height - pad.bottom + 16}" text-anchor="middle">${maxStep}</text>`,
  ];
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.value));
    if (pts.length) {
      parts.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map((p) => `${x(p.step).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ")}"/>`,
      );
      for (const p of pts.length <= 60 ? pts : [])
        parts.push(`<circle cx="${x(p.step).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    }
    parts.push(`<rect x="${width - pad.right - 130}" y="${pad.top + i * 18}" width="12" height="12" fill="${s.color}"/>`);
    parts.push(`<text x="${width - pad.right - 112}" y="${pad.top + i * 18 + 10}">${esc(s.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
