/** The dashboard's single page: plain HTML, CSS and a little script, no build step. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>quorumlite</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#0f1419;color:#e6e6e6}
 header{padding:14px 24px;background:#1a2129;border-bottom:1px solid #2a333d;display:flex;gap:24px;align-items:baseline}
 h1{font-size:18px;margin:0} h2{font-size:15px;margin:24px 0 8px}
 main{padding:0 24px 24px} table{border-collapse:collapse;width:100%}
 th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #2a333d} th{color:#9aa7b3;font-weight:500}
 .leader{color:#7ee787;font-weight:600} .follower{color:#79c0ff} .down{color:#ff7b72} .learner{color:#d2a8ff}
 .pill{display:inline-block;padding:1px 8px;border-radius:10px;background:#2a333d;font-size:12px}
 textarea{width:100%;height:70px;background:#0b0f13;color:#e6e6e6;border:1px solid #2a333d;border-radius:4px;font:13px monospace;padding:6px}
 button{background:#238636;color:#fff;border:0;border-radius:4px;padding:6px 14px;cursor:pointer;margin-top:6px}
 pre{background:#0b0f13;border:1px solid #2a333d;border-radius:4px;padding:8px;overflow:auto;max-height:260px}
 #summary span{margin-right:18px}
</style></head>
<body>
<header><h1>quorumlite</h1><div id="summary">loading…</div></header>
<main>
<h2>Nodes</h2>
<table id="nodes"><thead><tr><th>node</th><th>region</th><th>role</th><th>term</th><th>commit</th><th>applied</th><th>match</th><th>replication</th><th>http</th></tr></thead><tbody></tbody></table>
<h2>Leader placement</h2><div id="placement" class="pill">…</div>
<h2>SQL</h2>
<textarea id="sql">SELECT name FROM sqlite_schema WHERE type = 'table'</textarea>
<div><label>level <select id="level"><option>linearizable</option><option>weak</option><option>none</option><option>strong</option></select></label>
<button id="run">Run</button></div>
<pre id="out"></pre>
</main>
<script>
const $ = (id) => document.getElementById(id);
function esc(s){return String(s ?? "").replace(/[&<>"]/g,(c)=>({"&":"&amp;","<":"&lt;",">":"&gt;","\\"":"&quot;"}[c]))}
async function refresh(){
  try{
    const r = await fetch("/dashboard/cluster"); const data = await r.json();
    const selfView = data.nodes.find((n)=>n.id===data.self)?.status;
    const leader = selfView && selfView.leader;
    const progress = new Map();
    for (const n of data.nodes) if (n.status && n.status.role==="leader") for (const m of n.status.members) progress.set(m.id, m);
    $("summary").innerHTML = "<span>leader: <b>"+esc(leader ? leader.id+" ("+leader.region+")" : "none")+"</b></span><span>term "+esc(selfView?.term)+"</span><span>commit "+esc(selfView?.commit_index)+"</span><span>this node: "+esc(data.self)+"</span>";
    $("placement").textContent = selfView ? selfView.placement : "";
    $("nodes").tBodies[0].innerHTML = data.nodes.map((n)=>{
      const s = n.status; const p = progress.get(n.id) || {};
      if(!n.ok || !s) return "<tr><td>"+esc(n.id)+"</td><td colspan=8 class=down>unreachable: "+esc(n.error)+"</td></tr>";
      const role = s.members.find((m)=>m.id===s.id)?.role === "learner" ? "learner" : s.role;
      return "<tr data-node='"+esc(s.id)+"'><td>"+esc(s.id)+"</td><td>"+esc(s.region)+"</td><td class='"+esc(role)+"'>"+esc(role)+"</td><td>"+s.term+"</td><td>"+s.commit_index+"</td><td>"+s.applied_index+"</td><td>"+esc(p.match ?? "")+"</td><td>"+esc(p.state ?? "")+"</td><td>"+esc(s.members.find((m)=>m.id===s.id)?.http ?? "")+"</td></tr>";
    }).join("");
  }catch(e){ $("summary").textContent = "error: "+e.message; }
}
$("run").onclick = async ()=>{
  const res = await fetch("/sql?level="+$("level").value,{method:"POST",headers:{"content-type":"application/json"},body:JSON.stringify({sql:$("sql").value})});
  $("out").textContent = res.status+" bookmark="+(res.headers.get("x-quorumlite-bookmark")??"-")+"\\n"+JSON.stringify(await res.json(),null,2);
  refresh();
};
refresh(); setInterval(refresh, 1000);
</script></body></html>`;
