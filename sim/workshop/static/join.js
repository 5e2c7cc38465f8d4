// A participant's page: join a seat with the room code; the seat's controls and the shared world.
"use strict";
(() => {
  const { $, esc, send, connect, setView, addDeltas, controlHtml, bindControls } = CPEC;
  const q = new URLSearchParams(location.search);
  $("room").value = q.get("room") || "";
  let token = localStorage.getItem("cpec-seat-token") || "";
  let controls = [];

  // The seat's controls with their current values; while the seat has not decided, the
  // model's rule decides and the controls show its choices.
  function showChoices(choices, deciding) {
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.name : null;
    if (focused && deciding) return;  // do not move a control under the participant's hand
    $("controls").innerHTML = controls.map((c) => controlHtml(c, choices[c.name], "seat-")).join("");
    bindControls($("controls"), (name, value) => send({ type: "decide", control: name, value }));
    $("who-decides").textContent = deciding
      ? "You decide the controls you have changed: your choices act from the next week (an investor's and reform spending at the next monthly update). A control you have not changed still follows the model's rule and shows its current choice."
      : "The model decides for your seat until you change a control (the controls show its current choices); each control you change replaces the rule for that choice only.";
    $("handback").style.display = deciding ? "" : "none";
  }
  let request = null;

  // The join form again, with why: a refused join, or a seat that is no longer this browser's.
  function backToTheForm(message) {
    token = ""; localStorage.removeItem("cpec-seat-token");
    $("refused").textContent = message;
    $("join-form").style.display = ""; $("seat-panel").style.display = "none";
    $("export").style.display = "none"; $("who").textContent = "";
    CPEC.disconnect();
  }

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
        controls = msg.controls;
        showChoices(msg.choices, msg.deciding);
        setView(msg.view);
      },
      refused: (msg) => backToTheForm(msg.message),
      // the facilitator freed this seat: say so, and offer the form with the room's code
      freed: (msg) => { $("room").value = msg.code; backToTheForm(msg.message); },
      weeks: (msg) => addDeltas(msg.deltas),
      left: () => { CPEC.disconnect(); localStorage.removeItem("cpec-seat-token"); location.reload(); },
      decided: (msg) => {
        const e = msg.entry;
        $("decided").textContent = e.control === "rule" ? `Week ${e.week}: handed back to the model` : `Week ${e.week}: ${e.control} set to ${e.value}`;
        showChoices(msg.choices, msg.deciding);
      },
      room: (msg) => {
        const own = Object.values(msg.seats).find((s) => s.choices);
        if (own) showChoices(own.choices, own.deciding);  // the rule's current choice where not decided
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
  $("handback").onclick = () => send({ type: "handback" });
  $("leave").onclick = () => send({ type: "leave" });
  $("export").onclick = () => { location.href = "/export?token=" + encodeURIComponent(token); };
  $("major").onchange = () => { CPEC.world.majorOnly = $("major").checked; CPEC.drawAll(); };
  if (token) start();
})();
