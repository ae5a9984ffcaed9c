/**
 * The single page, served from the package: inline CSS, inline script, inline SVG charts. No CDN and no build
 * step, because deployments are often offline. The script renders DashboardView snapshots pushed over
 * server-sent events (/events); it is read-only and sends nothing back.
 */

const STYLE = `
:root { --bg:#0f1419; --panel:#171d24; --line:#2a333d; --text:#d8dee6; --dim:#8a96a3; --ok:#3fb950; --bad:#f85149; --warn:#d29922; --accent:#58a6ff; }
* { box-sizing: border-box; }
body { margin:0; font:13px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--text); }
header { display:flex; gap:16px; align-items:baseline; padding:12px 20px; border-bottom:1px solid var(--line); }
header h1 { font-size:16px; margin:0; }
header .status { color:var(--dim); }
header .status.live::before { content:"●"; color:var(--ok); margin-right:6px; }
header .status.down::before { content:"●"; color:var(--bad); margin-right:6px; }
main { display:grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap:16px; padding:16px 20px; }
section { background:var(--panel); border:1px solid var(--line); border-radius:6px; padding:12px 14px; min-width:0; }
section.wide { grid-column: 1 / -1; }
h2 { font-size:13px; text-transform:uppercase; letter-spacing:.06em; color:var(--dim); margin:0 0 10px; }
h3 { font-size:14px; margin:14px 0 6px; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
th { color:var(--dim); font-weight:500; }
td.num { text-align:right; font-variant-numeric: tabular-nums; }
.wrap td { white-space:normal; word-break:break-word; }
.alive { color:var(--ok); } .gone { color:var(--bad); }
.bar { display:inline-block; width:80px; height:8px; background:var(--line); border-radius:4px; vertical-align:middle; margin-right:6px; overflow:hidden; }
.bar > i { display:block; height:100%; background:var(--accent); }
.feed { list-style:none; margin:0; padding:0; max-height:360px; overflow:auto; }
.feed li { padding:6px 0; border-bottom:1px solid var(--line); }
.feed .meta { color:var(--dim); font-size:12px; }
.feed .why { font-size:12px; color:var(--text); opacity:.85; white-space:normal; }
.tag { display:inline-block; padding:0 6px; border-radius:3px; background:var(--line); font-size:11px; margin-left:4px; }
.ok { color:var(--ok); } .fail { color:var(--bad); }
.big { font-size:28px; font-weight:600; }
.empty { color:var(--dim); font-style:italic; }
.tasktype { display:grid; grid-template-columns: minmax(0, 1fr) 360px; gap:16px; align-items:start; border-top:1px solid var(--line); padding-top:4px; }
svg text { fill:var(--dim); font-size:10px; }
.legend span { margin-right:10px; font-size:12px; }
.legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:4px; vertical-align:middle; }
`;

// Plain ES2017 in the browser; the server never evaluates it.
const SCRIPT = String.raw`
(function () {
  var COLORS = ['#58a6ff', '#3fb950', '#d29922', '#f778ba', '#a371f7', '#ff7b72', '#79c0ff', '#56d364'];
  var colorOf = {};
  function color(agentId) {
    if (!colorOf[agentId]) colorOf[agentId] = COLORS[Object.keys(colorOf).length % COLORS.length];
    return colorOf[agentId];
  }
  function esc(v) {
    return String(v).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function pct(v) { return v === null || v === undefined ? '—' : (v * 100).toFixed(1) + '%'; }
  function num(v, d) { return Number(v).toFixed(d); }
  function age(ms) {
    var s = Math.round(ms / 1000);
    return s < 120 ? s + 's' : s < 7200 ? Math.round(s / 60) + 'm' : Math.round(s / 3600) + 'h';
  }
  function time(iso) { var d = new Date(iso); return isNaN(d) ? iso : d.toLocaleTimeString(); }
  function set(id, html) { document.getElementById(id).innerHTML = html; }

  function agents(v) {
    if (v.agents.length === 0) return '<p class="empty">no agents registered</p>';
    return '<table><thead><tr><th>agent</th><th>status</th><th>role</th><th>task types</th><th>load</th><th>heartbeat</th></tr></thead><tbody>' +
      v.agents.map(function (a) {
        var load = a.maxConcurrent > 0 ? Math.min(1, a.inFlight / a.maxConcurrent) : 0;
        return '<tr data-agent-id="' + esc(a.agentId) + '" data-alive="' + a.alive + '">' +
          '<td>' + esc(a.agentId) + '</td>' +
          '<td class="' + (a.alive ? 'alive' : 'gone') + '">' + (a.alive ? 'alive' : 'gone') + '</td>' +
          '<td>' + esc(a.role) + '</td>' +
          '<td>' + esc(a.taskTypes ? a.taskTypes.join(', ') : 'any') + '</td>' +
          '<td><span class="bar"><i style="width:' + (load * 100).toFixed(0) + '%"></i></span>' + a.inFlight + ' / ' + a.maxConcurrent + '</td>' +
          '<td class="num">' + age(a.heartbeatAgeMs) + ' ago</td></tr>';
      }).join('') + '</tbody></table>';
  }

  function chart(curves) {
    var W = 360, H = 150, L = 30, R = 8, T = 8, B = 22;
    var days = {};
    curves.forEach(function (c) { c.points.forEach(function (p) { days[p.day] = true; }); });
    var axis = Object.keys(days).sort();
    var x = function (day) {
      var i = axis.indexOf(day);
      return axis.length === 1 ? L + (W - L - R) / 2 : L + i * (W - L - R) / (axis.length - 1);
    };
    var y = function (rate) { return T + (1 - rate) * (H - T - B); };
    var out = '<svg class="curve" viewBox="0 0 ' + W + ' ' + H + '" width="' + W + '" height="' + H + '" role="img" aria-label="learning curves">';
    [0, 0.5, 1].forEach(function (r) {
      out += '<line x1="' + L + '" x2="' + (W - R) + '" y1="' + y(r) + '" y2="' + y(r) + '" stroke="#2a333d"/>' +
        '<text x="2" y="' + (y(r) + 3) + '">' + r * 100 + '%</text>';
    });
    if (axis.length > 0) {
      out += '<text x="' + L + '" y="' + (H - 6) + '">' + esc(axis[0]) + '</text>';
      if (axis.length > 1) out += '<text x="' + (W - R) + '" y="' + (H - 6) + '" text-anchor="end">' + esc(axis[axis.length - 1]) + '</text>';
    }
    curves.forEach(function (c) {
      var col = color(c.agentId);
      var pts = c.points.map(function (p) { return x(p.day).toFixed(1) + ',' + y(p.successRate).toFixed(1); });
      out += '<polyline fill="none" stroke="' + col + '" stroke-width="1.5" points="' + pts.join(' ') + '"/>';
      c.points.forEach(function (p) {
        out += '<circle class="curve-point" data-agent-id="' + esc(c.agentId) + '" cx="' + x(p.day).toFixed(1) + '" cy="' + y(p.successRate).toFixed(1) + '" r="3" fill="' + col + '">' +
          '<title>' + esc(c.agentId) + ' ' + esc(p.day) + ': ' + pct(p.successRate) + ' of ' + p.executions + '</title></circle>';
      });
    });
    return out + '</svg><div class="legend">' + curves.map(function (c) {
      return '<span><i style="background:' + color(c.agentId) + '"></i>' + esc(c.agentId) + '</span>';
    }).join('') + '</div>';
  }

  function taskTypes(v) {
    if (v.taskTypes.length === 0) return '<p class="empty">no profiles yet: they appear after the first results</p>';
    return v.taskTypes.map(function (t) {
      var rows = t.ranking.length === 0 ? '<p class="empty">no alive agent serves this task type</p>' :
        '<table><thead><tr><th>#</th><th>agent</th><th title="P(the policy picks this agent now)">' + esc(t.policy) + ' P(pick)</th><th title="0.3×base + 0.5×expertise + 0.2×confidence">final</th><th title="success rate / (1 + load)">base</th><th title="the task type\'s success rate">expertise</th><th title="min(1, executions / 20)">confidence</th><th>load</th><th>n</th><th>trend</th></tr></thead><tbody>' +
        t.ranking.map(function (r, i) {
          return '<tr data-agent-id="' + esc(r.agentId) + '"><td class="num">' + (i + 1) + '</td><td>' + esc(r.agentId) + '</td>' +
            '<td class="num">' + pct(r.chance) + '</td><td class="num">' + num(r.finalScore, 3) + '</td><td class="num">' + num(r.baseScore, 3) + '</td>' +
            '<td class="num">' + num(r.expertiseScore, 3) + '</td><td class="num">' + num(r.confidence, 2) + '</td>' +
            '<td class="num">' + pct(r.load) + '</td><td class="num">' + r.executions + '</td><td>' + esc(r.trend) + '</td></tr>';
        }).join('') + '</tbody></table>';
      return '<div class="tasktype" data-task-type="' + esc(t.taskType) + '"><div><h3>' + esc(t.taskType) + '</h3>' + rows + '</div>' +
        '<div><h3>learning curves (daily success, 30 days)</h3>' + chart(t.curves) + '</div></div>';
    }).join('');
  }

  function decisions(v) {
    if (v.decisions.length === 0) return '<p class="empty">waiting for the next assignment…</p>';
    return '<ul class="feed">' + v.decisions.map(function (d) {
      return '<li data-task-id="' + esc(d.taskId) + '"><b>' + esc(d.taskId) + '</b> → <b>' + esc(d.agentId) + '</b>' +
        '<span class="tag">' + esc(d.taskType) + '</span><span class="tag">' + esc(d.policy) + '</span>' +
        (d.attempt > 1 ? '<span class="tag">attempt ' + d.attempt + '</span>' : '') +
        (d.propensity !== undefined ? '<span class="tag">p=' + num(d.propensity, 3) + '</span>' : '') +
        '<div class="meta">' + time(d.assignedAt) + ' · final ' + num(d.finalScore, 3) + '</div>' +
        '<div class="why">' + esc(d.reasoning) + '</div></li>';
    }).join('') + '</ul>';
  }

  function results(v) {
    if (v.results.length === 0) return '<p class="empty">no results yet</p>';
    return '<ul class="feed">' + v.results.map(function (r) {
      return '<li data-task-id="' + esc(r.taskId) + '"><span class="' + (r.success ? 'ok">✔' : 'fail">✘') + '</span> ' +
        esc(r.agentId) + ' <span class="tag">' + esc(r.taskType) + '</span>' + (r.timeout ? '<span class="tag">timeout</span>' : '') +
        (r.policy ? '<span class="tag">' + esc(r.policy) + '</span>' : '') +
        '<div class="meta">' + esc(r.taskId) + ' · ' + Math.round(r.durationMs) + ' ms · ' + time(r.finishedAt) + '</div></li>';
    }).join('') + '</ul>';
  }

  function policies(v) {
    if (v.policies.length === 0) return '<p class="empty">no decisions seen since the dashboard started</p>';
    return '<table><thead><tr><th>policy</th><th>assignments</th><th>results</th><th>success</th><th>avg cost</th></tr></thead><tbody>' +
      v.policies.map(function (p) {
        return '<tr data-policy="' + esc(p.policy) + '"><td>' + esc(p.policy) + '</td><td class="num">' + p.assignments + '</td><td class="num">' + p.results +
          '</td><td class="num">' + pct(p.successRate) + '</td><td class="num">' + (p.avgCostCents === null ? '—' : num(p.avgCostCents, 1) + '¢') + '</td></tr>';
      }).join('') + '</tbody></table>';
  }

  function deadLetters(v) {
    var d = v.deadLetters;
    var html = '<div class="big" id="dead-letter-total" data-total="' + d.total + '">' + d.total + '</div>';
    if (d.total === 0) return html + '<p class="empty">none: every message was usable</p>';
    html += '<table class="wrap"><thead><tr><th>origin</th><th>reason</th><th>count</th></tr></thead><tbody>' +
      d.byOrigin.map(function (o) {
        return '<tr><td>' + esc(o.origin) + '</td><td>' + esc(o.reason) + '</td><td class="num">' + o.count + '</td></tr>';
      }).join('') + '</tbody></table><h3>latest</h3><ul class="feed">' +
      d.latest.map(function (l) {
        return '<li data-seq="' + l.seq + '"><b>#' + l.seq + '</b> ' + esc(l.origin) + '<div class="meta">' + time(l.receivedAt) + ' · ' + esc(l.reason) +
          (l.error ? ' · ' + esc(l.error) : '') + '</div></li>';
      }).join('') + '</ul>';
    return html;
  }

  function render(v) {
    set('agents', agents(v));
    set('task-types', taskTypes(v));
    set('decisions', decisions(v));
    set('results', results(v));
    set('policies', policies(v));
    set('dead-letters', deadLetters(v));
    document.getElementById('updated').textContent = 'updated ' + time(v.generatedAt);
  }

  var status = document.getElementById('status');
  var source = new EventSource('events');
  source.onopen = function () { status.className = 'status live'; status.textContent = 'live'; };
  source.onerror = function () { status.className = 'status down'; status.textContent = 'reconnecting…'; };
  source.onmessage = function (e) { render(JSON.parse(e.data)); };
})();
`;

export function dashboardPage(title = 'vapora-learning'): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${title}</h1><span id="status" class="status">connecting…</span><span id="updated" class="status"></span></header>
<main>
<section id="agents-panel"><h2>Agents</h2><div id="agents"></div></section>
<section id="dead-letters-panel"><h2>Dead letters</h2><div id="dead-letters"></div></section>
<section id="task-types-panel" class="wide"><h2>Ranking and learning, per task type</h2><div id="task-types"></div></section>
<section id="decisions-panel"><h2>Decisions</h2><div id="decisions"></div></section>
<section id="results-panel"><h2>Results</h2><div id="results"></div></section>
<section id="policies-panel"><h2>Policies</h2><div id="policies"></div></section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
