// A participant's page: join a seat with the room code; the seat's controls and the shared world.
"use strict";
(() => {
  const { $, esc, send, connect, setView, addDeltas, controlHtml, bindControls } = CPEC;
  const q = new URLSearchParams(location.search);
  $("room").value = q.get("room") || "";
  let token = localStorage.getItem("cpec-seat-token") || "";
  let request = null;

  function joinMessage() {
    if (token) return { type: "join", token };
    return request || { type: "join", room: "", seat: "observer", name: "" };
  }

  function start() {
    connect(joinMessage, {
      hello: (msg) => {
        if (msg.role === "update") { setView(msg.view); return; }
        token = msg.token; localStorage.setItem("cpec-seat-token", token);
        $("join-form").style.display = "none"; $("seat-panel").style.display = "";
        $("export").style.display = "";
        $("who").textContent = `${msg.name} · ${msg.seat_title} · room ${msg.code}`;
        $("seat-title").textContent = msg.seat_title;
        $("brief").textContent = msg.brief;
        $("controls").innerHTML = msg.controls.map((c) => controlHtml(c, msg.choices[c.name], "seat-")).join("");
        bindControls($("controls"), (name, value) => send({ type: "decide", control: name, value }));
        setView(msg.view);
      },
      refused: (msg) => {
        token = ""; localStorage.removeItem("cpec-seat-token");
        $("refused").textContent = msg.message;
        $("join-form").style.display = ""; $("seat-panel").style.display = "none";
        CPEC.disconnect();
      },
      weeks: (msg) => addDeltas(msg.deltas),
      decided: (msg) => { $("decided").textContent = `Week ${msg.entry.week}: ${msg.entry.control} set to ${msg.entry.value}`; },
      room: (msg) => {
        const st = msg.busy ? ` · ${msg.busy}` : (msg.playing ? " · the clock is running" : " · paused for decisions");
        CPEC.setStatus(`Room: week ${msg.week}${st}`);
      },
      debrief: (msg) => CPEC.setStatus("The facilitator is showing the debrief."),
      replicates: () => {},
    });
  }

  $("join").onclick = () => {
    request = { type: "join", room: $("room").value, seat: $("seat").value, name: $("name").value };
    token = "";
    $("refused").textContent = "";
    CPEC.disconnect();
    start();
  };
  $("leave").onclick = () => { localStorage.removeItem("cpec-seat-token"); location.reload(); };
  $("export").onclick = () => { location.href = "/export?token=" + encodeURIComponent(token); };
  $("major").onchange = () => { CPEC.world.majorOnly = $("major").checked; CPEC.drawAll(); };
  if (token) start();
})();
