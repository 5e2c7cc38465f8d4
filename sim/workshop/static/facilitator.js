// The facilitator's page: clock, seats, decisions, fork, debrief.
"use strict";
(() => {
  const { $, esc, send, connect, setView, addDeltas, controlHtml, bindControls, readControl, replicatesHtml } = CPEC;
  const key = new URLSearchParams(location.search).get("key") || "";
  let specs = [], scenarios = [];

  function decisionRow(e) {
    return `<tr><td>${e.week}</td><td>${esc(e.seat)}</td><td>${esc(e.participant)}</td><td>${esc(e.control)} = ${esc(e.value)}</td></tr>`;
  }

  function forkKnobs(view) {
    const knobs = view.branches[view.branches.length - 1].knobs;
    // the scenario's notes beside each setting, as the sandbox shows them ("holds Iran's posture")
    const notes = CPEC.notesOf(scenarios, view.scenario);
    $("fork-knobs").innerHTML = specs.map((s) => controlHtml(s, knobs[s.name], "fork-", notes[s.name])).join("");
    bindControls($("fork-knobs"), () => {});
    $("fork").disabled = view.branches.length > 1;
  }

  connect(() => ({ type: "facilitate", key }), {
    hello: (msg) => {
      if (msg.role === "facilitator") {
        specs = msg.knobs; scenarios = msg.scenarios || [];
        $("code").textContent = msg.code;
        $("decisions").innerHTML = "<tr><th>week</th><th>seat</th><th>participant</th><th>decision</th></tr>" + msg.decisions.map(decisionRow).join("");
        if (msg.debrief) $("debrief-out").innerHTML = CPEC.debriefHtml(msg.debrief);  // kept by the room
      }
      setView(msg.view); forkKnobs(msg.view);
      // the replicates kept for this run (none after a fork); a debrief shown, the later
      // result, stays
      if (!$("debrief-table") && msg.view.replicates) $("debrief-out").innerHTML = replicatesHtml(msg.view.replicates);
      else if ($("replicates-table")) $("debrief-out").innerHTML = "";
    },
    weeks: (msg) => addDeltas(msg.deltas),
    decision: (msg) => { $("decisions").insertAdjacentHTML("beforeend", decisionRow(msg.entry)); },
    room: (msg) => {
      $("seats").innerHTML = Object.entries(msg.seats).map(([k, s]) => {
        const who = s.holders.map((h) => `${esc(h.name)}${h.connected ? "" : " (away)"}`).join(", ") || (k === "observer" ? "<span class='cpec-sub'>none</span>" : "<span class='cpec-sub'>free: the model decides</span>");
        const who_decides = s.deciding ? "" : "the model decides until the seat does: ";
        const choices = s.choices ? `<div class="cpec-sub">${who_decides}${Object.entries(s.choices).map(([a, b]) => `${esc(a)}=${esc(b)}`).join(", ")}</div>` : "";
        const free = s.holders.length && k !== "observer" ? ` <button data-free="${k}">free</button>` : "";
        return `<tr id="seat-${k}"><td><b>${esc(s.title)}</b></td><td>${who}${free}${choices}</td></tr>`;
      }).join("");
      $("seats").querySelectorAll("[data-free]").forEach((b) => (b.onclick = () => send({ type: "free", seat: b.dataset.free })));
      const state = msg.busy ? msg.busy : msg.playing ? "the clock is running" : "paused";
      CPEC.setStatus(`Room ${$("code").textContent}: week ${msg.week} · ${state}`);
      ["step", "play", "debrief", "replicates"].forEach((id) => ($(id).disabled = !!msg.busy));
    },
    debrief: (msg) => { $("debrief-out").innerHTML = CPEC.debriefHtml(msg.result); },
    replicates: (msg) => { $("debrief-out").innerHTML = replicatesHtml(msg.result); },
    // A failed debrief or replicates job replaces "Saving…" with why, and stays (the
    // status line is the room's and changes with every week).
    error: (msg) => {
      if (msg.job) $("debrief-out").innerHTML = `<div class="cpec-notice" id="job-error">${esc(msg.message)}</div>`;
      else CPEC.setStatus(msg.message, true);
    },
  });

  $("step").onclick = () => send({ type: "clock", action: "step" });
  $("play").onclick = () => send({ type: "clock", action: "play" });
  $("pause").onclick = () => send({ type: "clock", action: "pause" });
  $("debrief").onclick = () => { $("debrief-out").textContent = "Saving the run and running the model alone…"; send({ type: "debrief", n: 100 }); };
  $("replicates").onclick = () => { $("debrief-out").textContent = "Running replicates…"; send({ type: "replicates", n: 100 }); };
  $("fork").onclick = () => {
    const knobs = {};
    $("fork-knobs").querySelectorAll("[data-name]").forEach((el) => (knobs[el.dataset.name] = readControl(el)));
    send({ type: "fork", knobs });
  };
  $("export").onclick = () => { location.href = "/export?token=" + encodeURIComponent(key); };
  $("major").onchange = () => { CPEC.world.majorOnly = $("major").checked; CPEC.drawAll(); };
})();

